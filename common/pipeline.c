// SPDX-License-Identifier: MIT
/*
 * tp_image_write(): decode on the calling thread, write on a writer thread,
 * with the image's head written last (performance.md 3, "First MiB last"):
 *
 *   1. on the first body chunk, zero the target's head (and the GPT backup
 *      area at its end) and flush: from here on the target does not boot;
 *   2. stream the body from head_size on; keep a CRC32 per 1 MiB chunk;
 *   3. flush; the reader has checked the input's SHA-256 at its end;
 *   4. read the body back and compare CRCs (offset of the bad MiB);
 *   5. write the head (held in memory), flush, read it back and compare.
 *
 * Any failure after 1. leaves (or puts back) a zeroed head, so an
 * interrupted or corrupt flash never leaves a bootable half image.
 *
 * Fan-out (one image to several slots) is meant to fit without a rewrite:
 * struct writer holds everything per target (sink, CRCs, head state). A
 * later version starts one writer per sink, each with its own queue fed the
 * same chunks, a chunk carrying a reference count that returns it to the
 * free list when the last writer is done with it; steps 3-5 then loop over
 * the writers, and a failing target drops out without stopping the others.
 */
#include "image_priv.h"
#include "log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define CHUNK TP_IMAGE_CHUNK
#define TAIL_ZERO (1u << 20)

static const unsigned char zeros[64 * 1024] __attribute__((aligned(4096)));

struct writer {
	struct tp_image *img;
	struct tp_sink *s;
	struct tp_queue *q;
	uint32_t head_size;
	bool verify;
	uint32_t *crc;          /* per body chunk, in order */
	size_t ncrc, crc_cap;
	uint64_t body_end;      /* end of the body on the sink, padded */
	uint64_t total;         /* raw size if known, for progress */
	bool head_zeroed;
};

static uint64_t round_up(uint64_t v, size_t a)
{
	return a > 1 ? (v + a - 1) / a * a : v;
}

static int sink_write(struct tp_sink *s, const void *buf, uint64_t len, uint64_t off)
{
	size_t max = s->max_io ? s->max_io : CHUNK;

	while (len) {
		size_t n = len < max ? (size_t)len : max;
		int rc = tp_sink_pwrite(s, buf, n, off);

		if (rc < 0)
			return rc;
		buf = (const char *)buf + n;
		off += n;
		len -= n;
	}
	return 0;
}

static int sink_read(struct tp_sink *s, void *buf, uint64_t len, uint64_t off)
{
	size_t max = s->max_io ? s->max_io : CHUNK;

	while (len) {
		size_t n = len < max ? (size_t)len : max;
		int rc = tp_sink_pread(s, buf, n, off);

		if (rc < 0)
			return rc;
		buf = (char *)buf + n;
		off += n;
		len -= n;
	}
	return 0;
}

static int zero_range(struct tp_sink *s, uint64_t off, uint64_t len)
{
	while (len) {
		uint64_t n = len < sizeof(zeros) ? len : sizeof(zeros);
		int rc = sink_write(s, zeros, n, off);

		if (rc < 0)
			return rc;
		off += n;
		len -= n;
	}
	return 0;
}

/* Step 1. The GPT backup at the end of the disk would otherwise let a
 * firmware or kernel "repair" the blanked primary GPT from the old one. */
static int zero_head(struct writer *w)
{
	struct tp_sink *s = w->s;
	int rc = zero_range(s, 0, w->head_size);

	if (rc == 0 && s->size >= 4 * (uint64_t)TAIL_ZERO) {
		uint64_t start = (s->size - TAIL_ZERO) / (s->align ? s->align : 1) * s->align;

		rc = zero_range(s, start, s->size - start);
	}
	if (rc == 0)
		rc = tp_sink_flush(s);
	if (rc < 0)
		return tp_err_prefix(rc, "blanking the boot area first: ");
	w->head_zeroed = true;
	return 0;
}

