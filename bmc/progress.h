/* SPDX-License-Identifier: MIT */
/*
 * Showing a long job's progress (tp_progress_fn, common/sink.h): bars on a
 * terminal, one JSON event per line with --json, nothing otherwise (the
 * command prints a summary at the end). Used by write and flash.
 */
#ifndef TP_PROGRESS_H
#define TP_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/sink.h"

enum tp_progress_mode { TP_PROGRESS_NONE, TP_PROGRESS_BAR, TP_PROGRESS_JSON };

struct tp_progress_ui {
	enum tp_progress_mode mode;
	FILE *f;            /* bars: stderr; JSON: stdout */
	int width;          /* terminal columns */
	bool seen[3];       /* phases shown so far, one line each */
	struct tp_progress last[3];
	int lines;          /* bar lines drawn, for redrawing in place */
};

/* BAR is downgraded to NONE if stderr is not a terminal. */
void tp_progress_ui_init(struct tp_progress_ui *u, enum tp_progress_mode mode);

/* A tp_progress_fn; cookie is the tp_progress_ui. */
void tp_progress_ui_cb(void *cookie, const struct tp_progress *p);

/* Leave the cursor below the bars. */
void tp_progress_ui_end(struct tp_progress_ui *u);

/* "1.5 GiB", "512 KiB", "17 B" */
const char *tp_fmt_bytes(uint64_t v, char *buf, size_t size);

/* "1:05", "1:02:03" */
const char *tp_fmt_duration(uint64_t seconds, char *buf, size_t size);

#endif
