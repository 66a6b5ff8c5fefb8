/* SPDX-License-Identifier: MIT */
/* The websocket's wire format, read from what a server sent (wire.c). */
#ifndef TP_REMOTE_WIRE_H
#define TP_REMOTE_WIRE_H

#include <stdbool.h>
#include <stddef.h>

#define TP_WS_ACCEPT_LEN 28 /* base64 of a SHA-1 */

enum { TP_WS_CONT = 0x0, TP_WS_TEXT = 0x1, TP_WS_BINARY = 0x2, TP_WS_CLOSE = 0x8,
       TP_WS_PING = 0x9, TP_WS_PONG = 0xA };

struct tp_ws_frame {
	int op;       /* TP_WS_* (others are the caller's to refuse) */
	bool fin;
	size_t head;  /* bytes before the payload */
	size_t len;   /* the payload's */
};

/* The frame at the start of in[0..n): 0 with *f (head + len <= n), -EAGAIN
 * when more bytes are needed, or -EPROTO / -EMSGSIZE (a payload over max)
 * with a message. */
int tp_ws_frame_parse(const unsigned char *in, size_t n, size_t max, struct tp_ws_frame *f);

/* The Sec-WebSocket-Accept a server must answer key with. */
void tp_ws_accept_value(const char *key, char out[TP_WS_ACCEPT_LEN + 1]);

/* The head of the answer to an upgrade sent with key (NUL-terminated, up to
 * its blank line): 0 for a 101 with the right accept value; -EACCES for a
 * 401; -EPROTO otherwise. who names the server in the message. */
int tp_ws_answer_check(const char *head, const char *key, const char *who);

#endif
