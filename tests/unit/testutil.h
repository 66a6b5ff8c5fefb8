/* SPDX-License-Identifier: MIT */
/*
 * What several unit tests share (the commissioning ones): a temporary
 * directory as the state directory, and node reports made as the helper
 * makes them. Linked into the tests the Makefile names in TESTUTIL_TESTS.
 */
#ifndef TP_TESTUTIL_H
#define TP_TESTUTIL_H

#include <stdint.h>
#include <stddef.h>

#include "common/report.h"

/* A fresh directory /tmp/tp-NAME-XXXXXX for this test program, removed
 * with all it holds by tu_tmpdir_remove(). Its path, or NULL. */
const char *tu_tmpdir(const char *name);

/* 0, or -1 when it could not all be removed. */
int tu_tmpdir_remove(void);

/* cmocka group setup and teardown: a tu_tmpdir("state") as
 * TPKIT_STATE_DIR for the group's tests, then removed. */
int tu_state_setup(void **state);
int tu_state_teardown(void **state);

/* The path of the directory tu_tmpdir() made, or "" before it. */
const char *tu_dir(void);

/* A report of slot's helper: step, event and text (tp_report_set_text);
 * run id and sequence number empty. */
struct tp_report tu_report(unsigned slot, const char *step, const char *event, const char *text);

/* r as a console line signed with key, "\r\n" at its end, into buf: its
 * length. Fails the test if it does not fit. */
size_t tu_report_line(char *buf, size_t size, const struct tp_report_key *key,
		      const struct tp_report *r);

#endif
