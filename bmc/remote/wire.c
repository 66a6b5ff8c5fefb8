// SPDX-License-Identifier: MIT
/*
 * The websocket's wire format (RFC 6455) as pure functions over bytes the
 * server sent: a frame's header, and the answer to the upgrade. bmc/remote/
 * ws.c moves the bytes; this reads them, and tests/fuzz/fuzz_ws.c feeds it
 * whatever a hostile server could send.
 */
#include "wire.h"
#include "common/base64.h"
#include "common/err.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* RFC 6455, section 1.3: appended to the key to make the accept value. */
#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

int tp_ws_frame_parse(const unsigned char *in, size_t n, size_t max, struct tp_ws_frame *f)
{
	uint64_t len;
	size_t ext = 0;

	if (n < 2)
		return -EAGAIN;
	f->fin = in[0] & 0x80;
	f->op = in[0] & 0x0f;
	/* No extension was negotiated: the reserved bits must be clear, and
	 * a server never masks (section 5.1). */
	if (in[0] & 0x70)
		return tp_err_set(-EPROTO, "a websocket frame with reserved bits set");
	if (in[1] & 0x80)
		return tp_err_set(-EPROTO, "a masked websocket frame from the server (RFC 6455, "
				  "section 5.1)");
	len = in[1] & 0x7f;
	if (len == 126 || len == 127) {
		ext = len == 126 ? 2 : 8;
		if (n < 2 + ext)
			return -EAGAIN;
		len = 0;
		for (size_t i = 0; i < ext; i++)
			len = len << 8 | in[2 + i];
	}
	/* Control frames carry at most 125 bytes (section 5.5). */
	if (f->op >= 0x8 && (len > 125 || !f->fin))
		return tp_err_set(-EPROTO, "a websocket control frame of %llu bytes",
				  (unsigned long long)len);
	if (len > max)
		return tp_err_set(-EMSGSIZE, "a websocket frame of %llu bytes (at most %zu taken)",
				  (unsigned long long)len, max);
	f->head = 2 + ext;
	f->len = (size_t)len;
	return n < f->head + f->len ? -EAGAIN : 0;
}

void tp_ws_accept_value(const char *key, char out[TP_WS_ACCEPT_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	char both[64 + sizeof(WS_GUID)];
	unsigned mdlen = 0;

	snprintf(both, sizeof(both), "%.64s%s", key, WS_GUID);
	EVP_Digest(both, strlen(both), md, &mdlen, EVP_sha1(), NULL);
	out[tp_base64_encode(md, mdlen, out, true)] = '\0';
}

int tp_ws_answer_check(const char *head, const char *key, const char *who)
{
	char want[TP_WS_ACCEPT_LEN + 1], accept[128];
	int status = 0;

	if (strncmp(head, "HTTP/1.1 101", 12) || (head[12] != ' ' && head[12] != '\r')) {
		sscanf(head, "HTTP/%*s %d", &status);
		return tp_err_set(status == 401 ? -EACCES : -EPROTO, "%s refused the console (%.*s)",
				  who, (int)strcspn(head, "\r\n"), head);
	}
	tp_ws_accept_value(key, want);
	/* The accept value proves the server read our key (section 4.2.2). */
	for (const char *l = strstr(head, "\r\n"); l; l = strstr(l + 2, "\r\n"))
		if (!strncasecmp(l + 2, "Sec-WebSocket-Accept:", 21) &&
		    sscanf(l + 23, " %127[^\r\n ]", accept) == 1)
			return strcmp(accept, want)
				       ? tp_err_set(-EPROTO, "%s answered the websocket key wrongly", who)
				       : 0;
	return tp_err_set(-EPROTO, "%s's websocket answer has no Sec-WebSocket-Accept", who);
}
