/* SPDX-License-Identifier: MIT */
/*
 * Node report lines (docs/report-protocol.md): one authenticated line per
 * event of the node helper, written to the node's serial console and read
 * by the BMC out of everything else the console carries. One
 * implementation, linked by both programs (tpkit and tpkit-node), so the
 * writer and the reader can never disagree on the format.
 *
 * Nothing here prints or logs; the key never leaves the caller's struct.
 */
#ifndef TP_REPORT_H
#define TP_REPORT_H

#include <stddef.h>
#include <stdint.h>

#define TP_REPORT_KEY_BYTES 32
#define TP_REPORT_LINE_MAX 512

/* The line's fixed start and the protocol version (report-protocol.md §2). */
#define TP_REPORT_MARKER "TPKR|"
#define TP_REPORT_VERSION 1
/* The text field as written on the line, escapes counted (§4). */
#define TP_REPORT_TEXT_LINE_MAX 360
/* Hex digits of the truncated HMAC-SHA256 (128 bits, §5). */
#define TP_REPORT_MAC_HEX 32

struct tp_report_key {
	unsigned char b[TP_REPORT_KEY_BYTES];
};

/* 64 hex digits (either case, nothing else) into key: 0 or -EINVAL. */
int tp_report_key_from_hex(struct tp_report_key *key, const char *hex);

/* Wipe a key (OPENSSL_cleanse: not optimised away). */
void tp_report_key_wipe(struct tp_report_key *key);

struct tp_report {
	unsigned slot;   /* 1..TP_SLOTS_MAX */
	char id[40];     /* the helper run's id: [A-Za-z0-9._-], 1..39 chars (§3) */
	uint64_t seq;    /* per id, increasing */
	char step[32];   /* [a-z0-9_.-], 1..31 chars */
	char event[16];  /* start, progress, ok, fail, done */
	char text[256];  /* free text, any bytes but NUL; escaped on the line */
};

/* Copy text into r->text, cut (on a byte boundary, "..." appended) so that
 * it fits both the field and the line's escaped limit: what a writer calls
 * with a reason of unknown length. Returns 1 if it was cut, else 0. */
int tp_report_set_text(struct tp_report *r, const char *text);

/* Formats one line (no trailing newline) into buf; returns its length or
 * -errno (-ENOSPC: buf too small or the escaped text over
 * TP_REPORT_TEXT_LINE_MAX; -EINVAL for a bad field), with a message. */
int tp_report_format(char *buf, size_t size, const struct tp_report_key *key,
		     const struct tp_report *r);

/* Parses and verifies one console line (may carry \r, leading garbage
 * before the marker): 0 ok, -ENOMSG not a report line, -EBADMSG
 * malformed/truncated, -EPERM bad HMAC; a message says why. */
int tp_report_parse(const char *line, size_t len, const struct tp_report_key *key,
		    struct tp_report *out);

/* Does the line carry the marker at all (what parse calls -ENOMSG)? */
int tp_report_is_candidate(const char *line, size_t len);

/* Replay window: per slot, last (id, seq) accepted. */
struct tp_report_window {
	char id[40];
	uint64_t seq;
	int seen;
};

/* 0 (and the window moves on), or -EALREADY for a replay/old seq, with a
 * message. A new id starts over (report-protocol.md §6). */
int tp_report_window_accept(struct tp_report_window *w, const struct tp_report *r);

/* A fresh run id for a helper that starts (§6): 16 random lower-case hex
 * digits from the kernel's RNG (getrandom). size must be at least 17.
 * 0 or -errno with a message. */
int tp_report_id_new(char *id, size_t size);

/* Is event one of the five (§3)? */
int tp_report_event_valid(const char *event);

#endif
