// SPDX-License-Identifier: MIT
/*
 * A websocket client (RFC 6455) over a libcurl connect-only connection:
 * bmcd's serial console (docs/serve.md section 5) for tpkit --host console.
 * Debian 12's libcurl (7.88) has no websocket support of its own, so the
 * upgrade request and the frames are done here; libcurl keeps the TLS and
 * the pinned key. Only what a console needs: binary and text frames in and
 * out, pings answered, a close seen. The server's frames are never masked;
 * ours always are (RFC 6455, section 5.3).
 */
#include "remote_priv.h"
#include "wire.h"
#include "common/base64.h"
#include "common/err.h"

#include <errno.h>
#include <openssl/rand.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The largest frame taken: bmcd's are what one serial read gave. */
#define FRAME_MAX (64u * 1024)

struct tp_remote_ws {
	CURL *curl;
	curl_socket_t fd;
	const char *name;
	/* What came from the server and is not yet a whole frame: drained
	 * from TLS to the last byte, so that poll() on the socket tells the
	 * truth about what is left to read. */
	unsigned char in[FRAME_MAX + 14];
	size_t in_len;
	bool up;   /* upgraded, and neither side has closed it yet */
};

/* Wait for the socket (events POLLIN or POLLOUT); 0, or -errno. */
static int ws_wait(struct tp_remote_ws *w, short events)
{
	struct pollfd p = { .fd = w->fd, .events = events };

	if (poll(&p, 1, 30000) < 0)
		return errno == EINTR ? -EINTR : -errno;
	return 0;
}

static int ws_send_all(struct tp_remote_ws *w, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		size_t n = 0;
		CURLcode cc = curl_easy_send(w->curl, p, len, &n);
		int rc;

		if (cc == CURLE_AGAIN) {
			if ((rc = ws_wait(w, POLLOUT)) < 0)
				return tp_err_set(rc, "%s: the console connection: %s", w->name,
						  strerror(-rc));
			continue;
		}
		if (cc != CURLE_OK)
			return tp_err_set(-EPIPE, "%s closed the console: %s", w->name,
					  curl_easy_strerror(cc));
		p += n;
		len -= n;
	}
	return 0;
}

/* Exactly len bytes; -EPIPE when the server is gone, -EINTR on a signal. */
static int ws_recv_all(struct tp_remote_ws *w, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		size_t n = 0;
		CURLcode cc = curl_easy_recv(w->curl, p, len, &n);
		int rc;

		if (cc == CURLE_AGAIN) {
			if ((rc = ws_wait(w, POLLIN)) < 0)
				return rc;
			continue;
		}
		if (cc != CURLE_OK || n == 0)
			return tp_err_set(-EPIPE, "%s closed the console", w->name);
		p += n;
		len -= n;
	}
	return 0;
}

static int ws_frame_send(struct tp_remote_ws *w, int op, const void *data, size_t len)
{
	unsigned char hdr[14], mask[4], *out;
	size_t h = 2;
	int rc;

	hdr[0] = (unsigned char)(0x80 | op);
	if (len < 126) {
		hdr[1] = (unsigned char)(0x80 | len);
	} else if (len <= 0xffff) {
		hdr[1] = 0x80 | 126;
		hdr[2] = (unsigned char)(len >> 8);
		hdr[3] = (unsigned char)len;
		h = 4;
	} else {
		return tp_err_set(-EMSGSIZE, "a console write of %zu bytes is too large", len);
	}
	if (RAND_bytes(mask, sizeof(mask)) != 1)
		return tp_err_set(-EIO, "no random bytes for the websocket mask");
	memcpy(hdr + h, mask, 4);
	h += 4;
	if (!(out = malloc(h + len)))
		return tp_err_set(-ENOMEM, "out of memory");
	memcpy(out, hdr, h);
	for (size_t i = 0; i < len; i++)
		out[h + i] = ((const unsigned char *)data)[i] ^ mask[i & 3];
	rc = ws_send_all(w, out, h + len);
	free(out);
	return rc;
}

/* The upgrade (RFC 6455, section 4.1), and its answer checked. */
static int ws_upgrade(struct tp_remote_ws *w, const struct tp_remote *r, const char *path)
{
	unsigned char nonce[16];
	char key[32], req[1200], ans[2048];
	size_t got = 0;
	int rc;

	if (RAND_bytes(nonce, sizeof(nonce)) != 1)
		return tp_err_set(-EIO, "no random bytes for the websocket key");
	key[tp_base64_encode(nonce, sizeof(nonce), key, true)] = '\0';
	snprintf(req, sizeof(req),
		 "GET /api/bmc%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
		 "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
		 "User-Agent: tpkit/" TPKIT_VERSION "\r\n%s%s%s\r\n",
		 path, r->name, key, r->token[0] ? "Authorization: Bearer " : "", r->token,
		 r->token[0] ? "\r\n" : "");
	rc = ws_send_all(w, req, strlen(req));
	explicit_bzero(req, sizeof(req));
	if (rc < 0)
		return rc;
	/* The answer's head, a byte at a time: what follows it is frames. */
	while (got < sizeof(ans) - 1) {
		if ((rc = ws_recv_all(w, ans + got, 1)) < 0)
			return rc == -EINTR ? tp_err_set(-ECANCELED, "interrupted") : rc;
		ans[++got] = '\0';
		if (got >= 4 && !memcmp(ans + got - 4, "\r\n\r\n", 4))
			break;
	}
	return tp_ws_answer_check(ans, key, w->name);
}

