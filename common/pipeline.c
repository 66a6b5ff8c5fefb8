// SPDX-License-Identifier: MIT
/*
 * tp_image_write_multi(): decode once on the calling thread, write on one
 * writer thread per target, each target's head written last (pipeline.md
 * §3, "First MiB last"):
 *
 *   1. on the first body chunk, zero the target's head (and the GPT backup
 *      area at its end) and flush: from here on the target does not boot;
 *   2. stream the body from head_size on; keep a CRC32 per 1 MiB chunk;
 *   3. at the end of the stream, wait until the reader has checked the
 *      input's SHA-256, then flush;
 *   4. read the body back and compare CRCs (offset of the bad MiB);
 *      then the target's own before_head step, if any (seeding), and a
 *      flush;
 *   5. write the head (held in memory): all of it but its first 64 KiB,
 *      flush, then the first 64 KiB — the partition table and the RK3588
 *      boot ROM's ID block at sector 64 — alone, as the last command;
 *      flush, read the head back and compare.
 *
 * Any failure after 1. leaves (or puts back, cancel or not) a zeroed head,
 * so an interrupted or corrupt flash never leaves a bootable half image;
 * and since the boot block goes out last and alone, a process killed
 * outright (kill -9, power loss of the BMC) at any instant leaves either no
 * boot block or the whole image (docs/recovery.md).
 *
 * Fan-out: the decoder fills 1 MiB chunks from one shared pool and queues a
 * reference to each chunk on every writer's queue; the chunk returns to the
 * pool when the last writer is done with it. Memory is the pool (queue_depth
 * chunks, or two more than there are targets) and one head, whatever the
 * number of targets, and the slowest target paces the decoder — on the
 * Turing Pi 2's USB hub the shared bus does that anyway.
 *
 * Failures come in two kinds. The image's own (download, checksum, decoding)
 * go through tp_image_fail(), which aborts every queue and fails every
 * target. A target's own (its device, its size) mark its writer
 * failed; the writer keeps taking references off its queue and dropping
 * them, so the others never wait for it, and once no target is left the
 * decoder stops.
 *
 * This file is the decoder's side and the fan-out; each writer thread is in
 * pipeline_writer.c.
 */
#include "pipeline_priv.h"
#include "cancel.h"
#include "log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t live_writers(struct fan *f)
{
	size_t k = 0;

	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < f->n; i++)
		k += !f->w[i].failed;
	pthread_mutex_unlock(&f->lock);
	return k;
}

/* Queue c on every writer's queue, failed or not (a failed one drops it),
 * so each thread sees the end of the stream. */
static int dispatch(struct fan *f, struct tp_chunk *c)
{
	c->refs = (unsigned)f->n;
	for (size_t i = 0; i < f->n; i++) {
		struct tp_chunk *ref = tp_queue_get_free(f->w[i].q);

		if (!ref)
			return tp_image_error(f->img) ?: -ECANCELED;
		memcpy(ref->data, &c, sizeof(c));
		tp_queue_put_full(f->w[i].q, ref);
	}
	return 0;
}

/* Fill buf from the decoder; *got < len only at the end. */
static int decode_into(struct tp_image *img, void *buf, size_t len, size_t *got)
{
	int rc = tp_decoder_read(img->dec, buf, len, got);

	/* The reader's failure (a hash mismatch, a dropped download) is the
	 * cause when the decoder only sees the stream stop. */
	return rc < 0 ? (tp_image_error(img) ?: rc) : 0;
}

/* Unknown size up front: a target is stopped before the write of len bytes
 * at off that would pass its end, not after that write failed. */
static void check_room(struct fan *f, uint64_t off, uint64_t len)
{
	for (size_t i = 0; i < f->n; i++) {
		struct writer *w = &f->w[i];
		struct tp_sink *s = w->s;

		if (!s->size || off + round_up(len, s->align) <= s->size || tp_fan_writer_failed(w))
			continue;
		tp_err_set(-ENOSPC, "the image does not fit: %s holds %" PRIu64 " bytes and the "
			   "image goes on past byte %" PRIu64 "; stopped before writing beyond the "
			   "end. Use a larger target or a smaller image", s->desc, s->size, off);
		tp_fan_writer_fail(w, -ENOSPC, TP_PHASE_WRITE, off);
	}
}

int tp_image_head(struct tp_image *img, const void **head, size_t *len)
{
	int rc;

	if (!img->head_rc) {
		if (posix_memalign((void **)&img->head, PAD, img->o.head_size)) {
			img->head = NULL;
			tp_err_set(-ENOMEM, "out of memory for the %u-byte head",
				   img->o.head_size);
			return tp_image_fail(img, -ENOMEM, TP_PHASE_WRITE, 0);
		}
		rc = decode_into(img, img->head, img->o.head_size, &img->head_len);
		img->head_rc = rc < 0 ? tp_image_fail(img, rc, TP_PHASE_WRITE, 0) : 1;
		/* Sinks write whole sectors: the padding is zeros. */
		if (rc == 0)
			memset(img->head + img->head_len, 0,
			       round_up(img->head_len, PAD) - img->head_len);
	}
	if (img->head_rc < 0)
		return tp_image_error(img) ?: img->head_rc;
	*head = img->head;
	*len = img->head_len;
	return 0;
}

