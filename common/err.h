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

/*
 * An error kept aside: the one pattern for error context that must outlive
 * other calls. The message is per thread and the next tp_err_set() replaces
 * it, so a failure that is reported after cleanup (powering off, restoring
 * the routing, blanking the head: each may set a message of its own) or that
 * is recorded for later (a module's files, an image source, a sticky device
 * error) is saved at the failure site and made current again where it is
 * reported. rc 0: nothing saved.
 */
struct tp_err_ctx {
	int rc;
	char msg[TP_ERR_MAX];
};

/* Save the current message as e with rc; returns rc. */
int tp_err_save(struct tp_err_ctx *e, int rc);

/* Save rc and the current message unless e holds a failure already (the
 * first of several is the one to report); returns rc. */
int tp_err_save_first(struct tp_err_ctx *e, int rc);

/* Make e's message current again; returns e->rc. */
int tp_err_restore(const struct tp_err_ctx *e);

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