static int crc_push(struct writer *w, uint32_t crc)
{
	if (w->ncrc == w->crc_cap) {
		size_t cap = w->crc_cap ? w->crc_cap * 2 : 1024;
		uint32_t *n = realloc(w->crc, cap * sizeof(*n));

		if (!n)
			return tp_err_set(-ENOMEM, "out of memory for read-back checksums");
		w->crc = n;
		w->crc_cap = cap;
	}
	w->crc[w->ncrc++] = crc;
	return 0;
}

/* The writer thread: step 1 and 2. */
static void *writer_main(void *arg)
{
	struct writer *w = arg;
	struct tp_sink *s = w->s;
	bool eof = false;

	while (!eof) {
		struct tp_chunk *c = tp_queue_get_full(w->q);
		int rc = 0;

		if (!c)
			break;
		eof = c->eof;
		if (c->len) {
			uint64_t padded = round_up(c->len, s->align);

			if (!w->head_zeroed)
				rc = zero_head(w);
			/* A sector-aligned target needs whole sectors; the
			 * last chunk is padded with zeros. */
			memset((char *)c->data + c->len, 0, padded - c->len);
			if (rc == 0 && w->verify)
				rc = crc_push(w, (uint32_t)crc32(0, c->data, (uInt)padded));
			if (rc == 0)
				rc = sink_write(s, c->data, padded, c->off);
			if (rc < 0) {
				tp_queue_put_free(w->q, c);
				tp_image_fail(w->img, rc, TP_PHASE_WRITE, c->off);
				break;
			}
			w->body_end = c->off + padded;
			tp_image_progress(w->img, TP_PHASE_WRITE, c->off + c->len, w->total, false);
		}
		tp_queue_put_free(w->q, c);
	}
	return NULL;
}

/* Fill buf from the decoder; *got < len only at the end. */
static int decode_into(struct tp_image *img, void *buf, size_t len, size_t *got)
{
	int rc = tp_decoder_read(img->dec, buf, len, got);

	/* The reader's failure (a hash mismatch, a dropped download) is the
	 * cause when the decoder only sees the stream stop. */
	return rc < 0 ? (tp_image_error(img) ?: rc) : 0;
}

/* The decoder loop on this thread: head into memory, body into the queue. */
static int produce(struct tp_image *img, struct writer *w, unsigned char *head, size_t *hlen,
		   uint64_t *raw)
{
	struct tp_sink *s = w->s;
	size_t got;
	int rc;

	rc = decode_into(img, head, w->head_size, hlen);
	*raw = *hlen;
	if (rc < 0)
		return tp_image_fail(img, rc, TP_PHASE_WRITE, 0);
	if (!*hlen) {
		tp_err_set(-ENODATA, "the image decodes to nothing (0 bytes): nothing to write");
		return tp_image_fail(img, -ENODATA, TP_PHASE_WRITE, 0);
	}
	if (s->size && round_up(*hlen, s->align) > s->size)
		goto too_big;
	for (bool eof = *hlen < w->head_size; !eof;) {
		struct tp_chunk *c = tp_queue_get_free(w->q);

		if (!c)
			return tp_image_error(img);
		rc = decode_into(img, c->data, CHUNK, &got);
		if (rc < 0) {
			tp_queue_put_free(w->q, c);
			return tp_image_fail(img, rc, TP_PHASE_WRITE, *raw);
		}
		/* Unknown size up front: stop before the write that would
		 * pass the end of the target, not after it failed. */
		if (s->size && *raw + round_up(got, s->align) > s->size) {
			tp_queue_put_free(w->q, c);
			goto too_big;
		}
		eof = got < CHUNK;
		c->off = *raw;
		c->len = got;
		c->eof = eof;
		*raw += got;
		tp_queue_put_full(w->q, c);
	}
	if (*hlen < w->head_size) { /* the whole image is the head */
		struct tp_chunk *c = tp_queue_get_free(w->q);

		if (!c)
			return tp_image_error(img);
		c->eof = true;
		tp_queue_put_full(w->q, c);
	}
	rc = tp_decoder_finish(img->dec);
	if (rc < 0)
		return tp_image_fail(img, tp_image_error(img) ?: rc, TP_PHASE_WRITE, *raw);
	return 0;
too_big:
	tp_err_set(-ENOSPC, "the image does not fit: %s holds %" PRIu64 " bytes and the image "
		   "goes on past byte %" PRIu64 "; stopped before writing beyond the end. Use a "
		   "larger target or a smaller image", s->desc, s->size, *raw);
	return tp_image_fail(img, -ENOSPC, TP_PHASE_WRITE, *raw);
}