/* The decoder loop on this thread: head into memory, body to the writers.
 * Returns 1 if it stopped early because no target was left. */
static int produce(struct fan *f)
{
	struct tp_image *img = f->img;
	struct tp_chunk *c;
	size_t got;
	bool eof;
	int rc;

	const void *head;

	rc = tp_image_head(img, &head, &f->hlen);
	if (rc < 0)
		return rc;
	f->head = head;
	f->raw = f->hlen;
	if (!f->hlen) {
		tp_err_set(-ENODATA, "the image decodes to nothing (0 bytes): nothing to write");
		return tp_image_fail(img, -ENODATA, TP_PHASE_WRITE, 0);
	}
	check_room(f, 0, f->hlen);
	for (eof = f->hlen < f->head_size; !eof;) {
		if (!live_writers(f))
			goto stop;
		c = tp_queue_get_free(f->pool);
		if (!c)
			return tp_image_error(img);
		rc = decode_into(img, c->data, CHUNK, &got);
		if (rc < 0) {
			tp_queue_put_free(f->pool, c);
			return tp_image_fail(img, rc, TP_PHASE_WRITE, f->raw);
		}
		/* Every sink writes whole sectors: the last chunk is padded
		 * with zeros, once, for all of them. */
		memset((char *)c->data + got, 0, round_up(got, PAD) - got);
		check_room(f, f->raw, got);
		eof = got < CHUNK;
		c->off = f->raw;
		c->len = got;
		c->eof = eof;
		c->crc_set = false;
		f->raw += got;
		if ((rc = dispatch(f, c)) < 0)
			return rc;
	}
	if (f->hlen < f->head_size) { /* the whole image is the head */
		c = tp_queue_get_free(f->pool);
		if (!c)
			return tp_image_error(img);
		c->eof = true;
		if ((rc = dispatch(f, c)) < 0)
			return rc;
	}
	rc = tp_decoder_finish(img->dec);
	if (rc < 0)
		return tp_image_fail(img, tp_image_error(img) ?: rc, TP_PHASE_WRITE, f->raw);
	return 0;
stop:
	/* Every target failed on its own: end the writers' streams and stop
	 * the reader, without making it an error of the image. */
	c = tp_queue_get_free(f->pool);
	if (!c)
		return tp_image_error(img);
	c->eof = true;
	tp_queue_abort(img->inq);
	return dispatch(f, c) ?: 1;
}

/* Checks that need no I/O; a target that fails one is never touched. */
static int check_target(struct fan *f, struct writer *w)
{
	struct tp_sink *s = w->s;
	uint64_t raw = f->img->info.raw_size;

	if (!f->head_size || f->head_size % PAD || (s->align > 1 && f->head_size % s->align) ||
	    (s->align > 1 && (s->align & (s->align - 1) || PAD % s->align)))
		return tp_err_set(-EINVAL, "head size %u and sink alignment %zu do not fit 4 KiB "
				  "/ 1 MiB I/O", f->head_size, s->align);
	if (s->size && raw && round_up(raw, s->align) > s->size)
		return tp_err_set(-ENOSPC, "the image is %" PRIu64 " bytes but %s holds only "
				  "%" PRIu64 " bytes; nothing was written. Use a larger target or "
				  "a smaller image", raw, s->desc, s->size);
	return 0;
}

/* What each target ends with; the image's own failure is every target's. */
static int results(struct fan *f, int img_rc, uint64_t t0)
{
	struct tp_image *img = f->img;
	struct tp_err_ctx first = { 0 }; /* the first target's failure, reported */

	for (size_t i = 0; i < f->n; i++) {
		struct writer *w = &f->w[i];
		struct tp_image_result *r = &w->t->res;

		if (!w->failed && img_rc < 0) {
			w->failed = true;
			w->t->rc = img_rc;
			snprintf(w->t->msg, sizeof(w->t->msg), "%s", tp_err_msg());
			r->fail_phase = img->rc ? img->fail_phase : TP_PHASE_WRITE;
			r->fail_offset = img->rc ? img->fail_off : 0;
		}
		if (w->failed) {
			/* A blanking or the head write began and something
			 * failed: blank it again. The error that got us here
			 * is the one to report; a failed blanking is added to
			 * it, and the caller must say so loudly. */
			if (w->head_dirty && tp_fan_recover(w) < 0) {
				size_t l = strlen(w->t->msg);

				r->head_blank_failed = w->boot_dirty;
				snprintf(w->t->msg + l, sizeof(w->t->msg) - l,
					 "; then blanking the boot area again failed: %s%s", tp_err_msg(),
					 w->boot_dirty ? "" : " (its first 64 KiB, the boot block, are "
					 "blank: it does not boot)");
			}
			r->head_zeroed = w->head_zeroed && !w->head_dirty;
			if (!first.rc) {
				first.rc = w->t->rc;
				snprintf(first.msg, sizeof(first.msg), "%s", w->t->msg);
			}
		}
		r->raw_bytes = f->raw;
		r->in_bytes = img->in_bytes;
		snprintf(r->sha256, sizeof(r->sha256), "%s", img->sha_hex);
		r->sum_checked = !w->failed && img->info.sum_expected[0];
		r->total_ns = tp_clock_real_ns() - t0;
	}
	return first.rc ? tp_err_restore(&first) : 0;
}

