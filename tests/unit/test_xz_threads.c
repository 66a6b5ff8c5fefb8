// SPDX-License-Identifier: MIT
/*
 * The xz decoder's threads (common/decode_xz.c, docs/pipeline.md "Threaded
 * xz"): an image of many blocks (xz -T) is decoded by worker threads, byte
 * for byte; a memory limit too small for a worker keeps the decoding in the
 * caller's thread, still byte for byte; a damaged block in the middle is
 * named; an image of one block is decoded without workers. The images are
 * made here with liblzma's own encoders.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <lzma.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/decode.h"
#include "common/err.h"
#include "common/pull.h"

#define MiB (1024 * 1024)
#define IMG_SIZE (6 * MiB + 777)
#define BLOCK (256 * 1024)

static unsigned char *img;

/* A stream handed out in pieces of 64 KiB, as the reader's queue does. */
struct mem {
	const unsigned char *b;
	size_t n, pos;
};

static int mem_next(void *ctx, const void **p, size_t *n)
{
	struct mem *m = ctx;
	size_t k = m->n - m->pos < 65536 ? m->n - m->pos : 65536;

	*p = m->b + m->pos;
	*n = k;
	m->pos += k;
	return 0;
}

/* Threads of this process now (qemu-user's own included: compare). */
static int tasks(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* The image as xz -PRESET -T writes it: blocks of block bytes, their sizes
 * in each block header. One encoder thread: the blocks come out the same,
 * and -9 needs 674 MiB a thread. */
static unsigned char *encode_preset(size_t block, uint32_t preset, size_t *out)
{
	lzma_stream s = LZMA_STREAM_INIT;
	lzma_mt mt = { .threads = 1, .block_size = block, .preset = preset,
		       .check = LZMA_CHECK_CRC64 };
	size_t cap = IMG_SIZE + IMG_SIZE / 2 + 65536;
	unsigned char *o = malloc(cap);

	assert_non_null(o);
	assert_int_equal(lzma_stream_encoder_mt(&s, &mt), LZMA_OK);
	s.next_in = img;
	s.avail_in = IMG_SIZE;
	s.next_out = o;
	s.avail_out = cap;
	assert_int_equal(lzma_code(&s, LZMA_FINISH), LZMA_STREAM_END);
	*out = cap - s.avail_out;
	lzma_end(&s);
	return o;
}

/* xz -1 with blocks of block bytes. */
static unsigned char *encode(size_t block, size_t *out)
{
	return encode_preset(block, 1, out);
}

/* Decode it all in 1 MiB reads and compare; *workers is the most threads
 * the process had beside its own at any read (liblzma keeps its workers
 * until the end, so that is how many it started), checked against what the
 * decoder said it would use. rc of the whole read. */
static int decode(const unsigned char *c, size_t n, uint64_t memlimit, unsigned threads,
		  int *workers)
{
	struct mem m = { c, n, 0 };
	struct tp_pull in;
	struct tp_xz *x;
	unsigned char *got = malloc(IMG_SIZE + MiB);
	size_t total = 0, k = 0;
	int before = tasks(), rc;

	assert_non_null(got);
	tp_pull_init(&in, mem_next, &m);
	assert_int_equal(tp_xz_open(&x, &in, memlimit, threads), 0);
	*workers = 0;
	do {
		rc = tp_xz_read(x, got + total, MiB, &k);
		total += k;
		if (tasks() - before > *workers)
			*workers = tasks() - before;
	} while (rc == 0 && k && total <= IMG_SIZE);
	assert_true(*workers <= (int)tp_xz_workers(x));
	if (rc == 0) {
		assert_int_equal(total, IMG_SIZE);
		assert_memory_equal(got, img, IMG_SIZE);
	}
	tp_xz_close(x);
	tp_pull_release(&in);
	free(got);
	return rc;
}

/* What the build and the machine allow when not asked: CONFIG_TPKIT_XZ_THREADS,
 * one per CPU when 0. */
static long threads_allowed(void)
{
	long n = CONFIG_TPKIT_XZ_THREADS ? CONFIG_TPKIT_XZ_THREADS
					 : sysconf(_SC_NPROCESSORS_ONLN);

	return LZMA_VERSION >= 50040002 ? n : 1;
}

static void many_blocks_in_workers(void **state)
{
	size_t n;
	unsigned char *c = encode(BLOCK, &n);
	int workers;

	(void)state;
	assert_int_equal(decode(c, n, 48u * MiB, 0, &workers), 0);
	if (threads_allowed() > 1) {
		assert_true(workers >= 1);
		assert_true(workers <= threads_allowed());
	} else {
		assert_int_equal(workers, 0);
	}
	/* --xz-threads 1: none beside the caller; 2: at most two */
	assert_int_equal(decode(c, n, 48u * MiB, 1, &workers), 0);
	assert_int_equal(workers, 0);
	if (LZMA_VERSION >= 50040002) {
		assert_int_equal(decode(c, n, 48u * MiB, 2, &workers), 0);
		assert_true(workers >= 1 && workers <= 2);
	}
	free(c);
}

/* A worker holds a block's output whole: 4 MiB blocks do not fit in a
 * 5 MiB budget, and room for one worker (8 MiB) is no gain over the
 * caller's thread, so it decodes them, within the budget; 48 MiB has room
 * for two. */
static void budget_keeps_one_thread(void **state)
{
	size_t n;
	unsigned char *c = encode(4 * MiB, &n);
	int workers;

	(void)state;
	assert_int_equal(decode(c, n, 5u * MiB, 0, &workers), 0);
	assert_int_equal(workers, 0);
	assert_int_equal(decode(c, n, 8u * MiB, 0, &workers), 0);
	assert_int_equal(workers, 0);
	if (threads_allowed() > 1) {
		assert_int_equal(decode(c, n, 48u * MiB, 2, &workers), 0);
		assert_int_equal(workers, 2);
	}
	free(c);
}

/* xz without -T: one block, no sizes in its header, no workers. */
static void one_block_as_before(void **state)
{
	size_t n, cap = IMG_SIZE + IMG_SIZE / 2 + 65536;
	unsigned char *c = malloc(cap);
	lzma_stream s = LZMA_STREAM_INIT;
	int workers;

	(void)state;
	assert_non_null(c);
	assert_int_equal(lzma_easy_encoder(&s, 1, LZMA_CHECK_CRC64), LZMA_OK);
	s.next_in = img;
	s.avail_in = IMG_SIZE;
	s.next_out = c;
	s.avail_out = cap;
	assert_int_equal(lzma_code(&s, LZMA_FINISH), LZMA_STREAM_END);
	n = cap - s.avail_out;
	lzma_end(&s);
	assert_int_equal(decode(c, n, 48u * MiB, 0, &workers), 0);
	assert_int_equal(workers, 0);
	free(c);
}

/* A byte flipped in a block in the middle: found by the worker that has
 * it, reported as corrupt data, not as the end of the stream. */
static void corrupt_middle_block(void **state)
{
	size_t n;
	unsigned char *c = encode(BLOCK, &n);
	int workers;

	(void)state;
	c[n / 2] ^= 0x55;
	tp_err_clear();
	assert_int_equal(decode(c, n, 48u * MiB, 0, &workers), -EBADMSG);
	assert_non_null(strstr(tp_err_msg(), "xz data is corrupt at input byte"));
	free(c);
	/* cut short after the first block: truncated, said so */
	c = encode(BLOCK, &n);
	assert_int_equal(decode(c, n / 3, 48u * MiB, 0, &workers), -EBADMSG);
	assert_non_null(strstr(tp_err_msg(), "xz stream is truncated"));
	free(c);
}

/* The message's number comes from the block header when the threaded
 * decoder cannot say: xz -9's 64 MiB dictionary needs 65 MiB. */
static void memlimit_names_the_need(void **state)
{
	size_t n;
	unsigned char *c = encode_preset(BLOCK, 9, &n);
	int workers;

	(void)state;
	tp_err_clear();
	assert_int_equal(decode(c, n, 32u * MiB, 0, &workers), -ENOMEM);
	assert_non_null(strstr(tp_err_msg(), "the xz image needs 65 MiB of memory to decode"));
	assert_non_null(strstr(tp_err_msg(), "--xz-memlimit 65"));
	free(c);
}

static int setup(void **state)
{
	uint32_t v = 12345;

	(void)state;
	img = malloc(IMG_SIZE);
	if (!img)
		return -1;
	/* Compressible but not trivial: runs of a small alphabet. */
	for (size_t i = 0; i < IMG_SIZE; i++) {
		v = v * 1103515245u + 12345u;
		img[i] = (unsigned char)("tpkit rk1 cm4 \n"[(v >> 16) % 15]);
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(img);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(many_blocks_in_workers),
		cmocka_unit_test(budget_keeps_one_thread),
		cmocka_unit_test(one_block_as_before),
		cmocka_unit_test(corrupt_middle_block),
		cmocka_unit_test(memlimit_names_the_need),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
