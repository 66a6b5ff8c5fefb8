// SPDX-License-Identifier: MIT
/*
 * One target's writer thread (common/pipeline.c has the whole picture):
 * it takes the chunks the decoder queued for it, zeroes the target's head
 * before the first (step 1), writes the body and keeps a CRC32 per chunk
 * (2), and once the decoder says the input was complete and good, flushes
 * (3), reads the body back (4), runs the target's before_head step if it
 * has one (4a: seeding), and writes and reads back the head (5).
 * A failure marks only this target; it then drops its chunks unwritten so
 * the others never wait for it.
 */
#include "pipeline_priv.h"
#include "cancel.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define TAIL_ZERO (1u << 20)

static const unsigned char zeros[64 * 1024] __attribute__((aligned(4096)));

int tp_fan_writer_fail(struct writer *w, int rc, enum tp_phase ph, uint64_t off)
{
	pthread_mutex_lock(&w->f->lock);
	if (!w->failed) {
		w->failed = true;
		w->t->rc = rc;
		snprintf(w->t->msg, sizeof(w->t->msg), "%s",
			 tp_err_msg()[0] ? tp_err_msg() : strerror(-rc));
		w->t->res.fail_phase = ph;
		w->t->res.fail_offset = off;
	}
	pthread_mutex_unlock(&w->f->lock);
	return rc;
}

bool tp_fan_writer_failed(struct writer *w)
{
	bool v;

	pthread_mutex_lock(&w->f->lock);
	v = w->failed;
	pthread_mutex_unlock(&w->f->lock);
	return v;
}

/* The writer's own progress, on its thread: total as fan_progress() has
 * it, the end once it has written (or read back) the whole image. */
static void target_progress(struct writer *w, enum tp_phase ph, uint64_t done, uint64_t total,
			    bool end)
{
	struct tp_progress ev;

	if (w->ended[ph] || !tp_phase_prog_due(&w->prog[ph], done, end))
		return;
	w->ended[ph] = end;
	ev = (struct tp_progress){ .phase = ph, .done = done, .total = total,
				   .rate = w->prog[ph].rate, .target = w->t->id };
	w->t->progress(w->t->progress_cookie, &ev);
}

/*
 * Progress of the slowest target still going, so a bar never runs ahead of
 * a slot; the phase's final event goes out once, when the last target
 * still going has finished it. Targets with their own callback get their
 * own figures too.
 */
static void fan_progress(struct fan *f, struct writer *w, enum tp_phase ph, uint64_t done)
{
	uint64_t min = UINT64_MAX, total;
	bool end, wend;

	pthread_mutex_lock(&f->lock);
	w->done[ph] = done;
	wend = f->verdict > 0 && done == f->raw;
	for (size_t i = 0; i < f->n; i++)
		if (!f->w[i].failed && f->w[i].done[ph] < min)
			min = f->w[i].done[ph];
	/* f->raw is final, and only read, once the verdict is in. */
	end = f->verdict > 0 && min == f->raw && !f->ended[ph];
	if (end)
		f->ended[ph] = true;
	total = f->verdict > 0 ? f->raw : ph == TP_PHASE_WRITE ? f->total : 0;
	pthread_mutex_unlock(&f->lock);
	if (w->t->progress)
		target_progress(w, ph, done, total, wend);
	if (min != UINT64_MAX && !f->per_target)
		tp_image_progress(f->img, ph, min, total, end);
}

static void chunk_put(struct fan *f, struct tp_chunk *c)
{
	unsigned left;

	pthread_mutex_lock(&f->lock);
	left = --c->refs;
	pthread_mutex_unlock(&f->lock);
	if (!left)
		tp_queue_put_free(f->pool, c);
}

static int sink_io(struct tp_sink *s, bool wr, void *buf, uint64_t len, uint64_t off)
{
	size_t max = !wr && s->max_read ? s->max_read : s->max_io ? s->max_io : CHUNK;

	while (len) {
		size_t n = len < max ? (size_t)len : max;
		int rc = wr ? tp_sink_pwrite(s, buf, n, off) : tp_sink_pread(s, buf, n, off);

		if (rc < 0)
			return rc;
		buf = (char *)buf + n;
		off += n;
		len -= n;
	}
	return 0;
}

int tp_fan_zero_range(struct tp_sink *s, uint64_t off, uint64_t len)
{
	while (len) {
		uint64_t n = len < sizeof(zeros) ? len : sizeof(zeros);
		int rc = sink_io(s, true, (void *)zeros, n, off);

		if (rc < 0)
			return rc;
		off += n;
		len -= n;
	}
	return 0;
}

/* Zero the head and the GPT backup area at the end of s, then flush. The
 * GPT backup would otherwise let a firmware or kernel "repair" the blanked
 * primary GPT from the old one. The head goes front to back, so its first
 * command — the boot block — is blank first. */
static int blank_boot_area(struct writer *w, struct tp_sink *s)
{
	int rc = tp_fan_zero_range(s, 0, w->f->head_size);

	if (rc == 0 && s->size >= 4 * (uint64_t)TAIL_ZERO) {
		uint64_t start = (s->size - TAIL_ZERO) / (s->align ? s->align : 1) * s->align;

		rc = tp_fan_zero_range(s, start, s->size - start);
	}
	return rc ?: tp_sink_flush(s);
}

