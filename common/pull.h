/* SPDX-License-Identifier: MIT */
/*
 * A pull stream of bytes with look-ahead, the glue between decoder stages:
 * the reader's queue, an xz decoder's output, libarchive's input. Format
 * detection peeks at the first bytes; the stage chosen then reads them again.
 */
#ifndef TP_PULL_H
#define TP_PULL_H

#include <stddef.h>
#include <stdint.h>

/* Hand out the next piece of the stream; valid until the next call.
 * *n = 0 at the end. 0 or -errno (tp_err_set by the callee). */
typedef int (*tp_pull_fn)(void *ctx, const void **p, size_t *n);

struct tp_pull {
	tp_pull_fn next;
	void *ctx;
	unsigned char *peek;   /* look-ahead copy, served before next() */
	size_t peek_len, peek_pos, peek_cap;
	const unsigned char *cur; /* rest of the piece next() gave */
	size_t cur_len;
	uint64_t pos;          /* bytes handed out so far */
};

void tp_pull_init(struct tp_pull *p, tp_pull_fn next, void *ctx);
void tp_pull_release(struct tp_pull *p);

/* Make up to want bytes visible at *buf without consuming them; *got < want
 * only at the end of the stream. Only before the first tp_pull_next(). */
int tp_pull_peek(struct tp_pull *p, size_t want, const unsigned char **buf, size_t *got);

/* The next piece (look-ahead first); *n = 0 at the end. */
int tp_pull_next(struct tp_pull *p, const void **buf, size_t *n);

/* Copy up to len bytes; *got < len only at the end. */
int tp_pull_read(struct tp_pull *p, void *buf, size_t len, size_t *got);

#endif
