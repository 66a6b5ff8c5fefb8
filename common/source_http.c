// SPDX-License-Identifier: MIT
/*
 * http(s) image source over libcurl. libcurl pushes data through a write
 * callback; the pipeline pulls. The multi interface bridges the two in one
 * thread: read() drives the transfer until the callback has put something
 * into the caller's buffer (what does not fit waits in a spill buffer).
 *
 * A dropped connection is resumed with a Range request from the last byte
 * delivered, a bounded number of times; a server that ignores Range (200
 * instead of 206) is read again from the start with the delivered prefix
 * discarded, so the stream the hash sees is always the file, in order.
 */
#include "log.h"
#include "err.h"
#include "source.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HTTP_BUFSIZE (64 * 1024)
/* Seconds for the TCP connection and the TLS handshake together (libcurl's
 * connect phase): a server on a LAN or the internet answers in one or two;
 * one that does not speak TLS on an https port may never answer at all. */
#define HTTP_CONNECT_TIMEOUT 10
/* A checksum file is a few KiB: this is the whole GET. */
#define HTTP_SMALL_TIMEOUT 30

struct hsrc {
	struct tp_source s;
	struct tp_source_http_opts o;
	CURLM *m;
	CURL *e;
	unsigned attempts;    /* transfers started */
	uint64_t resume_at;   /* offset asked for with Range in this transfer */
	uint64_t skip;        /* bytes to discard (server ignored Range) */
	uint64_t recv;        /* bytes accepted in order (delivered + spilled) */
	bool checked;         /* response status looked at for this transfer */
	bool running, eof;
	int rc;               /* a fatal error seen in a callback */
	unsigned char *dst;   /* the caller's buffer during read() */
	size_t dst_len, dst_got;
	unsigned char *spill;
	size_t spill_len, spill_pos, spill_cap;
	char errbuf[CURL_ERROR_SIZE];
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void set_common(CURL *e, char *errbuf)
{
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(e, CURLOPT_MAXREDIRS, 10L);
	curl_easy_setopt(e, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "tpkit/" TPKIT_VERSION);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
	errbuf[0] = '\0';
}

static size_t on_data(char *p, size_t size, size_t nmemb, void *ud)
{
	struct hsrc *h = ud;
	size_t n = size * nmemb, take;

	if (!h->checked) {
		long code = 0;

		curl_easy_getinfo(h->e, CURLINFO_RESPONSE_CODE, &code);
		h->checked = true;
		if (h->resume_at && code != 206) {
			/* Range ignored: the body starts at 0 again. */
			TP_INFO("%s: server ignored the Range request (HTTP %ld); reading again "
				"from the start and skipping %" PRIu64 " bytes", h->s.desc, code,
				h->resume_at);
			h->skip = h->resume_at;
		}
		if (!h->s.size) {
			curl_off_t cl = -1;

			/* A 206's length is what is left after the Range start. */
			curl_easy_getinfo(h->e, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
			if (cl > 0)
				h->s.size = (uint64_t)cl + (h->resume_at && code == 206 ?
							    h->resume_at : 0);
		}
	}
	if (h->skip) {
		size_t k = n < h->skip ? n : (size_t)h->skip;

		h->skip -= k;
		p += k;
		n -= k;
	}
	take = h->dst_len - h->dst_got < n ? h->dst_len - h->dst_got : n;
	if (take) /* no buffer while open() waits for the status line */
		memcpy(h->dst + h->dst_got, p, take);
	h->dst_got += take;
	if (n > take) {
		size_t rest = n - take;

		if (h->spill_len + rest > h->spill_cap) {
			size_t cap = h->spill_len + rest;
			unsigned char *nb = realloc(h->spill, cap);

			if (!nb) {
				h->rc = tp_err_set(-ENOMEM, "out of memory in the http reader");
				return 0; /* aborts the transfer */
			}
			h->spill = nb;
			h->spill_cap = cap;
		}
		memcpy(h->spill + h->spill_len, p + take, rest);
		h->spill_len += rest;
	}
	h->recv += n;
	return size * nmemb;
}

static int start(struct hsrc *h)
{
	if (h->e) {
		curl_multi_remove_handle(h->m, h->e);
		curl_easy_cleanup(h->e);
	}
	h->e = curl_easy_init();
	if (!h->e)
		return tp_err_set(-ENOMEM, "cannot create a libcurl handle");
	set_common(h->e, h->errbuf);
	curl_easy_setopt(h->e, CURLOPT_URL, h->s.desc);
	curl_easy_setopt(h->e, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h->e, CURLOPT_WRITEDATA, h);
	curl_easy_setopt(h->e, CURLOPT_BUFFERSIZE, (long)HTTP_BUFSIZE);
	curl_easy_setopt(h->e, CURLOPT_CONNECTTIMEOUT, (long)h->o.connect_timeout);
	curl_easy_setopt(h->e, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h->e, CURLOPT_LOW_SPEED_TIME, (long)h->o.stall_timeout);
	h->resume_at = h->recv;
	h->skip = 0;
	if (h->recv) {
		char range[32];

		/* A plain Range header, not CURLOPT_RESUME_FROM: with that,
		 * libcurl itself fails a 200 answer ("Cannot resume") before
		 * on_data() can skip the part already delivered. */
		snprintf(range, sizeof(range), "%" PRIu64 "-", h->recv);
		curl_easy_setopt(h->e, CURLOPT_RANGE, range);
	}
	h->checked = false;
	h->attempts++;
	curl_multi_add_handle(h->m, h->e);
	h->running = true;
	return 0;
}

static bool retryable(CURLcode c, long code)
{
	switch (c) {
	case CURLE_PARTIAL_FILE:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SSL_CONNECT_ERROR:
		return true;
	case CURLE_HTTP_RETURNED_ERROR:
		return code >= 500;
	default:
		return false;
	}
}

/* What a failure to get an answer at all may mean, for messages. */
static const char *contact_hint(const char *url, CURLcode c)
{
	bool tls = !strncmp(url, "https:", 6);

	if (c == CURLE_SSL_CONNECT_ERROR)
		return "; does the server speak https on that port? try http://";
	if (c == CURLE_OPERATION_TIMEDOUT && tls)
		return "; if the server speaks plain http on that port, use http://";
	if (c == CURLE_OPERATION_TIMEDOUT || c == CURLE_COULDNT_CONNECT ||
	    c == CURLE_COULDNT_RESOLVE_HOST)
		return "; check the address and the network";
	return "";
}

/* The server never answered the first request: nothing to resume, and
 * asking again the same way (a TLS handshake with a plain-http server, a
 * host that is down) fails the same way; retries are for dropped transfers. */
static int first_contact_failed(struct hsrc *h, CURLcode c)
{
	const char *why = h->errbuf[0] ? h->errbuf : curl_easy_strerror(c);

	if (c == CURLE_SSL_CONNECT_ERROR)
		return tp_err_set(-EPROTO, "%s: the TLS handshake failed (%s)%s", h->s.desc, why,
				  contact_hint(h->s.desc, c));
	if (c == CURLE_OPERATION_TIMEDOUT)
		return tp_err_set(-ETIMEDOUT, "%s: no answer (%s)%s", h->s.desc, why,
				  contact_hint(h->s.desc, c));
	if (c == CURLE_UNSUPPORTED_PROTOCOL)
		return tp_err_set(-EPROTONOSUPPORT, "%s: %s; tpkit fetches http:// and https:// "
				  "URLs", h->s.desc, why);
	return tp_err_set(-EIO, "downloading %s failed: %s%s", h->s.desc, why,
			  contact_hint(h->s.desc, c));
}

/* The transfer ended: EOF, a resume, or an error. */
static int finished(struct hsrc *h, CURLcode c)
{
	long code = 0;

	h->running = false;
	curl_easy_getinfo(h->e, CURLINFO_RESPONSE_CODE, &code);
	if (c == CURLE_OK) {
		h->eof = true;
		return 0;
	}
	if (h->rc < 0)
		return h->rc;
	if (c == CURLE_HTTP_RETURNED_ERROR && (code == 404 || code == 410))
		return tp_err_set(-ENOENT, "HTTP %ld: %s does not exist on the server; check the "
				  "URL", code, h->s.desc);
	if (h->recv && h->s.size && c == CURLE_HTTP_RETURNED_ERROR && code == 416 &&
	    h->recv >= h->s.size) {
		h->eof = true; /* dropped right after the last byte */
		return 0;
	}
	if (c == CURLE_HTTP_RETURNED_ERROR && code == 416 && h->attempts == 1 && h->o.offset &&
	    h->recv == h->o.offset) {
		/* Opened at an offset at or past the end: the caller already
		 * has the whole file (its hash check will tell). */
		h->eof = true;
		return 0;
	}
	if (h->attempts == 1 && !code && h->recv == h->o.offset)
		return first_contact_failed(h, c);
	if (retryable(c, code) && h->attempts <= h->o.retries) {
		TP_WARN("%s: %s at byte %" PRIu64 "; resuming (retry %u of %u)", h->s.desc,
			h->errbuf[0] ? h->errbuf : curl_easy_strerror(c), h->recv, h->attempts,
			h->o.retries);
		return start(h);
	}
	if (c == CURLE_HTTP_RETURNED_ERROR)
		return tp_err_set(-EIO, "HTTP %ld from %s at byte %" PRIu64 "%s", code, h->s.desc,
				  h->recv, code >= 500 ? " (server error; try again later)" : "");
	return tp_err_set(-EIO, "downloading %s failed at byte %" PRIu64 " after %u attempt%s: "
			  "%s; check the network and try again", h->s.desc, h->recv, h->attempts,
			  h->attempts == 1 ? "" : "s", h->errbuf[0] ? h->errbuf : curl_easy_strerror(c));
}

/* Run the transfer until the caller's buffer got something or it ends. */
static int pump(struct hsrc *h, bool until_headers)
{
	while (!h->eof) {
		CURLMsg *msg;
		int still, left, rc;

		if (until_headers ? (h->checked || h->spill_len) : h->dst_got > 0)
			return 0;
		if (curl_multi_perform(h->m, &still) != CURLM_OK)
			return tp_err_set(-EIO, "libcurl failed on %s", h->s.desc);
		while ((msg = curl_multi_info_read(h->m, &left)))
			if (msg->msg == CURLMSG_DONE && (rc = finished(h, msg->data.result)) < 0)
				return rc;
		if (h->rc < 0)
			return h->rc;
		if (h->running && still && !(until_headers ? h->checked : h->dst_got > 0))
			curl_multi_poll(h->m, NULL, 0, 1000, NULL);
	}
	return 0;
}

static int hsrc_read(struct tp_source *s, void *buf, size_t len, size_t *got)
{
	struct hsrc *h = s->priv;
	int rc;

	h->dst = buf;
	h->dst_len = len;
	h->dst_got = 0;
	if (h->spill_pos < h->spill_len) {
		size_t n = h->spill_len - h->spill_pos;

		h->dst_got = n < len ? n : len;
		memcpy(buf, h->spill + h->spill_pos, h->dst_got);
		h->spill_pos += h->dst_got;
		if (h->spill_pos == h->spill_len)
			h->spill_pos = h->spill_len = 0;
		*got = h->dst_got;
		return 0;
	}
	rc = pump(h, false);
	*got = h->dst_got;
	h->dst = NULL;
	h->dst_len = 0;
	return rc;
}

static void hsrc_close(struct tp_source *s)
{
	struct hsrc *h = s->priv;

	if (h->e) {
		curl_multi_remove_handle(h->m, h->e);
		curl_easy_cleanup(h->e);
	}
	if (h->m)
		curl_multi_cleanup(h->m);
	free(h->spill);
	free(h);
}

static const struct tp_source_ops http_ops = {
	.name = "http", .read = hsrc_read, .close = hsrc_close,
};

int tp_source_http_open(struct tp_source **sp, const char *url,
			const struct tp_source_http_opts *o)
{
	struct hsrc *h = calloc(1, sizeof(*h));
	int rc;

	*sp = NULL;
	if (!h)
		return tp_err_set(-ENOMEM, "out of memory");
	pthread_once(&curl_once, curl_init_once);
	h->s.ops = &http_ops;
	h->s.priv = h;
	h->s.remote = true;
	h->o = *o;
	if (!h->o.connect_timeout)
		h->o.connect_timeout = HTTP_CONNECT_TIMEOUT;
	if (!h->o.stall_timeout)
		h->o.stall_timeout = 60;
	snprintf(h->s.desc, sizeof(h->s.desc), "%s", url);
	h->recv = o->offset; /* the first request asks for a Range from there */
	h->m = curl_multi_init();
	if (!h->m)
		TP_FAIL(-ENOMEM, "cannot create a libcurl handle");
	TP_TRY(start(h));
	/* Wait for the status line, so a 404 fails open(), not the write. */
	TP_TRY(pump(h, true));
	*sp = &h->s;
	return 0;
out:
	hsrc_close(&h->s);
	return rc;
}

struct small {
	char *buf;
	size_t size, len;
	bool big;
};

static size_t on_small(char *p, size_t size, size_t nmemb, void *ud)
{
	struct small *sm = ud;
	size_t n = size * nmemb;

	if (sm->len + n >= sm->size) {
		sm->big = true;
		return 0;
	}
	memcpy(sm->buf + sm->len, p, n);
	sm->len += n;
	return n;
}

int tp_http_get_small(const char *url, char *buf, size_t size, size_t *len)
{
	struct small sm = { .buf = buf, .size = size };
	char errbuf[CURL_ERROR_SIZE];
	CURL *e;
	CURLcode c;
	long code = 0;

	pthread_once(&curl_once, curl_init_once);
	e = curl_easy_init();
	if (!e)
		return tp_err_set(-ENOMEM, "cannot create a libcurl handle");
	set_common(e, errbuf);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_small);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &sm);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, (long)HTTP_CONNECT_TIMEOUT);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, (long)HTTP_SMALL_TIMEOUT);
	c = curl_easy_perform(e);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(e);
	buf[sm.len] = '\0';
	*len = sm.len;
	if (sm.big)
		return tp_err_set(-EFBIG, "%s is larger than %zu bytes", url, size);
	if (c == CURLE_HTTP_RETURNED_ERROR && (code == 404 || code == 410))
		return -ENOENT;
	if (c != CURLE_OK)
		return tp_err_set(c == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -EIO, "GET %s: %s%s",
				  url, errbuf[0] ? errbuf : curl_easy_strerror(c), contact_hint(url, c));
	return 0;
}
