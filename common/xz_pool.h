/* SPDX-License-Identifier: MIT */
/*
 * The xz decoder's memory (liblzma's allocator): big buffers mapped on
 * their own, and reused within the decoder's budget (xz_pool.c).
 */
#ifndef TP_XZ_POOL_H
#define TP_XZ_POOL_H

#include <lzma.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define TP_XZ_POOL_SLOTS 8

struct tp_xz_pool {
	lzma_allocator allocator; /* for lzma_stream.allocator; opaque is the pool */
	pthread_mutex_t lock;     /* liblzma's workers allocate concurrently */
	uint64_t limit;           /* bytes of big buffers, in use and kept */
	uint64_t used, kept;
	struct {
		void *map;
		size_t size;
	} slot[TP_XZ_POOL_SLOTS]; /* freed mappings kept for reuse */
};

/* limit: the decoder's memory budget; buffers kept for reuse never take
 * what is in use and kept past it. */
void tp_xz_pool_init(struct tp_xz_pool *p, uint64_t limit);
/* Unmap what is kept; after lzma_end(). */
void tp_xz_pool_end(struct tp_xz_pool *p);

#endif
