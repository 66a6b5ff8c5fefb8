// SPDX-License-Identifier: MIT
/*
 * gzip through zlib directly. libarchive's gzip reader does not check the
 * trailer (CRC-32 and length): a corrupted .img.gz decoded "successfully"
 * to a shorter, damaged image in testing. zlib's inflate checks both.
 */
#include "decode.h"
#include "err.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

struct tp_gz {
	z_stream z;
	struct tp_pull *in;
	uint64_t in_total, out_total; /* zlib's counters are 32-bit on armel */
	bool in_eof, member_end, done;
};

int tp_gz_open(struct tp_gz **gp, struct tp_pull *in)
{
	struct tp_gz *g = calloc(1, sizeof(*g));

	*gp = NULL;
	if (!g)
		return tp_err_set(-ENOMEM, "out of memory for the gzip decoder");
	g->in = in;
	/* 16 + MAX_WBITS: gzip wrapper only, trailer checked. */
	if (inflateInit2(&g->z, 16 + MAX_WBITS) != Z_OK) {
		free(g);
		return tp_err_set(-ENOMEM, "cannot set up the gzip decoder");
	}
	*gp = g;
	return 0;
}

static int gz_error(struct tp_gz *g, int zr)
{
	if (zr == Z_MEM_ERROR)
		return tp_err_set(-ENOMEM, "out of memory in the gzip decoder");
	return tp_err_set(-EBADMSG,
			  "gzip data is corrupt at input byte %" PRIu64 " (image byte %" PRIu64
			  "): %s; the image file is damaged, fetch it again",
			  g->in_total, g->out_total, g->z.msg ? g->z.msg : "invalid data");
}

/* After a member: another member (pigz, cat a.gz b.gz), zero padding, or
 * the end; anything else is an error. */
static bool only_zeros(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static int gz_fill(struct tp_gz *g)
{
	const void *p;
	size_t n;
	int rc = tp_pull_next(g->in, &p, &n);

	if (rc < 0)
		return rc;
	if (!n)
		g->in_eof = true;
	g->z.next_in = (unsigned char *)p;
	g->z.avail_in = (uInt)n;
	return 0;
}

int tp_gz_read(void *st, void *buf, size_t len, size_t *got)
{
	struct tp_gz *g = st;
	int rc;

	g->z.next_out = buf;
	g->z.avail_out = (uInt)len;
	while (g->z.avail_out && !g->done) {
		uInt ai, ao;
		int zr;

		if (!g->z.avail_in && !g->in_eof && (rc = gz_fill(g)) < 0)
			return rc;
		if (g->member_end) {
			if (!g->z.avail_in && g->in_eof) {
				g->done = true;
				break;
			}
			if (!g->z.avail_in)
				continue;
			if (g->z.next_in[0] != 0x1f) {
				if (!only_zeros(g->z.next_in, g->z.avail_in))
					return tp_err_set(-EBADMSG, "unexpected data after the gzip "
							  "stream at input byte %" PRIu64
							  "; the file is damaged", g->in_total);
				g->in_total += g->z.avail_in;
				g->z.avail_in = 0;
				continue;
			}
			inflateReset(&g->z);
			g->member_end = false;
		}
		if (!g->z.avail_in && g->in_eof)
			return tp_err_set(-EBADMSG,
					  "gzip stream is truncated: the input ends at byte %" PRIu64
					  " (image byte %" PRIu64 ") in the middle of the stream; the "
					  "download or copy is incomplete, fetch the image again",
					  g->in_total, g->out_total);
		ai = g->z.avail_in;
		ao = g->z.avail_out;
		zr = inflate(&g->z, Z_NO_FLUSH);
		g->in_total += ai - g->z.avail_in;
		g->out_total += ao - g->z.avail_out;
		if (zr == Z_STREAM_END)
			g->member_end = true;
		else if (zr != Z_OK && !(zr == Z_BUF_ERROR && !g->z.avail_in))
			return gz_error(g, zr);
	}
	*got = len - g->z.avail_out;
	return 0;
}

void tp_gz_close(void *st)
{
	struct tp_gz *g = st;

	if (!g)
		return;
	inflateEnd(&g->z);
	free(g);
}
