// SPDX-License-Identifier: MIT
/*
 * xz through liblzma directly, with a memory limit (see decode.h for why
 * not through libarchive), and the raw size of a local .xz from its index.
 */
#include "decode.h"
#include "err.h"
#include "log.h"
#include "source.h"
#include "xz_pool.h"

#include <inttypes.h>
#include <lzma.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MiB (1024 * 1024)

/* The stream header and the largest block header: enough to tell what
 * the first block's decoder needs. */
#define HEAD_MAX (LZMA_STREAM_HEADER_SIZE + LZMA_BLOCK_HEADER_SIZE_MAX)

struct tp_xz {
	lzma_stream s;
	struct tp_pull *in;
	uint64_t memlimit;
	bool in_eof, done;
	uint32_t workers;     /* threads decoding blocks; 0: the caller's alone */
	uint64_t dict_need;   /* the first block's decoder, 0 if unknown */
	struct tp_xz_pool pool; /* liblzma's memory */
};

/* How many threads may decode: asked, else CONFIG_TPKIT_XZ_THREADS, else
 * one per CPU online. */
static uint32_t decoder_threads(unsigned asked)
{
	long n = asked ? (long)asked : CONFIG_TPKIT_XZ_THREADS;

	if (n == 0)
		n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > 16 ? 16 : (uint32_t)n;
}

/*
 * What the first block asks for, from the headers at the start of the
 * input: its decoder's memory (LZMA2's dictionary, mostly: *dict), and
 * what a worker thread would hold for it (*worker: its whole output, its
 * compressed input and that decoder; 0 when the header does not give the
 * sizes, as in an xz made without -T). false when the head is no xz.
 */
static bool first_block(const uint8_t *head, size_t len, uint64_t *dict, uint64_t *worker)
{
	lzma_filter filters[LZMA_FILTERS_MAX + 1];
	lzma_block b = { .version = 0, .filters = filters };
	lzma_stream_flags sf;
	uint64_t need;

	*dict = *worker = 0;
	if (len <= LZMA_STREAM_HEADER_SIZE || lzma_stream_header_decode(&sf, head) != LZMA_OK)
		return false;
	b.check = sf.check;
	b.header_size = lzma_block_header_size_decode(head[LZMA_STREAM_HEADER_SIZE]);
	if (len < LZMA_STREAM_HEADER_SIZE + b.header_size ||
	    lzma_block_header_decode(&b, NULL, head + LZMA_STREAM_HEADER_SIZE) != LZMA_OK)
		return false;
	need = lzma_raw_decoder_memusage(filters);
	for (size_t i = 0; filters[i].id != LZMA_VLI_UNKNOWN; i++)
		free(filters[i].options);
	if (need == UINT64_MAX)
		return false;
	*dict = need;
	if (b.compressed_size != LZMA_VLI_UNKNOWN && b.uncompressed_size != LZMA_VLI_UNKNOWN)
		*worker = need + b.compressed_size + b.uncompressed_size;
	return true;
}

/*
 * CONCATENATED: xz files may hold several streams (pxz, cat a.xz b.xz);
 * xz(1) decodes them all, so do we.
 *
 * Threads (docs/pipeline.md, "Threaded xz"): an xz -T image's blocks give
 * their sizes, so liblzma's threaded decoder (5.4) can hand each to a
 * worker. A worker holds its block's whole output, so the first block says
 * how many fit in the budget; fewer than two would only add a worker's
 * memory to the decoding the caller's thread does as fast, so then the
 * caller's thread decodes alone, as it does an image of one block. With
 * workers, the one budget is both of liblzma's limits: later blocks that
 * do not fit wait, or are decoded in the caller's thread.
 */
static lzma_ret decoder_init(struct tp_xz *x, const uint8_t *head, size_t len, unsigned asked)
{
	uint64_t worker;

	(void)first_block(head, len, &x->dict_need, &worker);
#if LZMA_VERSION >= 50040002
	uint64_t fit = worker ? x->memlimit / worker : 0;
	uint32_t threads = decoder_threads(asked);

	x->workers = fit < threads ? (uint32_t)fit : threads;
	if (x->workers >= 2) {
		lzma_mt mt = { .flags = LZMA_CONCATENATED,
			       .threads = x->workers,
			       .memlimit_threading = x->memlimit,
			       .memlimit_stop = x->memlimit };

		return lzma_stream_decoder_mt(&x->s, &mt);
	}
#else
	(void)decoder_threads;
	(void)asked;
	(void)worker;
#endif
	x->workers = 0;
	return lzma_stream_decoder(&x->s, x->memlimit, LZMA_CONCATENATED);
}

int tp_xz_open(struct tp_xz **xp, struct tp_pull *in, uint64_t memlimit, unsigned threads)
{
	struct tp_xz *x = calloc(1, sizeof(*x));
	const unsigned char *head;
	size_t len;
	lzma_ret r;
	int rc;

	*xp = NULL;
	if (!x)
		return tp_err_set(-ENOMEM, "out of memory for the xz decoder");
	x->s = (lzma_stream)LZMA_STREAM_INIT;
	tp_xz_pool_init(&x->pool, memlimit);
	x->s.allocator = &x->pool.allocator;
	x->in = in;
	x->memlimit = memlimit;
	/* The first block's headers decide the threads; the decoder reads
	 * these bytes again. */
	rc = tp_pull_peek(in, HEAD_MAX, &head, &len);
	if (rc < 0) {
		tp_xz_close(x);
		return rc;
	}
	r = decoder_init(x, head, len, threads);
	if (r != LZMA_OK) {
		tp_xz_close(x);
		return tp_err_set(-ENOMEM, "cannot set up the xz decoder (liblzma error %d)", r);
	}
	if (x->workers)
		TP_INFO("xz: %u decoder threads within the %" PRIu64 " MiB budget", x->workers,
			memlimit >> 20);
	else
		TP_INFO("xz: one decoder thread (an image of one block, or no room in the %" PRIu64
			" MiB budget for two)", memlimit >> 20);
	*xp = x;
	return 0;
}

unsigned tp_xz_workers(const struct tp_xz *x)
{
	return x->workers;
}

static int xz_error(struct tp_xz *x, lzma_ret r)
{
	uint64_t in = x->s.total_in, out = x->s.total_out;

	switch (r) {
	case LZMA_MEMLIMIT_ERROR: {
		uint64_t need = lzma_memusage(&x->s);
		uint64_t need_mb;

		/* The threaded decoder counts what it holds, not what the
		 * block it refused needs: the header says that. */
		if (need <= x->memlimit)
			need = x->dict_need;
		if (need <= x->memlimit)
			return tp_err_set(-ENOMEM,
					  "the xz image needs more memory to decode than tpkit's "
					  "limit of %" PRIu64 " MiB (its dictionary; xz -6 needs 9 "
					  "MiB, xz -9 65 MiB); raise the limit with --xz-memlimit "
					  "(or CONFIG_TPKIT_XZ_MEMLIMIT_MB) if the BMC can spare it, "
					  "or recompress the image with xz -6",
					  x->memlimit / MiB);
		need_mb = (need + MiB - 1) / MiB;

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
	tp_xz_pool_end(&x->pool);
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
