// SPDX-License-Identifier: MIT
/*
 * The image pipeline against the real file sink, wrapped by a fault sink
 * that records every write and injects EIO, corruption and short writes:
 * head-last ordering, read-back verification with the offset of the bad
 * MiB, capacity limits, hash mismatch. No mocks of the pipeline itself.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <signal.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zlib.h>

#include "common/cancel.h"
#include "common/err.h"
#include "common/image.h"
#include "common/sink_file.h"

#define MiB (1024 * 1024)

static char dir[64];
static int short_writes; /* the interposed pwrite writes at most 4 KiB */

/* Interpose pwrite for the file sink (linked into this program), so the
 * kernel's right to write less than asked is exercised; the real write is
 * pwritev, which the sink does not use. */
static ssize_t real_pwrite(int fd, const void *buf, size_t n, off64_t off)
{
	struct iovec iov = { (void *)buf, n };

	if (short_writes && n > 4096)
		iov.iov_len = n > 3 * 4096 ? n / 3 / 4096 * 4096 : 4096;
	return pwritev64(fd, &iov, 1, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
	return real_pwrite(fd, buf, n, off);
}

/* Without _FILE_OFFSET_BITS=64, pwrite is a symbol of its own (64-bit
 * hosts); with it, the header maps pwrite to pwrite64. */
#if !defined(__USE_FILE_OFFSET64) && UINTPTR_MAX > 0xffffffffu
ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	return real_pwrite(fd, buf, n, off);
}
#endif

/* ---- an image: MBR signature, text, zeros, pseudo-random bytes ---------- */

static unsigned char *make_image(size_t size, uint32_t seed)
{
	unsigned char *b = calloc(1, size);
	uint32_t x = seed;

	for (size_t i = 0; i < size; i++) {
		size_t mib = i / MiB;

		x = x * 1664525u + 1013904223u;
		if (mib % 3 == 0)
			b[i] = "partition table, boot loader, text "[i % 35];
		else if (mib % 3 == 1 && (i / 4096) % 2)
			b[i] = (unsigned char)(x >> 24);
	}
	b[510] = 0x55;
	b[511] = 0xaa;
	return b;
}

static void write_file(const char *path, const void *b, size_t n)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(b, 1, n, f), n);
	fclose(f);
}

static char *path(const char *name)
{
	static char p[4][128];
	static int i;

	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
	return p[i];
}

static unsigned char *read_all(const char *p, size_t *n)
{
	struct stat st;
	unsigned char *b;
	FILE *f = fopen(p, "rb");

	assert_non_null(f);
	assert_int_equal(fstat(fileno(f), &st), 0);
	b = malloc((size_t)st.st_size + 1);
	*n = fread(b, 1, (size_t)st.st_size, f);
	fclose(f);
	return b;
}

static void gzip_file(const char *p, const unsigned char *b, size_t n)
{
	gzFile g = gzopen(p, "wb6");

	assert_non_null(g);
	assert_int_equal(gzwrite(g, b, (unsigned)n), (int)n);
	gzclose(g);
}

