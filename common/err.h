/* SPDX-License-Identifier: MIT */
/*
 * Errors: functions return 0 or a negative errno; the message a user should
 * see is kept per thread, so worker threads (the flash pipeline) never race
 * on one global string as fwup's last_error does.
 */
#ifndef TP_ERR_H
#define TP_ERR_H

#include <errno.h>

#define TP_ERR_MAX 1024

/* Store a formatted message for this thread and return err (negative errno). */
int tp_err_set(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prepend context ("slot 2: ") to the current message; returns err. */
int tp_err_prefix(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The message of the last tp_err_set() on this thread, or "" if none. */
const char *tp_err_msg(void);

void tp_err_clear(void);

/* Jump to the function's out: label with rc set; the caller declares int rc. */
#define TP_TRY(expr)                                                                         \
	do {                                                                                 \
		int rc_ = (expr);                                                            \
		if (rc_ < 0) {                                                               \
			rc = rc_;                                                            \
			goto out;                                                            \
		}                                                                            \
	} while (0)

#define TP_FAIL(err, ...)                                                                    \
	do {                                                                                 \
		rc = tp_err_set((err), __VA_ARGS__);                                         \
		goto out;                                                                    \
	} while (0)

#endif
