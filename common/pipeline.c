// SPDX-License-Identifier: MIT
/*
 * tp_image_write_multi(): decode once on the calling thread, write on one
 * writer thread per target, each target's head written last (performance.md
 * 3, "First MiB last"):
 *
 *   1. on the first body chunk, zero the target's head (and the GPT backup
 *      area at its end) and flush: from here on the target does not boot;
 *   2. stream the body from head_size on; keep a CRC32 per 1 MiB chunk;
 *   3. at the end of the stream, wait until the reader has checked the
 *      input's SHA-256, then flush;
 *   4. read the body back and compare CRCs (offset of the bad MiB);
 *   5. write the head (held in memory), flush, read it back and compare.
 *
 * Any failure after 1. leaves (or puts back) a zeroed head, so an
 * interrupted or corrupt flash never leaves a bootable half image.
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
#define PAD 4096 /* the largest sink alignment; divides CHUNK and head_size */

static const unsigned char zeros[64 * 1024] __attribute__((aligned(4096)));

struct fan;

struct writer {
	struct fan *f;
	struct tp_image_target *t;
	struct tp_sink *s;
	struct tp_queue *q;     /* references to pool chunks, in order */
	pthread_t th;
	bool started;
	bool failed;            /* under f->lock */
	uint64_t done[3];       /* bytes per phase, for progress; under f->lock */
	uint32_t *crc;          /* per body chunk, in order */
	size_t ncrc, crc_cap;
	uint64_t body_end;      /* end of the body on the sink, padded */
	bool head_zeroed, head_written;
	uint64_t vbody_ns;
};

struct fan {
	struct tp_image *img;
	struct tp_queue *pool;  /* 1 MiB chunks shared by the writers */
	pthread_mutex_t lock;
	pthread_cond_t cond;    /* verdict set */
	int verdict;            /* 0 decoding, 1 input complete and good, -1 not */
	bool ended[3];          /* the final progress event of a phase went out */
	const unsigned char *head; /* the image's (tp_image_head) */
	size_t hlen;
	uint32_t head_size;
	bool verify;
	uint64_t raw;           /* image bytes decoded; final with the verdict */
	uint64_t total;         /* raw size if known up front, for progress */
	uint64_t t0;
	size_t n;
	struct writer w[TP_IMAGE_TARGETS_MAX];
};

static uint64_t round_up(uint64_t v, size_t a)
{
	return a > 1 ? (v + a - 1) / a * a : v;
}

/* Record a target's own failure (the calling thread's message), once. */
static int writer_fail(struct writer *w, int rc, enum tp_phase ph, uint64_t off)
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

static bool writer_failed(struct writer *w)
{
	bool v;

	pthread_mutex_lock(&w->f->lock);
	v = w->failed;
	pthread_mutex_unlock(&w->f->lock);
	return v;
}

/*
 * Progress of the slowest target still going, so a bar never runs ahead of
 * a slot; the phase's final event goes out once, when the last target
 * still going has finished it.
 */