static void sha256_hex(const unsigned char *b, size_t n, char out[65])
{
	unsigned char d[32];
	unsigned len;

	EVP_Digest(b, n, d, &len, EVP_sha256(), NULL);
	for (int i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

/* ---- the fault sink: wraps the file sink ------------------------------- */

#define MAXLOG 256

struct wlog {
	uint64_t off, len;
	bool nonzero;
};

struct fault {
	struct tp_sink s;
	struct tp_sink *inner;
	uint64_t eio_at, corrupt_at; /* UINT64_MAX: none */
	uint64_t cancel_at;          /* a signal arrives as image data goes there */
	struct wlog log[MAXLOG];
	int n;
	int preads;
	bool head_dirty_early; /* image data at offset < 1 MiB before the last write */
	uint64_t max_end;
};

static bool all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static int fault_pwrite(struct tp_sink *s, const void *buf, size_t len, uint64_t off)
{
	struct fault *f = s->priv;
	unsigned char *tmp = NULL;
	int rc;

	assert_true(f->n < MAXLOG);
	f->log[f->n++] = (struct wlog){ off, len, !all_zero(buf, len) };
	if (off + len > f->max_end)
		f->max_end = off + len;
	if (f->eio_at >= off && f->eio_at < off + len)
		return tp_err_set(-EIO, "injected EIO writing at byte %llu",
				  (unsigned long long)f->eio_at);
	if (f->cancel_at >= off && f->cancel_at < off + len && f->log[f->n - 1].nonzero)
		tp_cancel_raise(SIGTERM);
	/* Corrupt image data once, as a flaky link would, not the zeros. */
	if (f->corrupt_at >= off && f->corrupt_at < off + len && f->log[f->n - 1].nonzero) {
		tmp = malloc(len);
		memcpy(tmp, buf, len);
		tmp[f->corrupt_at - off] ^= 0x5a;
		buf = tmp;
		f->corrupt_at = UINT64_MAX;
	}
	rc = tp_sink_pwrite(f->inner, buf, len, off);
	free(tmp);
	return rc;
}

static int fault_pread(struct tp_sink *s, void *buf, size_t len, uint64_t off)
{
	struct fault *f = s->priv;

	f->preads++;
	return tp_sink_pread(f->inner, buf, len, off);
}

static int fault_flush(struct tp_sink *s)
{
	return tp_sink_flush(((struct fault *)s->priv)->inner);
}

static void fault_close(struct tp_sink *s)
{
	(void)s;
}

static const struct tp_sink_ops fault_ops = {
	.name = "fault", .pwrite = fault_pwrite, .pread = fault_pread,
	.flush = fault_flush, .close = fault_close,
};

static void fault_open(struct fault *f, const char *target, uint64_t size)
{
	struct tp_sink_file_opts so = { .size = size };

	memset(f, 0, sizeof(*f));
	assert_int_equal(tp_sink_file_open(&f->inner, target, &so), 0);
	f->s = *f->inner;
	f->s.ops = &fault_ops;
	f->s.priv = f;
	f->eio_at = f->corrupt_at = f->cancel_at = UINT64_MAX;
}

static int run(const char *src, struct fault *f, bool verify, const char *sha,
	       struct tp_image_result *r)
{
	struct tp_image_opts o;
	struct tp_image *img;
	int rc;

	tp_image_opts_init(&o);
	o.src = src;
	o.verify = verify;
	o.sha256 = sha;
	o.discover_sha256 = false;
	tp_err_clear();
	rc = tp_image_open(&img, &o);
	if (rc < 0)
		return rc;
	rc = tp_image_write(img, &f->s, r);
	tp_image_close(img);
	tp_sink_close(f->inner);
	return rc;
}

static void expect_file(const char *p, const unsigned char *want, size_t n)
{
	size_t got;
	unsigned char *b = read_all(p, &got);

	assert_int_equal(got, n);
	assert_memory_equal(b, want, n);
	free(b);
}

static void expect_head_zero(const char *p)
{
	size_t got;
	unsigned char *b = read_all(p, &got);

	assert_true(all_zero(b, got < MiB ? got : MiB));
	free(b);
}

/* ---- tests -------------------------------------------------------------- */

static void raw_exact_and_result(void **state)
{
	size_t n = 5 * MiB + 12345;
	unsigned char *img = make_image(n, 1);
	struct tp_image_result r;
	struct fault f;
	char sha[65];

	(void)state;
	sha256_hex(img, n, sha);
	write_file(path("a.img"), img, n);
	fault_open(&f, path("a.out"), 0);
	assert_int_equal(run(path("a.img"), &f, true, sha, &r), 0);
	expect_file(path("a.out"), img, n);
	assert_int_equal(r.raw_bytes, n);
	assert_int_equal(r.in_bytes, n);
	assert_string_equal(r.sha256, sha);
	assert_true(r.sum_checked);
	assert_true(r.verified);
	assert_true(f.preads > 0);
	free(img);
}

/* The first MiB is zeroed first, stays zero while the body is written, and
 * the image's head goes last: all of it but the boot block, then the boot
 * block (the first 64 KiB) alone, as the very last write. */
static void head_written_last(void **state)
{
	size_t n = 6 * MiB;
	unsigned char *img = make_image(n, 2);
	struct tp_image_result r;
	struct fault f;

	(void)state;
	gzip_file(path("b.img.gz"), img, n);
	fault_open(&f, path("b.out"), 0);
	assert_int_equal(run(path("b.img.gz"), &f, true, NULL, &r), 0);
	expect_file(path("b.out"), img, n);
	assert_true(f.n >= 3);
	/* first: zeros over the head */
	assert_int_equal(f.log[0].off, 0);
	assert_false(f.log[0].nonzero);
	/* last: the boot block, alone, with data */
	assert_int_equal(f.log[f.n - 1].off, 0);
	assert_int_equal(f.log[f.n - 1].len, TP_IMAGE_BOOT_BLOCK);
	assert_true(f.log[f.n - 1].nonzero);
	/* just before it: the rest of the head */
	assert_int_equal(f.log[f.n - 2].off, TP_IMAGE_BOOT_BLOCK);
	assert_int_equal(f.log[f.n - 2].len, MiB - TP_IMAGE_BOOT_BLOCK);
	assert_true(f.log[f.n - 2].nonzero);
	/* nothing but zeros below 1 MiB before those, body writes ascending */
	for (int i = 0; i < f.n - 2; i++) {
		if (f.log[i].off < MiB)
			assert_false(f.log[i].nonzero);
		if (i > 0 && f.log[i].off >= MiB && f.log[i - 1].off >= MiB)
			assert_true(f.log[i].off > f.log[i - 1].off);
	}
	free(img);
}

static void eio_at_offset(void **state)
{
	size_t n = 6 * MiB;
	unsigned char *img = make_image(n, 3);
	struct tp_image_result r;
	struct fault f;

	(void)state;
	write_file(path("c.img"), img, n);
	fault_open(&f, path("c.out"), 0);
	f.eio_at = 3 * MiB + 100;
	assert_int_equal(run(path("c.img"), &f, true, NULL, &r), -EIO);
	assert_non_null(strstr(tp_err_msg(), "injected EIO writing at byte 3145828"));
	assert_int_equal(r.fail_phase, TP_PHASE_WRITE);
	assert_int_equal(r.fail_offset, 3 * MiB);
	assert_true(r.head_zeroed);
	expect_head_zero(path("c.out"));
	/* nothing written after the failing write but the pipeline stopping */
	for (int i = 0; i < f.n; i++)
		assert_false(f.log[i].off < MiB && f.log[i].nonzero);
	free(img);
}

static void short_writes_complete(void **state)
{
	size_t n = 4 * MiB + 777;
	unsigned char *img = make_image(n, 4);
	struct tp_image_result r;
	struct fault f;

	(void)state;
	gzip_file(path("d.img.gz"), img, n);
	fault_open(&f, path("d.out"), 0);
	short_writes = 1;
	assert_int_equal(run(path("d.img.gz"), &f, true, NULL, &r), 0);
	short_writes = 0;
	expect_file(path("d.out"), img, n);
	assert_true(r.verified);
	free(img);
}

static void corrupt_body_caught(void **state)
{
	size_t n = 5 * MiB;
	unsigned char *img = make_image(n, 5);
	struct tp_image_result r;
	struct fault f;

	(void)state;
	write_file(path("e.img"), img, n);
	fault_open(&f, path("e.out"), 0);
	f.corrupt_at = 3 * MiB + 4242;
	assert_int_equal(run(path("e.img"), &f, true, NULL, &r), -EIO);
	assert_non_null(strstr(tp_err_msg(), "in the MiB at byte 3145728 of"));
	assert_int_equal(r.fail_phase, TP_PHASE_VERIFY);
	assert_int_equal(r.fail_offset, 3 * MiB);
	assert_true(r.head_zeroed);
	expect_head_zero(path("e.out"));
	/* the head was never written: verify runs before it */
	assert_int_equal(f.log[f.n - 1].off == 0 && f.log[f.n - 1].nonzero, 0);
	free(img);
}

static void corrupt_head_caught(void **state)
{
	size_t n = 3 * MiB;
	unsigned char *img = make_image(n, 6);
	struct tp_image_result r;
	struct fault f;

	(void)state;
	write_file(path("f.img"), img, n);
	fault_open(&f, path("f.out"), 0);
	f.corrupt_at = 1234;
	assert_int_equal(run(path("f.img"), &f, true, NULL, &r), -EIO);
	assert_non_null(strstr(tp_err_msg(), "boot area differs at byte 1234 of"));
	assert_int_equal(r.fail_phase, TP_PHASE_VERIFY);
	assert_int_equal(r.fail_offset, 1234);
	assert_true(r.head_zeroed);
	expect_head_zero(path("f.out"));
	free(img);
}

/* Unknown raw size (gzip): stop before the write that would pass the end. */
static void capacity_exceeded_streaming(void **state)
{
	size_t n = 5 * MiB;
	unsigned char *img = make_image(n, 7);
	struct tp_image_result r;
	struct fault f;

	(void)state;
	gzip_file(path("g.img.gz"), img, n);
	fault_open(&f, path("g.out"), 3 * MiB);
	f.s.size = 3 * MiB;
	assert_int_equal(run(path("g.img.gz"), &f, true, NULL, &r), -ENOSPC);
	assert_non_null(strstr(tp_err_msg(), "holds 3145728 bytes and the image goes on past "
				"byte 3145728"));
	assert_true(f.max_end <= 3 * MiB);
	expect_head_zero(path("g.out"));
	free(img);
}

/* Known raw size: refused before anything is written. */
static void capacity_exceeded_known(void **state)
{
	size_t n = 5 * MiB;
	unsigned char *img = make_image(n, 8);
	struct tp_image_result r;
	struct fault f;

	(void)state;
	write_file(path("h.img"), img, n);
	fault_open(&f, path("h.out"), 4 * MiB);
	f.s.size = 4 * MiB;
	assert_int_equal(run(path("h.img"), &f, true, NULL, &r), -ENOSPC);
	assert_non_null(strstr(tp_err_msg(), "the image is 5242880 bytes but"));
	assert_non_null(strstr(tp_err_msg(), "nothing was written"));
	assert_int_equal(f.n, 0);
	free(img);
}

static void hash_mismatch_keeps_head_zero(void **state)
{
	size_t n = 8 * MiB;
	unsigned char *img = make_image(n, 9);
	struct tp_image_result r = { 0 };
	struct fault f;
	char sha[65];
	int rc;

	(void)state;
	sha256_hex(img, n, sha);
	sha[0] = sha[0] == '0' ? '1' : '0';
	write_file(path("i.img"), img, n);
	fault_open(&f, path("i.out"), 0);
	rc = run(path("i.img"), &f, true, sha, &r);
	assert_int_equal(rc, -EBADMSG);
	assert_non_null(strstr(tp_err_msg(), "SHA-256 mismatch"));
	assert_non_null(strstr(tp_err_msg(), sha));
	for (int i = 0; i < f.n; i++)
		assert_false(f.log[i].off < MiB && f.log[i].nonzero);
	expect_head_zero(path("i.out"));
	free(img);
}

static void no_verify_reads_nothing(void **state)
{
	size_t n = 2 * MiB + 1;
	unsigned char *img = make_image(n, 10);
	struct tp_image_result r;
	struct fault f;

	(void)state;
	write_file(path("j.img"), img, n);
	fault_open(&f, path("j.out"), 0);
	assert_int_equal(run(path("j.img"), &f, false, NULL, &r), 0);
	expect_file(path("j.out"), img, n);
	assert_int_equal(f.preads, 0);
	assert_false(r.verified);
	free(img);
}

/* An image smaller than the head: nothing zeroed; the head in two writes,
 * the boot block last. */
static void image_smaller_than_head(void **state)
{
	size_t n = 300000;
	unsigned char *img = make_image(n, 11);
	struct tp_image_result r;
	struct fault f;

	(void)state;
	write_file(path("k.img"), img, n);
	fault_open(&f, path("k.out"), 0);
	assert_int_equal(run(path("k.img"), &f, true, NULL, &r), 0);
	expect_file(path("k.out"), img, n);
	assert_int_equal(f.n, 2);
	assert_int_equal(f.log[0].off, TP_IMAGE_BOOT_BLOCK);
	assert_int_equal(f.log[0].len, n - TP_IMAGE_BOOT_BLOCK);
	assert_int_equal(f.log[1].off, 0);
	assert_int_equal(f.log[1].len, TP_IMAGE_BOOT_BLOCK);
	free(img);
}

/* A block-device-like sink (4 KiB alignment): the tail is padded, the
 * size reported is the image's. */
static void aligned_sink_pads_tail(void **state)
{
	size_t n = 3 * MiB + 1000;
	unsigned char *img = make_image(n, 12);
	struct tp_image_result r;
	struct fault f;
	size_t got;
	unsigned char *b;

	(void)state;
	write_file(path("l.img"), img, n);
	fault_open(&f, path("l.out"), 0);
	f.s.align = 4096;
	assert_int_equal(run(path("l.img"), &f, true, NULL, &r), 0);
	assert_int_equal(r.raw_bytes, n);
	b = read_all(path("l.out"), &got);
	assert_int_equal(got, 3 * MiB + 4096);
	assert_memory_equal(b, img, n);
	assert_true(all_zero(b + n, got - n));
	for (int i = 0; i < f.n; i++)
		assert_int_equal(f.log[i].len % 4096, 0);
	free(b);
	free(img);
}

/* ---- fan-out: one image, several targets ------------------------------- */

static int fan_run(const char *src, struct tp_image_target *t, size_t n, const char *sha,
		   uint64_t *in_bytes)
{
	struct tp_image_opts o;
	struct tp_image *img;
	int rc;

	tp_image_opts_init(&o);
	o.src = src;
	o.sha256 = sha;
	o.discover_sha256 = false;
	tp_err_clear();
	assert_int_equal(tp_image_open(&img, &o), 0);
	rc = tp_image_write_multi(img, t, n);
	if (in_bytes)
		*in_bytes = t[0].res.raw_bytes;
	tp_image_close(img);
	return rc;
}

/* n fault sinks on files NAME0.out.. and a target for each. */
static void fan_targets(struct fault *f, struct tp_image_target *t, size_t n, const char *name)
{
	char file[32];

	for (size_t i = 0; i < n; i++) {
		snprintf(file, sizeof(file), "%s%zu.out", name, i);
		fault_open(&f[i], path(file), 0);
		t[i] = (struct tp_image_target){ .sink = &f[i].s };
	}
}

/* A target that fails and one too small for the image drop out; the other
 * gets the whole image, verified; the small one is never written. */
static void fanout_failures_are_per_target(void **state)
{
	size_t n = 8 * MiB + 777;
	unsigned char *img = make_image(n, 21);
	struct fault f[3];
	struct tp_image_target t[3] = { 0 };
	char sha[65];

	(void)state;
	sha256_hex(img, n, sha);
	write_file(path("fo.img"), img, n);
	fan_targets(f, t, 3, "fo");
	f[1].eio_at = 4 * MiB + 5;
	f[2].s.size = 8 * MiB; /* the image is 8 MiB + 777 */
	assert_int_equal(fan_run(path("fo.img"), t, 3, sha, NULL), -EIO);
	assert_non_null(strstr(tp_err_msg(), "injected EIO writing at byte 4194309"));
	assert_int_equal(t[0].rc, 0);
	expect_file(path("fo0.out"), img, n);
	assert_true(t[0].res.verified && t[0].res.sum_checked);
	assert_int_equal(t[0].res.raw_bytes, n);
	assert_int_equal(t[1].rc, -EIO);
	assert_int_equal(t[1].res.fail_phase, TP_PHASE_WRITE);
	assert_int_equal(t[1].res.fail_offset, 4 * MiB);
	assert_true(t[1].res.head_zeroed);
	expect_head_zero(path("fo1.out"));
	assert_int_equal(t[2].rc, -ENOSPC);
	assert_non_null(strstr(t[2].msg, "holds only 8388608 bytes; nothing was written"));
	assert_int_equal(f[2].n, 0);
	assert_int_equal(f[2].preads, 0);
	for (int i = 0; i < 3; i++)
		tp_sink_close(f[i].inner);
	free(img);
}

/* Progress seen by fanout_progress_per_target(): each target's callback
 * runs on its own writer thread, so the record is locked. */
struct prog_log {
	pthread_mutex_t lock;
	struct tp_progress last[4][3]; /* by target id, phase */
	unsigned events[4][3];
};

static void prog_record(void *cookie, const struct tp_progress *p)
{
	struct prog_log *l = cookie;

	assert_true(p->target < 4 && (unsigned)p->phase < 3);
	pthread_mutex_lock(&l->lock);
	l->last[p->target][p->phase] = *p;
	l->events[p->target][p->phase]++;
	pthread_mutex_unlock(&l->lock);
}

/* Targets with their own progress each get their own write and verify,
 * ending at the image's size and labelled with their id; the image's
 * callback then gets no summed write or verify figures. */
static void fanout_progress_per_target(void **state)
{
	size_t n = 6 * MiB + 99;
	unsigned char *img = make_image(n, 23);
	struct prog_log own = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct prog_log whole = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct fault f[3];
	struct tp_image_target t[3] = { 0 };
	struct tp_image_opts o;
	struct tp_image *im;

	(void)state;
	write_file(path("pp.img"), img, n);
	fan_targets(f, t, 3, "pp");
	for (unsigned i = 0; i < 3; i++) {
		t[i].id = i + 1;
		t[i].progress = prog_record;
		t[i].progress_cookie = &own;
	}
	tp_image_opts_init(&o);
	o.src = path("pp.img");
	o.discover_sha256 = false;
	o.progress = prog_record;
	o.progress_cookie = &whole;
	assert_int_equal(tp_image_open(&im, &o), 0);
	assert_int_equal(tp_image_write_multi(im, t, 3), 0);
	tp_image_close(im);
	for (unsigned id = 1; id <= 3; id++)
		for (int ph = TP_PHASE_WRITE; ph <= TP_PHASE_VERIFY; ph++) {
			const struct tp_progress *p = &own.last[id][ph];

			assert_true(own.events[id][ph] >= 1);
			assert_int_equal(p->target, id);
			assert_int_equal(p->done, n);
			assert_int_equal(p->total, n);
		}
	assert_int_equal(own.events[0][TP_PHASE_WRITE] + own.events[0][TP_PHASE_VERIFY], 0);
	assert_int_equal(whole.events[0][TP_PHASE_WRITE] + whole.events[0][TP_PHASE_VERIFY], 0);
	for (int i = 0; i < 3; i++) {
		char file[16];

		snprintf(file, sizeof(file), "pp%d.out", i);
		expect_file(path(file), img, n);
		tp_sink_close(f[i].inner);
	}
	free(img);
}

/* The image's own failure (its checksum) is every target's. */
static void fanout_image_failure_fails_all(void **state)
{
	size_t n = 6 * MiB;
	unsigned char *img = make_image(n, 22);
	struct fault f[2];
	struct tp_image_target t[2] = { 0 };
	char sha[65];

	(void)state;
	sha256_hex(img, n, sha);
	sha[5] = sha[5] == '0' ? '1' : '0';
	write_file(path("fi.img"), img, n);
	fan_targets(f, t, 2, "fi");
	assert_int_equal(fan_run(path("fi.img"), t, 2, sha, NULL), -EBADMSG);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(t[i].rc, -EBADMSG);
		assert_non_null(strstr(t[i].msg, "SHA-256 mismatch"));
		assert_false(t[i].res.sum_checked || t[i].res.verified);
		for (int k = 0; k < f[i].n; k++)
			assert_false(f[i].log[k].off < MiB && f[i].log[k].nonzero);
		tp_sink_close(f[i].inner);
	}
	expect_head_zero(path("fi0.out"));
	expect_head_zero(path("fi1.out"));
	free(img);
}

/* Once every target has failed the decoder stops: it does not decode the
 * rest of a large image for nobody. */
static void fanout_all_failed_stops_decoding(void **state)
{
	size_t n = 64 * MiB;
	unsigned char *img = make_image(n, 23);
	struct fault f[2];
	struct tp_image_target t[2] = { 0 };
	uint64_t decoded;

	(void)state;
	gzip_file(path("fs.img.gz"), img, n);
	fan_targets(f, t, 2, "fs");
	f[0].eio_at = 2 * MiB;
	f[1].eio_at = 3 * MiB;
	assert_int_equal(fan_run(path("fs.img.gz"), t, 2, NULL, &decoded), -EIO);
	assert_int_equal(t[0].res.fail_offset, 2 * MiB);
	assert_int_equal(t[1].res.fail_offset, 3 * MiB);
	assert_true(decoded < 24 * MiB);
	for (int i = 0; i < 2; i++)
		tp_sink_close(f[i].inner);
	free(img);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/tp-pipeline-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* The before_head step (seeding, docs/seeding.md): runs once the body is
 * written and read back, before any byte of the head; what it writes is in
 * the result, and the head still goes out last. */
struct hook {
	int rc;
	int calls;
	int log_at_call;     /* writes logged when the hook ran */
	int preads_at_call;  /* read-back done by then */
	size_t head_len;
	unsigned char head0;
};

static int hook_run(void *cookie, struct tp_sink *s, const void *head, size_t len)
{
	struct hook *h = cookie;
	struct fault *f = s->priv;
	static const char mark[] = "seeded";

	h->calls++;
	h->log_at_call = f->n;
	h->preads_at_call = f->preads;
	h->head_len = len;
	h->head0 = *(const unsigned char *)head;
	if (h->rc)
		return tp_err_set(h->rc, "the hook failed on purpose");
	return tp_sink_pwrite(s, mark, sizeof(mark), 3 * MiB);
}

static int run_hooked(const char *src, struct fault *f, struct hook *h,
		      struct tp_image_target *t)
{
	struct tp_image_opts o;
	struct tp_image *img;
	int rc;

	tp_image_opts_init(&o);
	o.src = src;
	o.discover_sha256 = false;
	*t = (struct tp_image_target){ .sink = &f->s, .before_head = hook_run,
				       .before_head_cookie = h };
	rc = tp_image_open(&img, &o);
	if (rc == 0)
		rc = tp_image_write_multi(img, t, 1);
	tp_image_close(img);
	tp_sink_close(f->inner);
	return rc;
}

static void before_head_between_body_and_head(void **state)
{
	size_t n = 6 * MiB, got;
	unsigned char *img = make_image(n, 31), *b;
	struct tp_image_target t;
	struct hook h = { 0 };
	struct fault f;

	(void)state;
	write_file(path("h.img"), img, n);
	fault_open(&f, path("h.out"), 0);
	assert_int_equal(run_hooked(path("h.img"), &f, &h, &t), 0);
	assert_int_equal(h.calls, 1);
	assert_int_equal(h.head_len, MiB);
	assert_int_equal(h.head0, img[0]);
	assert_true(h.preads_at_call > 0); /* the body was read back first */
	/* Before the hook: no image byte below 1 MiB; after it, its write,
	 * then the rest of the head, then the boot block. */
	for (int i = 0; i < h.log_at_call; i++)
		assert_false(f.log[i].off < MiB && f.log[i].nonzero);
	assert_int_equal(f.log[h.log_at_call].off, 3 * MiB);
	assert_int_equal(f.log[f.n - 1].off, 0);
	assert_int_equal(f.n, h.log_at_call + 3);
	assert_true(t.res.verified);
	b = read_all(path("h.out"), &got);
	assert_int_equal(got, n);
	assert_memory_equal(b + 3 * MiB, "seeded", 7);
	assert_memory_equal(b, img, 3 * MiB);
	free(b);
	free(img);
}

static void before_head_failure_keeps_head_blank(void **state)
{
	size_t n = 6 * MiB, got;
	unsigned char *img = make_image(n, 32), *b;
	struct tp_image_target t;
	struct hook h = { .rc = -EIO };
	struct fault f;

	(void)state;
	write_file(path("i.img"), img, n);
	fault_open(&f, path("i.out"), 0);
	assert_int_equal(run_hooked(path("i.img"), &f, &h, &t), -EIO);
	assert_int_equal(t.rc, -EIO);
	assert_non_null(strstr(t.msg, "the hook failed on purpose"));
	assert_true(t.res.before_head_failed);
	assert_true(t.res.head_zeroed);
	assert_false(t.res.verified);
	b = read_all(path("i.out"), &got);
	assert_true(all_zero(b, MiB));
	assert_memory_equal(b + MiB, img + MiB, n - MiB);
	free(b);
	free(img);
}

/* A signal while the head goes out (through the cancellable wrapper, as
 * tpkit flash writes): the writes after it are refused, and the head and
 * the GPT backup area are blanked again all the same — under the wrapper,
 * deaf to the signal. Last in the list: the cancel stays for the process. */
static void cancel_in_head_reblanks(void **state)
{
	size_t n = 6 * MiB, got;
	unsigned char *img = make_image(n, 21), *b;
	struct tp_image_result r;
	struct tp_image_opts o;
	struct tp_image *ti;
	struct tp_sink *cs;
	struct fault f;
	int first_zero_after = -1;

	(void)state;
	write_file(path("q.img"), img, n);
	fault_open(&f, path("q.out"), 8 * MiB);
	f.cancel_at = 512 * 1024; /* in the head's rest */
	assert_int_equal(tp_cancel_sink_wrap(&f.s, &cs), 0);
	tp_image_opts_init(&o);
	o.src = path("q.img");
	o.discover_sha256 = false;
	assert_int_equal(tp_image_open(&ti, &o), 0);
	assert_int_equal(tp_image_write(ti, cs, &r), -ECANCELED);
	tp_image_close(ti);
	tp_sink_close(cs);
	tp_sink_close(f.inner);
	assert_non_null(strstr(tp_err_msg(), "cancelled by signal 15"));
	assert_true(r.head_zeroed);
	assert_false(r.head_blank_failed);
	/* The boot block never went out; zeros went over the head after the
	 * signal. */
	for (int i = 0; i < f.n; i++) {
		assert_false(f.log[i].off == 0 && f.log[i].nonzero);
		if (f.log[i].off >= 512 * 1024 && f.log[i].nonzero)
			first_zero_after = i;
	}
	assert_true(first_zero_after >= 0);
	assert_true(f.log[f.n - 1].off >= 7 * MiB && !f.log[f.n - 1].nonzero);
	b = read_all(path("q.out"), &got);
	assert_int_equal(got, 8 * MiB);
	assert_true(all_zero(b, MiB));
	assert_true(all_zero(b + 7 * MiB, MiB));
	assert_memory_equal(b + MiB, img + MiB, n - MiB);
	free(b);
	free(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(raw_exact_and_result),
		cmocka_unit_test(head_written_last),
		cmocka_unit_test(eio_at_offset),
		cmocka_unit_test(short_writes_complete),
		cmocka_unit_test(corrupt_body_caught),
		cmocka_unit_test(corrupt_head_caught),
		cmocka_unit_test(capacity_exceeded_streaming),
		cmocka_unit_test(capacity_exceeded_known),
		cmocka_unit_test(hash_mismatch_keeps_head_zero),
		cmocka_unit_test(no_verify_reads_nothing),
		cmocka_unit_test(image_smaller_than_head),
		cmocka_unit_test(aligned_sink_pads_tail),
		cmocka_unit_test(fanout_failures_are_per_target),
		cmocka_unit_test(fanout_image_failure_fails_all),
		cmocka_unit_test(fanout_progress_per_target),
		cmocka_unit_test(fanout_all_failed_stops_decoding),
		cmocka_unit_test(before_head_between_body_and_head),
		cmocka_unit_test(before_head_failure_keeps_head_blank),
		cmocka_unit_test(cancel_in_head_reblanks), /* last: see there */
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