/* Step 4: read the body back, CRC per chunk. */
static int verify_body(struct tp_image *img, struct writer *w, void *buf, uint64_t total)
{
	struct tp_sink *s = w->s;

	for (size_t i = 0; i < w->ncrc; i++) {
		uint64_t off = w->head_size + (uint64_t)i * CHUNK;
		uint64_t len = w->body_end - off < CHUNK ? w->body_end - off : CHUNK;
		uint32_t crc;
		int rc = sink_read(s, buf, len, off);

		if (rc < 0)
			return tp_image_fail(img, rc, TP_PHASE_VERIFY, off);
		crc = (uint32_t)crc32(0, buf, (uInt)len);
		if (crc != w->crc[i]) {
			tp_err_set(-EIO, "read-back differs from what was written in the MiB at byte "
				   "%" PRIu64 " of %s (CRC32 written %08x, read %08x); the target "
				   "or its connection corrupts data. Its boot area was left blank; "
				   "flash again, and replace the storage if it repeats",
				   off, s->desc, w->crc[i], crc);
			return tp_image_fail(img, -EIO, TP_PHASE_VERIFY, off);
		}
		tp_image_progress(img, TP_PHASE_VERIFY, off + len - w->head_size, total, false);
	}
	return 0;
}

/* Step 5's read-back: the head is in memory, so compare bytes exactly. */
static int verify_head(struct tp_image *img, struct writer *w, const unsigned char *head,
		       size_t hpad, void *buf)
{
	for (size_t off = 0; off < hpad; off += CHUNK) {
		size_t len = hpad - off < CHUNK ? hpad - off : CHUNK;
		const unsigned char *r = buf;
		int rc = sink_read(w->s, buf, len, off);

		if (rc < 0)
			return tp_image_fail(img, rc, TP_PHASE_VERIFY, off);
		for (size_t i = 0; i < len; i++)
			if (r[i] != head[off + i]) {
				tp_err_set(-EIO, "read-back of the boot area differs at byte %zu of "
					   "%s (wrote 0x%02x, read 0x%02x); the target or its "
					   "connection corrupts data. The boot area was blanked again",
					   off + i, w->s->desc, head[off + i], r[i]);
				return tp_image_fail(img, -EIO, TP_PHASE_VERIFY, off + i);
			}
	}
	return 0;
}

