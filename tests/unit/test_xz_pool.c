// SPDX-License-Identifier: MIT
/*
 * The xz decoder's allocator (common/xz_pool.h): small requests from
 * malloc; big ones mapped, a freed mapping kept for the next request of
 * about its size, and what is in use and kept never past the limit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "common/xz_pool.h"

#define MiB (1024 * 1024)

static void *alloc(struct tp_xz_pool *p, size_t n)
{
	void *b = p->allocator.alloc(p->allocator.opaque, 1, n);

	assert_non_null(b);
	memset(b, 0xa5, n); /* every byte of it is ours to write */
	return b;
}

static void release(struct tp_xz_pool *p, void *b)
{
	p->allocator.free(p->allocator.opaque, b);
}

static void small_and_big(void **state)
{
	struct tp_xz_pool p;
	void *s, *a, *b;

	(void)state;
	tp_xz_pool_init(&p, 48u * MiB);
	s = alloc(&p, 4096);
	assert_int_equal(p.used, 0); /* malloc's, not counted */
	a = alloc(&p, 12 * MiB);
	assert_true(p.used >= 12u * MiB && p.used < 12u * MiB + 8192);
	release(&p, a);
	assert_int_equal(p.used, 0);
	assert_true(p.kept >= 12u * MiB);
	/* the next buffer of about that size is the kept one */
	b = alloc(&p, 12 * MiB - 100000);
	assert_ptr_equal(b, a);
	assert_int_equal(p.kept, 0);
	release(&p, b);
	/* one much smaller is not: it would hold pages it does not need */
	a = alloc(&p, 4 * MiB);
	assert_ptr_not_equal(a, b);
	release(&p, a);
	release(&p, s);
	release(&p, NULL);
	tp_xz_pool_end(&p);
}

/* In use and kept stay within the limit: a new mapping gives back kept
 * ones first, and a freed one past the limit is unmapped, not kept. */
static void within_the_limit(void **state)
{
	struct tp_xz_pool p;
	void *b[4];

	(void)state;
	tp_xz_pool_init(&p, 40u * MiB);
	b[0] = alloc(&p, 12 * MiB);
	b[1] = alloc(&p, 12 * MiB);
	release(&p, b[0]);
	release(&p, b[1]);
	assert_true(p.kept >= 24u * MiB);
	/* 16 MiB fits neither kept one: they make room for it */
	b[2] = alloc(&p, 16 * MiB);
	assert_true(p.used + p.kept <= p.limit);
	b[3] = alloc(&p, 20 * MiB);
	assert_true(p.used + p.kept <= p.limit || p.kept == 0);
	release(&p, b[2]);
	release(&p, b[3]);
	assert_true(p.used + p.kept <= p.limit);
	assert_int_equal(p.used, 0);
	tp_xz_pool_end(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(small_and_big),
		cmocka_unit_test(within_the_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