int tp_remote_ws_open(struct tp_remote *r, const char *path, struct tp_remote_ws **out)
{
	struct tp_remote_ws *w = calloc(1, sizeof(*w));
	CURLcode cc;
	int rc;

	if (!w || !(w->curl = curl_easy_init())) {
		free(w);
		return tp_err_set(-ENOMEM, "out of memory");
	}
	w->name = r->name;
	curl_easy_setopt(w->curl, CURLOPT_URL, r->base);
	curl_easy_setopt(w->curl, CURLOPT_CONNECT_ONLY, 1L);
	curl_easy_setopt(w->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(w->curl, CURLOPT_CONNECTTIMEOUT, 10L);
	tp_remote_tls(r, w->curl);
	cc = curl_easy_perform(w->curl);
	if (cc != CURLE_OK) {
		rc = tp_err_set(cc == CURLE_SSL_PINNEDPUBKEYNOTMATCH ? -EPERM : -EHOSTUNREACH,
				"%s: %s", r->name, curl_easy_strerror(cc));
		goto fail;
	}
	if (curl_easy_getinfo(w->curl, CURLINFO_ACTIVESOCKET, &w->fd) != CURLE_OK) {
		rc = tp_err_set(-EIO, "%s: no socket for the console", r->name);
		goto fail;
	}
	if ((rc = ws_upgrade(w, r, path)) < 0)
		goto fail;
	w->up = true;
	*out = w;
	return 0;
fail:
	tp_remote_ws_close(w);
	return rc;
}

int tp_remote_ws_fd(const struct tp_remote_ws *w)
{
	return (int)w->fd;
}

/* Everything the connection has now, into w->in. 0, or -EPIPE when the
 * server is gone. */
static int ws_fill(struct tp_remote_ws *w)
{
	while (w->in_len < sizeof(w->in)) {
		size_t n = 0;
		CURLcode cc = curl_easy_recv(w->curl, w->in + w->in_len, sizeof(w->in) - w->in_len,
					     &n);

		if (cc == CURLE_AGAIN)
			return 0;
		if (cc != CURLE_OK || n == 0) {
			w->up = false;
			return tp_err_set(-EPIPE, "%s closed the console", w->name);
		}
		w->in_len += n;
	}
	return 0;
}

ssize_t tp_remote_ws_read(struct tp_remote_ws *w, void *buf, size_t size)
{
	struct tp_ws_frame f;
	int rc = ws_fill(w), prc;

	if (rc < 0 && w->in_len == 0)
		return rc;
	prc = tp_ws_frame_parse(w->in, w->in_len, size < FRAME_MAX ? size : FRAME_MAX, &f);
	if (prc == -EAGAIN)
		return rc < 0 ? rc : -EAGAIN;
	if (prc < 0)
		return tp_err_prefix(prc, "%s: ", w->name);
	memcpy(buf, w->in + f.head, f.len);
	w->in_len -= f.head + f.len;
	memmove(w->in, w->in + f.head + f.len, w->in_len);
	switch (f.op) {
	case TP_WS_CONT:
	case TP_WS_TEXT:
	case TP_WS_BINARY:
		return (ssize_t)f.len;
	case TP_WS_PING:
		/* bmcd closes a console that leaves its pings unanswered. */
		return (rc = ws_frame_send(w, TP_WS_PONG, buf, f.len)) < 0 ? rc : 0;
	case TP_WS_PONG:
		return 0;
	case TP_WS_CLOSE:
		ws_frame_send(w, TP_WS_CLOSE, buf, f.len >= 2 ? 2 : 0);
		w->up = false;
		return tp_err_set(-EPIPE, "%s closed the console", w->name);
	default:
		return tp_err_set(-EPROTO, "%s sent a websocket frame of unknown kind %d", w->name,
				  f.op);
	}
}

int tp_remote_ws_write(struct tp_remote_ws *w, const void *buf, size_t len)
{
	return ws_frame_send(w, TP_WS_BINARY, buf, len);
}

void tp_remote_ws_close(struct tp_remote_ws *w)
{
	/* 1000, a normal closure (RFC 6455 section 7.4.1): the server is
	 * told, rather than finding the connection gone. Its answer is not
	 * waited for. */
	static const unsigned char normal[2] = { 0x03, 0xe8 };

	if (!w)
		return;
	if (w->up) {
		struct tp_err_ctx keep; /* the caller's message stays current */

		tp_err_save(&keep, 0);
		ws_frame_send(w, TP_WS_CLOSE, normal, sizeof(normal));
		tp_err_restore(&keep);
	}
	curl_easy_cleanup(w->curl);
	free(w);
}