int tp_image_write(struct tp_image *img, struct tp_sink *s, struct tp_image_result *res)
{
	struct writer w = { .img = img, .s = s, .head_size = img->o.head_size,
			    .verify = img->o.verify, .total = img->info.raw_size };
	struct tp_image_result r = { 0 };
	unsigned char *head = NULL;
	struct tp_chunk *vbuf = NULL;
	bool writer_running = false, head_written = false;
	uint64_t t0 = tp_mono_ns(), t1, raw = 0, vbody_ns = 0;
	size_t hlen = 0, hpad;
	pthread_t wt;
	int rc;

	if (img->used)
		return tp_err_set(-EALREADY, "an image can be written once per tp_image_open()");
	img->used = true;
	if (!w.head_size || w.head_size % 4096 || (s->align > 1 && w.head_size % s->align) ||
	    (s->align > 1 && (s->align & (s->align - 1) || CHUNK % s->align)))
		TP_FAIL(-EINVAL, "head size %u and sink alignment %zu do not fit 4 KiB / 1 MiB "
			"I/O", w.head_size, s->align);
	if (s->size && img->info.raw_size && round_up(img->info.raw_size, s->align) > s->size)
		TP_FAIL(-ENOSPC, "the image is %" PRIu64 " bytes but %s holds only %" PRIu64
			" bytes; nothing was written. Use a larger target or a smaller image",
			img->info.raw_size, s->desc, s->size);
	if (posix_memalign((void **)&head, 4096, w.head_size))
		TP_FAIL(-ENOMEM, "out of memory for the %u-byte head", w.head_size);
	TP_TRY(tp_queue_new(&w.q, img->o.queue_depth ?: 4, CHUNK, 4096));
	pthread_mutex_lock(&img->lock);
	img->outq = w.q;
	pthread_mutex_unlock(&img->lock);
	if ((rc = -pthread_create(&wt, NULL, writer_main, &w)) < 0)
		TP_FAIL(rc, "cannot start the writer thread: %s", strerror(-rc));
	writer_running = true;
	tp_image_progress(img, TP_PHASE_WRITE, 0, w.total, false);

	rc = produce(img, &w, head, &hlen, &raw);
	pthread_join(wt, NULL);
	writer_running = false;
	tp_image_join_reader(img);
	if ((rc = tp_image_error(img)) < 0)
		goto out;

	/* Step 3: the body is on the target and the input is what it should
	 * be (the reader failed the job otherwise). */
	if (w.head_zeroed) {
		rc = tp_sink_flush(s);
		if (rc < 0) {
			tp_image_fail(img, rc, TP_PHASE_WRITE, raw);
			goto out;
		}
	}
	vbuf = tp_queue_get_free(w.q); /* all free now: the writer is done */
	if (w.verify && w.ncrc) {
		uint64_t v0 = tp_mono_ns();

		tp_image_progress(img, TP_PHASE_VERIFY, 0, raw, false);
		TP_TRY(verify_body(img, &w, vbuf->data, raw));
		vbody_ns = tp_mono_ns() - v0;
	}

	/* Step 5. */
	hpad = round_up(hlen, s->align);
	memset(head + hlen, 0, hpad - hlen);
	head_written = true;
	rc = sink_write(s, head, hpad, 0);
	if (rc == 0)
		rc = tp_sink_flush(s);
	if (rc < 0) {
		tp_image_fail(img, rc, TP_PHASE_WRITE, 0);
		goto out;
	}
	t1 = tp_mono_ns();
	tp_image_progress(img, TP_PHASE_WRITE, raw, raw, true);
	r.write_ns = t1 - t0 - vbody_ns;
	r.verify_ns = vbody_ns;
	if (w.verify) {
		TP_TRY(verify_head(img, &w, head, hpad, vbuf->data));
		r.verify_ns += tp_mono_ns() - t1;
		tp_image_progress(img, TP_PHASE_VERIFY, raw, raw, true);
		r.verified = true;
	}
	rc = 0;
out:
	if (writer_running) {
		tp_image_fail(img, rc, TP_PHASE_WRITE, raw);
		pthread_join(wt, NULL);
	}
	if (rc < 0) {
		rc = tp_image_error(img) ?: rc;
		r.fail_phase = img->rc ? img->fail_phase : TP_PHASE_WRITE;
		r.fail_offset = img->rc ? img->fail_off : 0;
		r.head_zeroed = w.head_zeroed;
		if (head_written) {
			/* The image's head went out and then something failed:
			 * blank it again. Best effort; the error that got us
			 * here is the one to report. */
			char keep[TP_ERR_MAX];

			snprintf(keep, sizeof(keep), "%s", tp_err_msg());
			r.head_zeroed = zero_range(s, 0, w.head_size) == 0 && tp_sink_flush(s) == 0;
			tp_err_set(rc, "%s", keep);
		}
	}
	r.raw_bytes = raw;
	r.in_bytes = img->in_bytes;
	snprintf(r.sha256, sizeof(r.sha256), "%s", img->sha_hex);
	r.sum_checked = rc == 0 && img->info.sum_expected[0];
	r.total_ns = tp_mono_ns() - t0;
	if (res)
		*res = r;
	if (vbuf)
		tp_queue_put_free(w.q, vbuf);
	pthread_mutex_lock(&img->lock);
	img->outq = NULL;
	pthread_mutex_unlock(&img->lock);
	tp_queue_free(w.q);
	free(head);
	free(w.crc);
	return rc;
}