static void fan_progress(struct fan *f, struct writer *w, enum tp_phase ph, uint64_t done)
{
	uint64_t min = UINT64_MAX, total;
	bool end;

	pthread_mutex_lock(&f->lock);
	w->done[ph] = done;
	for (size_t i = 0; i < f->n; i++)
		if (!f->w[i].failed && f->w[i].done[ph] < min)
			min = f->w[i].done[ph];
	/* f->raw is final, and only read, once the verdict is in. */
	end = f->verdict > 0 && min == f->raw && !f->ended[ph];
	if (end)
		f->ended[ph] = true;
	total = f->verdict > 0 ? f->raw : ph == TP_PHASE_WRITE ? f->total : 0;
	pthread_mutex_unlock(&f->lock);
	if (min != UINT64_MAX)
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
	size_t max = s->max_io ? s->max_io : CHUNK;

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

static int zero_range(struct tp_sink *s, uint64_t off, uint64_t len)
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

/* Step 1. The GPT backup at the end of the disk would otherwise let a
 * firmware or kernel "repair" the blanked primary GPT from the old one. */
static int zero_head(struct writer *w)
{
	struct tp_sink *s = w->s;
	int rc = zero_range(s, 0, w->f->head_size);

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
		writer_fail(w, rc, TP_PHASE_WRITE, c->off);
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
			return writer_fail(w, rc, TP_PHASE_VERIFY, off);
		crc = (uint32_t)crc32(0, buf, (uInt)len);
		if (crc != w->crc[i]) {
			tp_err_set(-EIO, "read-back differs from what was written in the MiB at byte "
				   "%" PRIu64 " of %s (CRC32 written %08x, read %08x); the target "
				   "or its connection corrupts data. Its boot area was left blank; "
				   "flash again, and replace the storage if it repeats",
				   off, s->desc, w->crc[i], crc);
			return writer_fail(w, -EIO, TP_PHASE_VERIFY, off);
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
			return writer_fail(w, rc, TP_PHASE_VERIFY, off);
		for (size_t i = 0; i < len; i++)
			if (r[i] != head[off + i]) {
				tp_err_set(-EIO, "read-back of the boot area differs at byte %zu of "
					   "%s (wrote 0x%02x, read 0x%02x); the target or its "
					   "connection corrupts data. The boot area was blanked again",
					   off + i, w->s->desc, head[off + i], r[i]);
				return writer_fail(w, -EIO, TP_PHASE_VERIFY, off + i);
			}
	}
	return 0;
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
		writer_fail(w, rc, TP_PHASE_WRITE, f->raw);
		return;
	}
	/* Every chunk is back in the pool, or will be once the slower
	 * writers are done with it: one is this writer's read buffer. */
	vbuf = tp_queue_get_free(f->pool);
	if (!vbuf) {
		writer_fail(w, tp_image_error(f->img) ?: -ECANCELED, TP_PHASE_VERIFY, 0);
		return;
	}
	if (f->verify && w->ncrc) {
		v0 = tp_mono_ns();
		if (verify_body(w, vbuf->data) < 0)
			goto out;
		w->vbody_ns = tp_mono_ns() - v0;
	}
	w->head_written = true;
	rc = sink_io(s, true, (void *)f->head, hpad, 0); /* written, not changed */
	if (rc == 0)
		rc = tp_sink_flush(s);
	if (rc < 0) {
		writer_fail(w, rc, TP_PHASE_WRITE, 0);
		goto out;
	}
	t1 = tp_mono_ns();
	fan_progress(f, w, TP_PHASE_WRITE, f->raw);
	r->write_ns = t1 - f->t0 - w->vbody_ns;
	r->verify_ns = w->vbody_ns;
	if (f->verify) {
		if (verify_head(w, hpad, vbuf->data) < 0)
			goto out;
		r->verify_ns += tp_mono_ns() - t1;
		fan_progress(f, w, TP_PHASE_VERIFY, f->raw);
		r->verified = true;
	}
out:
	tp_queue_put_free(f->pool, vbuf);
}

static void *writer_main(void *arg)
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
		if (c->len && !writer_failed(w))
			write_chunk(w, c);
		chunk_put(f, c);
	}
	pthread_mutex_lock(&f->lock);
	while (!f->verdict)
		pthread_cond_wait(&f->cond, &f->lock);
	verdict = f->verdict;
	pthread_mutex_unlock(&f->lock);
	if (verdict > 0 && !writer_failed(w))
		finish(w);
	return NULL;
}

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

		if (!s->size || off + round_up(len, s->align) <= s->size || writer_failed(w))
			continue;
		tp_err_set(-ENOSPC, "the image does not fit: %s holds %" PRIu64 " bytes and the "
			   "image goes on past byte %" PRIu64 "; stopped before writing beyond the "
			   "end. Use a larger target or a smaller image", s->desc, s->size, off);
		writer_fail(w, -ENOSPC, TP_PHASE_WRITE, off);
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
	int first = 0;
	char msg[TP_ERR_MAX] = "";

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
			r->head_zeroed = w->head_zeroed;
			/* The image's head went out and then something failed:
			 * blank it again. Best effort; the error that got us
			 * here is the one to report. */
			if (w->head_written)
				r->head_zeroed = zero_range(w->s, 0, f->head_size) == 0 &&
						 tp_sink_flush(w->s) == 0;
			if (!first) {
				first = w->t->rc;
				snprintf(msg, sizeof(msg), "%s", w->t->msg);
			}
		}
		r->raw_bytes = f->raw;
		r->in_bytes = img->in_bytes;
		snprintf(r->sha256, sizeof(r->sha256), "%s", img->sha_hex);
		r->sum_checked = !w->failed && img->info.sum_expected[0];
		r->total_ns = tp_mono_ns() - t0;
	}
	return first ? tp_err_set(first, "%s", msg) : 0;
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
	f->head_size = img->o.head_size;
	f->verify = img->o.verify;
	f->total = img->info.raw_size;
	f->t0 = tp_mono_ns();
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->cond, NULL);
	for (size_t i = 0; i < n; i++) {
		struct writer *w = &f->w[i];

		*w = (struct writer){ .f = f, .t = &t[i], .s = t[i].sink };
		if ((rc = check_target(f, w)) < 0)
			writer_fail(w, rc, TP_PHASE_WRITE, 0);
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
		if ((rc = -pthread_create(&f->w[i].th, NULL, writer_main, &f->w[i])) < 0) {
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