/* Before anything started: the current error is every target's. */
static int fail_targets(struct tp_image_target *t, size_t n, int rc)
{
	for (size_t i = 0; i < n; i++) {
		t[i].rc = rc;
		snprintf(t[i].msg, sizeof(t[i].msg), "%s", tp_err_msg());
	}
	return rc;
}

int tp_image_write_multi(struct tp_image *img, struct tp_image_target *t, size_t n)
{
	struct fan *f;
	unsigned depth = img->o.queue_depth ?: 4, pool;
	bool ran = false;
	int rc = 0, img_rc;

	if (!n || n > TP_IMAGE_TARGETS_MAX)
		return tp_err_set(-EINVAL, "%zu targets; 1-%d can be written at once", n,
				  TP_IMAGE_TARGETS_MAX);
	for (size_t i = 0; i < n; i++) {
		memset(&t[i].res, 0, sizeof(t[i].res));
		t[i].rc = 0;
		t[i].msg[0] = '\0';
	}
	if (img->used)
		return fail_targets(t, n, tp_err_set(-EALREADY, "an image can be written once "
						     "per tp_image_open()"));
	img->used = true;
	f = calloc(1, sizeof(*f));
	if (!f)
		return fail_targets(t, n, tp_err_set(-ENOMEM, "out of memory"));
	f->img = img;
	f->n = n;
	f->per_target = true;
	for (size_t i = 0; i < n; i++)
		f->per_target = f->per_target && t[i].progress;
	f->head_size = img->o.head_size;
	f->verify = img->o.verify;
	f->total = img->info.raw_size;
	f->t0 = tp_clock_real_ns();
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->cond, NULL);
	for (size_t i = 0; i < n; i++) {
		struct writer *w = &f->w[i];

		*w = (struct writer){ .f = f, .t = &t[i], .s = t[i].sink };
		if ((rc = check_target(f, w)) < 0)
			tp_fan_writer_fail(w, rc, TP_PHASE_WRITE, 0);
	}
	/* Memory is the budget (128 MB on the BMC): the slowest target paces
	 * the stream anyway, so a chunk being written per target and two
	 * being decoded ahead are enough; at least n, as each target takes
	 * one as its read-back buffer at the end. */
	pool = depth > n + 2 ? depth : (unsigned)n + 2;
	if ((rc = tp_queue_new(&f->pool, pool, CHUNK, PAD)) < 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		if ((rc = tp_queue_new(&f->w[i].q, pool, sizeof(void *), 64)) < 0)
			goto out;
	pthread_mutex_lock(&img->lock);
	img->outq[img->noutq++] = f->pool;
	for (size_t i = 0; i < n; i++)
		img->outq[img->noutq++] = f->w[i].q;
	pthread_mutex_unlock(&img->lock);

	for (size_t i = 0; i < n; i++) {
		if ((rc = tp_cancel_thread_create(&f->w[i].th, tp_fan_writer_main, &f->w[i])) < 0) {
			tp_err_set(rc, "cannot start a writer thread: %s", strerror(-rc));
			tp_image_fail(img, rc, TP_PHASE_WRITE, 0);
			break;
		}
		f->w[i].started = true;
	}
	if (rc == 0) {
		tp_image_progress(img, TP_PHASE_WRITE, 0, f->total, false);
		rc = produce(f);
	}
	tp_image_join_reader(img);
	img_rc = tp_image_error(img);
	pthread_mutex_lock(&f->lock);
	f->verdict = img_rc < 0 || rc ? -1 : 1;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
	for (size_t i = 0; i < n; i++)
		if (f->w[i].started)
			pthread_join(f->w[i].th, NULL);
	if (img_rc < 0)
		tp_image_error(img); /* its message, current for results() */
	rc = results(f, img_rc, f->t0);
	ran = true;
out:
	if (!ran)
		fail_targets(t, n, rc);
	pthread_mutex_lock(&img->lock);
	img->noutq = 0;
	pthread_mutex_unlock(&img->lock);
	for (size_t i = 0; i < n; i++) {
		tp_queue_free(f->w[i].q);
		free(f->w[i].crc);
	}
	tp_queue_free(f->pool);
	pthread_mutex_destroy(&f->lock);
	pthread_cond_destroy(&f->cond);
	free(f);
	return rc;
}

int tp_image_write(struct tp_image *img, struct tp_sink *s, struct tp_image_result *res)
{
	struct tp_image_target t = { .sink = s };
	int rc = tp_image_write_multi(img, &t, 1);

	if (res)
		*res = t.res;
	return rc;
}

