// SPDX-License-Identifier: MIT
/*
 * xz through liblzma directly, with a memory limit (see decode.h for why
 * not through libarchive), and the raw size of a local .xz from its index.
 */
#include "decode.h"
#include "err.h"
#include "source.h"

#include <inttypes.h>
#include <lzma.h>
#include <stdlib.h>
#include <string.h>

#define MiB (1024 * 1024)

struct tp_xz {
	lzma_stream s;
	struct tp_pull *in;
	uint64_t memlimit;
	bool in_eof, done;
};

int tp_xz_open(struct tp_xz **xp, struct tp_pull *in, uint64_t memlimit)
{
	struct tp_xz *x = calloc(1, sizeof(*x));
	lzma_ret r;

	*xp = NULL;
	if (!x)
		return tp_err_set(-ENOMEM, "out of memory for the xz decoder");
	x->s = (lzma_stream)LZMA_STREAM_INIT;
	x->in = in;
	x->memlimit = memlimit;
	/* CONCATENATED: xz files may hold several streams (pxz, cat a.xz b.xz);
	 * xz(1) decodes them all, so do we. */
	r = lzma_stream_decoder(&x->s, memlimit, LZMA_CONCATENATED);
	if (r != LZMA_OK) {
		free(x);
		return tp_err_set(-ENOMEM, "cannot set up the xz decoder (liblzma error %d)", r);
	}
	*xp = x;
	return 0;
}

static int xz_error(struct tp_xz *x, lzma_ret r)
{
	uint64_t in = x->s.total_in, out = x->s.total_out;

	switch (r) {
	case LZMA_MEMLIMIT_ERROR: {
		uint64_t need = lzma_memusage(&x->s);
		uint64_t need_mb = (need + MiB - 1) / MiB;

		return tp_err_set(-ENOMEM,
				  "the xz image needs %" PRIu64 " MiB of memory to decode (its "
				  "dictionary; xz -6 needs 9 MiB, xz -9 65 MiB), over tpkit's "
				  "limit of %" PRIu64 " MiB; raise the limit with --xz-memlimit %" PRIu64
				  " (or CONFIG_TPKIT_XZ_MEMLIMIT_MB) if the BMC can spare it, or "
				  "recompress the image with xz -6",
				  need_mb, x->memlimit / MiB, need_mb);
	}
	case LZMA_MEM_ERROR:
		return tp_err_set(-ENOMEM, "out of memory in the xz decoder at input byte %" PRIu64,
				  in);
	case LZMA_FORMAT_ERROR:
		return tp_err_set(-EBADMSG, "xz: not an xz stream at input byte %" PRIu64
				  " (data after the end of the image?)", in);
	case LZMA_OPTIONS_ERROR:
		return tp_err_set(-EBADMSG, "xz: unsupported options (filter chain) at input "
				  "byte %" PRIu64 "; recompress with a plain xz", in);
	case LZMA_BUF_ERROR:
		return tp_err_set(-EBADMSG,
				  "xz stream is truncated: the input ends at byte %" PRIu64
				  " (image byte %" PRIu64 ") in the middle of the stream; the "
				  "download or copy is incomplete, fetch the image again", in, out);
	case LZMA_DATA_ERROR:
	default:
		return tp_err_set(-EBADMSG,
				  "xz data is corrupt at input byte %" PRIu64 " (image byte %" PRIu64
				  ")%s; the image file is damaged, fetch it again", in, out,
				  r == LZMA_DATA_ERROR ? "" : " (integrity check failed)");
	}
}

int tp_xz_read(void *st, void *buf, size_t len, size_t *got)
{
	struct tp_xz *x = st;

	x->s.next_out = buf;
	x->s.avail_out = len;
	while (x->s.avail_out && !x->done) {
		lzma_ret r;

		if (!x->s.avail_in && !x->in_eof) {
			const void *p;
			size_t n;
			int rc = tp_pull_next(x->in, &p, &n);

			if (rc < 0)
				return rc;
			if (!n)
				x->in_eof = true;
			x->s.next_in = p;
			x->s.avail_in = n;
		}
		/* LZMA_FINISH only once the input is exhausted: with
		 * CONCATENATED, that is how liblzma learns no stream follows. */
		r = lzma_code(&x->s, x->in_eof ? LZMA_FINISH : LZMA_RUN);
		if (r == LZMA_STREAM_END)
			x->done = true;
		else if (r != LZMA_OK)
			return xz_error(x, r);
	}
	*got = len - x->s.avail_out;
	return 0;
}

void tp_xz_close(void *st)
{
	struct tp_xz *x = st;

	if (!x)
		return;
	lzma_end(&x->s);
	free(x);
}

/*
 * The xz index at the end of the file records every block's uncompressed
 * size; lzma_file_info_decoder asks for the seeks it needs (the stream footer,
 * the index, backwards over concatenated streams). A few KiB read, however
 * large the image, so a caller can refuse a small target up front.
 */
int tp_xz_file_size(struct tp_source *src, uint64_t memlimit, uint64_t *raw)
{
	lzma_stream s = LZMA_STREAM_INIT;
	lzma_index *idx = NULL;
	unsigned char buf[8192];
	uint64_t off = 0;
	int rc = 0;

	*raw = 0;
	if (!src->ops->pread || !src->size)
		return -ENOTSUP;
	if (lzma_file_info_decoder(&s, &idx, memlimit, src->size) != LZMA_OK)
		return tp_err_set(-ENOMEM, "cannot set up the xz index reader");
	for (;;) {
		lzma_ret r;

		if (!s.avail_in) {
			size_t n = src->size - off < sizeof(buf) ? src->size - off : sizeof(buf);

			if (!n) {
				rc = tp_err_set(-EBADMSG, "xz index: file ends at byte %" PRIu64, off);
				break;
			}
			rc = src->ops->pread(src, buf, n, off);
			if (rc < 0)
				break;
			s.next_in = buf;
			s.avail_in = n;
			off += n;
		}
		r = lzma_code(&s, LZMA_RUN);
		if (r == LZMA_SEEK_NEEDED) {
			off = s.seek_pos;
			s.avail_in = 0;
			continue;
		}
		if (r == LZMA_STREAM_END) {
			*raw = lzma_index_uncompressed_size(idx);
			break;
		}
		if (r != LZMA_OK) {
			rc = tp_err_set(-EBADMSG, "xz index unreadable (liblzma error %d): the file "
					"is truncated or not xz", r);
			break;
		}
	}
	if (idx)
		lzma_index_end(idx, NULL);
	lzma_end(&s);
	return rc;
}