/* Step 1. A cancel half-way leaves the area dirty: recovery finishes it. */
static int zero_head(struct writer *w)
{
	int rc;

	w->head_dirty = w->boot_dirty = true;
	rc = blank_boot_area(w, w->s);
	if (rc < 0)
		return tp_err_prefix(rc, "blanking the boot area first: ");
	w->head_dirty = w->boot_dirty = false;
	w->head_zeroed = true;
	return 0;
}

int tp_fan_recover(struct writer *w)
{
	int rc;

	/* Not through the cancellable wrapper, and deaf to signals on this
	 * thread (the rockusb engine's waits included): a cancel is what
	 * usually brings us here. */
	tp_cancel_hold();
	rc = blank_boot_area(w, tp_cancel_sink_inner(w->s));
	tp_cancel_unhold();
	if (rc < 0)
		return tp_err_prefix(rc, "%s: ", w->s->desc);
	w->head_dirty = w->boot_dirty = false;
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

/* The CRC32 of a whole chunk is the same for every target: the first writer
 * to need it computes it for all (on a Cortex-A7 a CRC32 of the image costs
 * about as much as writing it out once). A last, partial chunk is padded to
 * each sink's own alignment, so each target sums its own. */
static uint32_t chunk_crc(struct fan *f, struct tp_chunk *c, uint64_t padded)
{
	uint32_t crc;
	bool set;

	if (c->len != CHUNK)
		return (uint32_t)crc32(0, c->data, (uInt)padded);
	pthread_mutex_lock(&f->lock);
	set = c->crc_set;
	crc = c->crc;
	pthread_mutex_unlock(&f->lock);
	if (set)
		return crc;
	crc = (uint32_t)crc32(0, c->data, (uInt)padded);
	pthread_mutex_lock(&f->lock);
	c->crc = crc;
	c->crc_set = true;
	pthread_mutex_unlock(&f->lock);
	return crc;
}

/* Steps 1 and 2 for one chunk. The chunk's data is shared and read-only
 * here: the decoder padded it with zeros to PAD. */
static void write_chunk(struct writer *w, struct tp_chunk *c)
{
	uint64_t padded = round_up(c->len, w->s->align);
	int rc = 0;

	if (!w->head_zeroed)
		rc = zero_head(w);
	if (rc == 0 && w->f->verify)
		rc = crc_push(w, chunk_crc(w->f, c, padded));
	if (rc == 0)
		rc = sink_io(w->s, true, c->data, padded, c->off);
	if (rc < 0) {
		tp_fan_writer_fail(w, rc, TP_PHASE_WRITE, c->off);
		return;
	}
	w->body_end = c->off + padded;
	fan_progress(w->f, w, TP_PHASE_WRITE, c->off + c->len);
}

/* Step 4: read the body back, CRC per chunk. */
static int verify_body(struct writer *w, void *buf)
{
	struct tp_sink *s = w->s;
	uint32_t hs = w->f->head_size;

	for (size_t i = 0; i < w->ncrc; i++) {
		uint64_t off = hs + (uint64_t)i * CHUNK;
		uint64_t len = w->body_end - off < CHUNK ? w->body_end - off : CHUNK;
		uint32_t crc;
		int rc = sink_io(s, false, buf, len, off);

		if (rc < 0)
			return tp_fan_writer_fail(w, rc, TP_PHASE_VERIFY, off);
		crc = (uint32_t)crc32(0, buf, (uInt)len);
		if (crc != w->crc[i]) {
			tp_err_set(-EIO, "read-back differs from what was written in the MiB at byte "
				   "%" PRIu64 " of %s (CRC32 written %08x, read %08x); the target "
				   "or its connection corrupts data. Its boot area was left blank; "
				   "flash again, and replace the storage if it repeats",
				   off, s->desc, w->crc[i], crc);
			return tp_fan_writer_fail(w, -EIO, TP_PHASE_VERIFY, off);
		}
		fan_progress(w->f, w, TP_PHASE_VERIFY, off + len - hs);
	}
	return 0;
}

/* Step 5's read-back: the head is in memory, so compare bytes exactly. */
static int verify_head(struct writer *w, size_t hpad, void *buf)
{
	const unsigned char *head = w->f->head;

	for (size_t off = 0; off < hpad; off += CHUNK) {
		size_t len = hpad - off < CHUNK ? hpad - off : CHUNK;
		const unsigned char *r = buf;
		int rc = sink_io(w->s, false, buf, len, off);

		if (rc < 0)
			return tp_fan_writer_fail(w, rc, TP_PHASE_VERIFY, off);
		for (size_t i = 0; i < len; i++)
			if (r[i] != head[off + i]) {
				tp_err_set(-EIO, "read-back of the boot area differs at byte %zu of "
					   "%s (wrote 0x%02x, read 0x%02x); the target or its "
					   "connection corrupts data. The boot area was blanked again",
					   off + i, w->s->desc, head[off + i], r[i]);
				return tp_fan_writer_fail(w, -EIO, TP_PHASE_VERIFY, off + i);
			}
	}
	return 0;
}

/*
 * Step 5's write. The boot block (the first TP_IMAGE_BOOT_BLOCK bytes: the
 * partition table and the RK3588 ID block at sector 64) goes out last, in
 * one command of its own, once the rest of the head is on the device and
 * flushed. Until that command lands the target has no boot block, and
 * after it the whole image is there: a process killed at any instant
 * (nothing runs to clean up) leaves one or the other (docs/recovery.md).
 */
static int write_head(struct writer *w, const unsigned char *head, size_t hpad)
{
	struct tp_sink *s = w->s;
	size_t bb = hpad < TP_IMAGE_BOOT_BLOCK ? hpad : TP_IMAGE_BOOT_BLOCK;
	int rc = 0;

	/* The sinks do not change the data they are given. */
	if (hpad > bb)
		rc = sink_io(s, true, (void *)(head + bb), hpad - bb, bb);
	if (rc == 0)
		rc = tp_sink_flush(s);
	w->boot_dirty = rc == 0;
	return rc ?: tp_image_put_boot_block(s, head, bb);
}

/* A sink that cannot take 64 KiB at once gets the boot block back to
 * front, so LBA 0 (what any firmware looks at first) still goes last. */
int tp_image_put_boot_block(struct tp_sink *s, const void *bb, size_t len)
{
	size_t max = s->max_io ? s->max_io : len;
	int rc = 0;

	for (size_t end = len; rc == 0 && end;) {
		size_t n = end < max ? end : end % max ? end % max : max;

		end -= n;
		rc = tp_sink_pwrite(s, (const unsigned char *)bb + end, n, end);
	}
	return rc ?: tp_sink_flush(s);
}

/* Steps 3-5, once the input is known to be complete and good. */
static void finish(struct writer *w)
{
	struct fan *f = w->f;
	struct tp_sink *s = w->s;
	struct tp_image_result *r = &w->t->res;
	size_t hpad = round_up(f->hlen, s->align);
	struct tp_chunk *vbuf;
	uint64_t v0, t1;
	int rc;

	if (w->head_zeroed && (rc = tp_sink_flush(s)) < 0) {
		tp_fan_writer_fail(w, rc, TP_PHASE_WRITE, f->raw);
		return;
	}
	/* Every chunk is back in the pool, or will be once the slower
	 * writers are done with it: one is this writer's read buffer. */
	vbuf = tp_queue_get_free(f->pool);
	if (!vbuf) {
		tp_fan_writer_fail(w, tp_image_error(f->img) ?: -ECANCELED, TP_PHASE_VERIFY, 0);
		return;
	}
	if (f->verify && w->ncrc) {
		v0 = tp_clock_real_ns();
		if (verify_body(w, vbuf->data) < 0)
			goto out;
		w->vbody_ns = tp_clock_real_ns() - v0;
	}
	if (w->t->before_head) {
		rc = w->t->before_head(w->t->before_head_cookie, s, f->head, f->hlen);
		if (rc == 0)
			rc = tp_sink_flush(s);
		if (rc < 0) {
			r->before_head_failed = true;
			tp_fan_writer_fail(w, rc, TP_PHASE_WRITE, 0);
			goto out;
		}
	}
	w->head_dirty = true;
	rc = write_head(w, f->head, hpad);
	if (rc < 0) {
		tp_fan_writer_fail(w, rc, TP_PHASE_WRITE, 0);
		goto out;
	}
	t1 = tp_clock_real_ns();
	fan_progress(f, w, TP_PHASE_WRITE, f->raw);
	r->write_ns = t1 - f->t0 - w->vbody_ns;
	r->verify_ns = w->vbody_ns;
	if (f->verify) {
		if (verify_head(w, hpad, vbuf->data) < 0)
			goto out;
		r->verify_ns += tp_clock_real_ns() - t1;
		fan_progress(f, w, TP_PHASE_VERIFY, f->raw);
		r->verified = true;
	}
out:
	tp_queue_put_free(f->pool, vbuf);
}

void *tp_fan_writer_main(void *arg)
{
	struct writer *w = arg;
	struct fan *f = w->f;
	bool eof = false;
	int verdict;

	while (!eof) {
		struct tp_chunk *ref = tp_queue_get_full(w->q), *c;

		if (!ref)
			return NULL; /* the image failed: recorded for every target */
		memcpy(&c, ref->data, sizeof(c));
		tp_queue_put_free(w->q, ref);
		eof = c->eof;
		if (c->len && !tp_fan_writer_failed(w))
			write_chunk(w, c);
		chunk_put(f, c);
	}
	pthread_mutex_lock(&f->lock);
	while (!f->verdict)
		pthread_cond_wait(&f->cond, &f->lock);
	verdict = f->verdict;
	pthread_mutex_unlock(&f->lock);
	if (verdict > 0 && !tp_fan_writer_failed(w))
		finish(w);
	return NULL;
}

