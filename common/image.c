// SPDX-License-Identifier: MIT
/*
 * Opening an image: the source, its expected checksum, the reader thread
 * (read + SHA-256), format detection. tp_image_write() is in pipeline.c.
 */
#include "image_priv.h"
#include "cancel.h"
#include "checksum.h"
#include "log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void tp_image_opts_init(struct tp_image_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->discover_sha256 = true;
	o->verify = true;
	o->head_size = TP_IMAGE_HEAD_SIZE;
	o->retries = TP_HTTP_RETRIES;
	o->xz_memlimit = (uint64_t)CONFIG_TPKIT_XZ_MEMLIMIT_MB << 20;
	o->queue_depth = 4;
}

const char *tp_format_name(enum tp_format f)
{
	static const char *const names[] = { "unknown", "raw", "xz", "gzip", "zstd", "bzip2",
					     "zip", "tar" };

	return (unsigned)f < sizeof(names) / sizeof(names[0]) ? names[f] : "?";
}

const char *tp_phase_name(enum tp_phase p)
{
	return p == TP_PHASE_DOWNLOAD ? "download" : p == TP_PHASE_WRITE ? "write" : "verify";
}

int tp_image_fail(struct tp_image *img, int rc, enum tp_phase phase, uint64_t off)
{
	pthread_mutex_lock(&img->lock);
	if (!img->rc) {
		img->rc = rc;
		snprintf(img->msg, sizeof(img->msg), "%s", tp_err_msg()[0] ? tp_err_msg()
									  : strerror(-rc));
		img->fail_phase = phase;
		img->fail_off = off;
	}
	/* outq comes and goes with tp_image_write_multi(); under the lock, so a
	 * failing reader never aborts a queue being freed. */
	for (unsigned i = 0; i < img->noutq; i++)
		tp_queue_abort(img->outq[i]);
	pthread_mutex_unlock(&img->lock);
	tp_queue_abort(img->inq);
	return rc;
}

int tp_image_error(struct tp_image *img)
{
	int rc;

	pthread_mutex_lock(&img->lock);
	rc = img->rc;
	if (rc)
		tp_err_set(rc, "%s", img->msg);
	pthread_mutex_unlock(&img->lock);
	return rc;
}

bool tp_phase_prog_due(struct tp_phase_prog *p, uint64_t done, bool end)
{
	uint64_t now = tp_clock_real_ns();

	if (!p->start) {
		p->start = p->last = now;
		if (!end)
			return false;
	}
	if (!end && now - p->last < 250000000u)
		return false;
	if (end) {
		p->rate = now > p->start ? done * 1000000000.0 / (double)(now - p->start) : 0;
	} else {
		/* Exponential smoothing over 1/4 s samples: steady enough for
		 * an ETA, quick enough to show a stall. */
		uint64_t inst = (uint64_t)((done - p->last_done) * 1000000000.0 /
					   (double)(now - p->last));

		p->rate = p->rate ? (p->rate * 7 + inst * 3) / 10 : inst;
	}
	p->last = now;
	p->last_done = done;
	return true;
}

void tp_image_progress(struct tp_image *img, enum tp_phase ph, uint64_t done, uint64_t total,
		       bool end)
{
	struct tp_phase_prog *p = &img->prog[ph];
	struct tp_progress ev;

	if (!img->o.progress)
		return;
	pthread_mutex_lock(&img->prog_lock);
	if (tp_phase_prog_due(p, done, end)) {
		ev = (struct tp_progress){ .phase = ph, .done = done, .total = total,
					   .rate = p->rate };
		img->o.progress(img->o.progress_cookie, &ev);
	}
	pthread_mutex_unlock(&img->prog_lock);
}

static void finish_hash(struct tp_image *img)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned n = 0;

	EVP_DigestFinal_ex(img->md, d, &n);
	for (unsigned i = 0; i < n && i < 32; i++)
		snprintf(img->sha_hex + 2 * i, 3, "%02x", d[i]);
}

