/* SPDX-License-Identifier: MIT */
/*
 * Following a node's serial console (docs/report-protocol.md §8): the
 * slot's UART read without blocking, split into lines, each line checked
 * as a node report with the slot's key and the slot's replay window, and
 * the last lines kept for error messages. Used by `tpkit console`; the
 * commissioning monitor is meant to use it the same way.
 *
 * Library code: it never prints; lines go to the caller's callback.
 */
#ifndef TP_CONSOLE_H
#define TP_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <termios.h>

#include "common/report.h"

#define TP_CONSOLE_LINE_MAX 1024 /* longer console lines are cut */
#define TP_CONSOLE_RING 32       /* lines kept for diagnosis */

enum tp_console_kind {
	TP_CONSOLE_LINE,     /* an ordinary console line */
	TP_CONSOLE_REPORT,   /* an authentic report the window accepted */
	TP_CONSOLE_GARBLED,  /* the marker, but not a whole line (-EBADMSG) */
	TP_CONSOLE_FORGED,   /* well formed, bad HMAC (-EPERM) */
	TP_CONSOLE_REPLAYED, /* authentic, refused by the window (-EALREADY) */
};

struct tp_console_line {
	enum tp_console_kind kind;
	const char *text; /* the line without its \r\n, NUL-terminated; may hold any byte */
	size_t len;
	bool cut;                 /* longer than TP_CONSOLE_LINE_MAX: the rest follows */
	struct tp_report report;  /* REPORT and REPLAYED */
	const char *reason;       /* the rejected kinds: why */
};

/* Called for every line; a negative return stops the feed and is returned. */
typedef int (*tp_console_fn)(void *cookie, const struct tp_console_line *l);

struct tp_console {
	unsigned slot;
	int fd;
	bool restore;           /* saved holds the tty's settings to put back */
	struct termios saved;
	char path[128];
	struct tp_report_key key;
	struct tp_report_window window;
	char part[TP_CONSOLE_LINE_MAX + 1];
	size_t plen;
	char ring[TP_CONSOLE_RING][TP_CONSOLE_LINE_MAX + 1];
	unsigned ring_next, ring_count;
	unsigned long lines, reports, garbled, forged, replayed;
};

/* Set c up for slot with its report key, reading nothing yet (fd -1):
 * enough for tp_console_feed(). */
void tp_console_init(struct tp_console *c, unsigned slot, const struct tp_report_key *key);

/* tp_console_init(), then open the slot's UART, <root>/dev/ttyS<slot>
 * (hardware.md §8), non-blocking; a terminal is set raw at 115200 8N1.
 * 0 or -errno with a message. */
int tp_console_open(struct tp_console *c, unsigned slot, const struct tp_report_key *key);

/* Read what the UART has now and feed it: bytes read (> 0), 0 when there
 * was nothing, -EPIPE when the UART hung up, or a callback's error. */
int tp_console_read(struct tp_console *c, tp_console_fn fn, void *cookie);

/* Split bytes into lines and pass each on; a line without its newline
 * waits for the next call. 0 or a callback's error. */
int tp_console_feed(struct tp_console *c, const char *buf, size_t len, tp_console_fn fn,
		    void *cookie);

/* Pass on the line still waiting for its newline, if any (at the end). */
int tp_console_flush(struct tp_console *c, tp_console_fn fn, void *cookie);

/* The last n lines (at most TP_CONSOLE_RING), oldest first, printable
 * (tp_console_printable), each ending in '\n', in buf: for a message such
 * as "slot 2 stopped reporting; its console said: ...". Returns the length. */
size_t tp_console_recent(const struct tp_console *c, unsigned n, char *buf, size_t size);

/* Bytes outside 0x20..0x7e (but tab) as \xNN, NUL-terminated, cut to
 * fit. keep_ctl: control bytes stay as they are, only 0x7f and up are
 * written \xNN (for JSON, whose writer escapes controls but would pass on
 * bytes that are not UTF-8). */
void tp_console_printable(const char *in, size_t len, char *out, size_t size, bool keep_ctl);

/* Put the tty back as it was, close, wipe the key. */
void tp_console_close(struct tp_console *c);

#endif
