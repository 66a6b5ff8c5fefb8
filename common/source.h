/* SPDX-License-Identifier: MIT */
/*
 * Where an image comes from: a local file, an http(s) URL, stdin. The
 * pipeline's reader thread pulls compressed bytes through this interface
 * only, the way it pushes raw bytes through common/sink.h.
 */
#ifndef TP_SOURCE_H
#define TP_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tp_source;

struct tp_source_ops {
	const char *name; /* "file", "http", "stdin" */
	/* Up to len bytes into buf; *got = 0 only at the end of the input.
	 * Transient network failures are retried inside (http). */
	int (*read)(struct tp_source *s, void *buf, size_t len, size_t *got);
	/* Random access for seekable sources (an xz index read); NULL if not. */
	int (*pread)(struct tp_source *s, void *buf, size_t len, uint64_t off);
	void (*close)(struct tp_source *s);
};

struct tp_source {
	const struct tp_source_ops *ops;
	uint64_t size;       /* bytes, 0 if unknown (stdin, chunked http) */
	uint64_t pos;        /* bytes delivered by read() so far */
	bool remote;         /* reads cross a network: report a download phase */
	char desc[512];      /* path or URL as given */
	void *priv;
};

struct tp_source_http_opts {
	unsigned retries;          /* reconnects after a dropped connection */
	unsigned connect_timeout;  /* seconds */
	unsigned stall_timeout;    /* seconds below 1 byte/s before giving up */
	uint64_t offset;           /* start reading here (Range), to finish a
				    * partial download; size stays the whole file's */
};

/* "-" is stdin. */
int tp_source_file_open(struct tp_source **s, const char *path);

bool tp_source_is_url(const char *src);

#ifdef CONFIG_TPKIT_SOURCE_HTTP
int tp_source_http_open(struct tp_source **s, const char *url,
			const struct tp_source_http_opts *o);

/* GET a small document (a checksum file) into buf, NUL-terminated.
 * -ENOENT for HTTP 404/410, -EFBIG if it does not fit. */
int tp_http_get_small(const char *url, char *buf, size_t size, size_t *len);
#endif

static inline int tp_source_read(struct tp_source *s, void *buf, size_t len, size_t *got)
{
	int rc = s->ops->read(s, buf, len, got);

	if (rc == 0)
		s->pos += *got;
	return rc;
}

static inline void tp_source_close(struct tp_source *s)
{
	if (s)
		s->ops->close(s);
}

#endif
