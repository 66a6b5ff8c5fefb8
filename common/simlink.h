/* SPDX-License-Identifier: MIT */
/*
 * A line-protocol link to the board twin's socket (docs/twin.md, "Wire
 * protocol"): one text request, one reply a line, "OK ..." or
 * "ERR <ERRNO> text". The simulated GPIO backend and the simulated clock
 * each keep one; they are the only product code that knows the twin.
 */
#ifndef TP_SIMLINK_H
#define TP_SIMLINK_H

#include <stddef.h>

struct tp_simlink;

/* Connect to the twin at path and say HELLO. 0 or -errno. */
int tp_simlink_open(const char *path, struct tp_simlink **out);

/*
 * Send one request (printf-style), wait for its one-line reply. 0 with the
 * text after "OK " in reply; for "ERR <NAME> text" the matching -errno with
 * text in reply (no error message set: the caller knows what it asked);
 * -EPROTO or a lost link with the error message set. Thread-safe.
 */
int tp_simlink_call(struct tp_simlink *l, char *reply, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

void tp_simlink_close(struct tp_simlink *l);

#endif