/* Read ahead of the decoder and hash on this thread: SHA-256 then never
 * competes with the decoder for its core (pipeline.md §5). */
static void *reader_main(void *arg)
{
	struct tp_image *img = arg;
	struct tp_source *src = img->src;
	bool eof = false;

	while (!eof) {
		struct tp_chunk *c = tp_queue_get_free(img->inq);
		int rc = 0;

		if (!c)
			break;
		c->off = src->pos;
		while (c->len < c->size) {
			size_t got = 0;

			rc = tp_source_read(src, (char *)c->data + c->len, c->size - c->len, &got);
			if (rc < 0)
				break;
			if (!got) {
				eof = true;
				break;
			}
			c->len += got;
		}
		if (rc < 0) {
			tp_queue_put_free(img->inq, c);
			tp_image_fail(img, rc, TP_PHASE_DOWNLOAD, src->pos);
			break;
		}
		EVP_DigestUpdate(img->md, c->data, c->len);
		img->in_bytes += c->len;
		if (eof) {
			finish_hash(img);
			if (img->info.sum_expected[0] && strcmp(img->sha_hex, img->info.sum_expected)) {
				tp_queue_put_free(img->inq, c);
				tp_err_set(-EBADMSG,
					   "SHA-256 mismatch: %s (%" PRIu64 " bytes) hashes to %s, but "
					   "%s says %s; the image is corrupt, incomplete or not the "
					   "published one. Fetch it again. Nothing bootable was "
					   "written to the target",
					   img->info.src_desc, img->in_bytes, img->sha_hex,
					   img->info.sum_source, img->info.sum_expected);
				tp_image_fail(img, -EBADMSG, TP_PHASE_DOWNLOAD, img->in_bytes);
				break;
			}
		}
		c->eof = eof;
		tp_queue_put_full(img->inq, c);
		if (src->remote)
			tp_image_progress(img, TP_PHASE_DOWNLOAD, img->in_bytes, src->size, eof);
	}
	return NULL;
}

/* tp_pull_fn for the decoder: the reader's chunks, in order. */
static int in_next(void *ctx, const void **p, size_t *n)
{
	struct tp_image *img = ctx;
	struct tp_chunk *c;

	if (img->in_cur) {
		tp_queue_put_free(img->inq, img->in_cur);
		img->in_cur = NULL;
	}
	*n = 0;
	if (img->in_eof)
		return 0;
	c = tp_queue_get_full(img->inq);
	if (!c)
		return tp_image_error(img) ?: tp_err_set(-ECANCELED, "image reading stopped");
	img->in_eof = c->eof;
	img->in_cur = c;
	*p = c->data;
	*n = c->len;
	return 0;
}

void tp_image_join_reader(struct tp_image *img)
{
	if (img->reader_running) {
		pthread_join(img->reader, NULL);
		img->reader_running = false;
	}
}

static int open_source(struct tp_image *img)
{
	if (tp_source_is_url(img->o.src)) {
#ifdef CONFIG_TPKIT_SOURCE_HTTP
		struct tp_source_http_opts ho = { .retries = img->o.retries };

		return tp_source_http_open(&img->src, img->o.src, &ho);
#else
		return tp_err_set(-EPROTONOSUPPORT, "this tpkit was built without http support "
				  "(CONFIG_TPKIT_SOURCE_HTTP); download the image first");
#endif
	}
	return tp_source_file_open(&img->src, img->o.src);
}

static int find_checksum(struct tp_image *img)
{
	struct tp_image_info *in = &img->info;
	int rc;

	if (img->o.sha256) {
		rc = tp_checksum_parse_hex(img->o.sha256, in->sum_expected);
		if (rc == 0)
			snprintf(in->sum_source, sizeof(in->sum_source), "--sha256");
		return rc;
	}
	if (img->o.discover_sha256) {
		rc = tp_checksum_discover(img->o.src, in->sum_expected, in->sum_source,
					  sizeof(in->sum_source));
		if (rc != -ENOENT)
			return rc;
		in->sum_expected[0] = '\0';
	}
	if (img->o.require_sha256)
		return tp_err_set(-ENOENT, "no SHA-256 known for %s: none given with --sha256 and "
				  "no %s.sha256 or SHA256SUMS listing it next to it",
				  img->o.src, img->o.src);
	return 0;
}

int tp_image_open(struct tp_image **ip, const struct tp_image_opts *o)
{
	struct tp_image *img = calloc(1, sizeof(*img));
	struct tp_decode_opts dopts;
	int rc;

	*ip = NULL;
	if (!img)
		return tp_err_set(-ENOMEM, "out of memory");
	img->o = *o;
	pthread_mutex_init(&img->lock, NULL);
	pthread_mutex_init(&img->prog_lock, NULL);
	if (!o->src || !o->src[0])
		TP_FAIL(-EINVAL, "no image given");
	snprintf(img->info.src_desc, sizeof(img->info.src_desc), "%s",
		 strcmp(o->src, "-") ? o->src : "stdin");
	TP_TRY(find_checksum(img));
	TP_TRY(open_source(img));
	img->info.in_size = img->src->size;
	img->md = EVP_MD_CTX_new();
	if (!img->md || !EVP_DigestInit_ex(img->md, EVP_sha256(), NULL))
		TP_FAIL(-ENOMEM, "cannot set up SHA-256 (OpenSSL)");
	TP_TRY(tp_queue_new(&img->inq, TP_IN_DEPTH, TP_IN_CHUNK, 64));
	if ((rc = tp_cancel_thread_create(&img->reader, reader_main, img)) < 0)
		TP_FAIL(rc, "cannot start the reader thread: %s", strerror(-rc));
	img->reader_running = true;

	tp_pull_init(&img->in, in_next, img);
	dopts = (struct tp_decode_opts){ .xz_memlimit = o->xz_memlimit,
					 .xz_threads = o->xz_threads,
					 .force_raw = o->force_raw };
	rc = tp_decoder_open(&img->dec, &img->in, &dopts, &img->info);
	if (rc < 0) {
		/* A reader failure (404 mid-way, EIO) explains more than the
		 * decoder's view of it. */
		rc = tp_image_error(img) ?: rc;
		/* Say which image, for messages that speak only of "the image". */
		if (!strstr(tp_err_msg(), img->info.src_desc))
			tp_err_prefix(rc, "%s: ", img->info.src_desc);
		goto out;
	}
	if (img->info.format == TP_FMT_XZ && img->info.container == TP_FMT_UNKNOWN &&
	    tp_xz_file_size(img->src, o->xz_memlimit, &img->info.raw_size) < 0) {
		TP_DBG("%s: raw size not known up front: %s", img->info.src_desc, tp_err_msg());
		img->info.raw_size = 0;
		tp_err_clear();
	}
	if (!img->info.raw_size)
		img->info.raw_size = o->raw_size_hint;
	TP_INFO("%s: %s%s%s, %" PRIu64 " bytes in, %" PRIu64 " bytes raw%s", img->info.src_desc,
		tp_format_name(img->info.format), img->info.container ? " containing " : "",
		img->info.container ? img->info.entry : "", img->info.in_size,
		img->info.raw_size, img->info.raw_size ? "" : " (unknown)");
	*ip = img;
	return 0;
out:
	tp_image_close(img);
	return rc;
}

const struct tp_image_info *tp_image_info(const struct tp_image *img)
{
	return &img->info;
}

uint64_t tp_image_raw_size(const struct tp_image *img)
{
	return img->info.raw_size;
}

void tp_image_close(struct tp_image *img)
{
	if (!img)
		return;
	if (img->inq)
		tp_queue_abort(img->inq);
	tp_image_join_reader(img);
	tp_decoder_close(img->dec);
	tp_pull_release(&img->in);
	tp_source_close(img->src);
	tp_queue_free(img->inq);
	free(img->head);
	if (img->md)
		EVP_MD_CTX_free(img->md);
	pthread_mutex_destroy(&img->lock);
	pthread_mutex_destroy(&img->prog_lock);
	free(img);
}
