// SPDX-License-Identifier: MIT
/*
 * liblzma's memory for the xz decoder (docs/pipeline.md, "Threaded xz").
 *
 * Through malloc, each of the threaded decoder's workers gets its block
 * buffers (a block's whole output, its input: 12-24 MiB each) from its own
 * arena, and freed they stay there: the process grew to three times the
 * budget the workers are held to. So what is a MiB or more is mapped on
 * its own instead. Mapping each block's buffers afresh costs page faults
 * and zeroing (about 15 % of the decoding time), so a freed mapping is kept
 * for the next buffer of about its size, but only while what is in use and
 * what is kept stay within the budget: the pages tpkit holds for liblzma
 * never exceed what liblzma itself is allowed.
 *
 * Each allocation is prefixed with its mapped size, 0 for a malloc one.
 */
#include "xz_pool.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define BIG (1u << 20)
#define HDR (sizeof(max_align_t) > sizeof(size_t) ? sizeof(max_align_t) : sizeof(size_t))

/* A kept mapping of size fits a request of want bytes if it is no more
 * than a quarter larger: bigger ones would hold pages the request does
 * not need. */
static int fits(size_t size, size_t want)
{
	return size >= want && size - want <= want / 4;
}

static void *take(struct tp_xz_pool *p, size_t want)
{
	void *map = NULL;
	int best = -1;

	pthread_mutex_lock(&p->lock);
	for (int i = 0; i < TP_XZ_POOL_SLOTS; i++)
		if (p->slot[i].map && fits(p->slot[i].size, want) &&
		    (best < 0 || p->slot[i].size < p->slot[best].size))
			best = i;
	if (best >= 0) {
		map = p->slot[best].map;
		p->slot[best].map = NULL;
		p->kept -= p->slot[best].size;
		p->used += p->slot[best].size;
	}
	pthread_mutex_unlock(&p->lock);
	return map;
}

/* Room for a new mapping of size bytes: kept ones are given back, largest
 * first, until what is in use, kept and new fits in the limit (or nothing
 * is kept). Then it counts as in use. */
static void make_room(struct tp_xz_pool *p, size_t size)
{
	for (;;) {
		void *map = NULL;
		size_t len = 0;
		int big = -1;

		pthread_mutex_lock(&p->lock);
		if (p->used + p->kept + size > p->limit)
			for (int i = 0; i < TP_XZ_POOL_SLOTS; i++)
				if (p->slot[i].map && (big < 0 || p->slot[i].size > p->slot[big].size))
					big = i;
		if (big < 0) {
			p->used += size;
			pthread_mutex_unlock(&p->lock);
			return;
		}
		map = p->slot[big].map;
		len = p->slot[big].size;
		p->slot[big].map = NULL;
		p->kept -= len;
		pthread_mutex_unlock(&p->lock);
		munmap(map, len);
	}
}

static void *pool_alloc(void *opaque, size_t nmemb, size_t size)
{
	struct tp_xz_pool *p = opaque;
	long page = sysconf(_SC_PAGESIZE);
	size_t n, map;
	unsigned char *b;

	if (__builtin_mul_overflow(nmemb, size, &n) || n > SIZE_MAX / 2)
		return NULL;
	if (n + HDR < BIG) {
		if (!(b = malloc(n + HDR)))
			return NULL;
		map = 0;
	} else {
		map = (n + HDR + (size_t)page - 1) / (size_t)page * (size_t)page;
		b = take(p, map);
		if (b) {
			memcpy(&map, b, sizeof(map)); /* the kept mapping's own size */
		} else {
			make_room(p, map);
			/* POPULATE: the block is written whole anyway; one call
			 * maps its pages instead of a fault for each. */
			b = mmap(NULL, map, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
			if (b == MAP_FAILED) {
				pthread_mutex_lock(&p->lock);
				p->used -= map;
				pthread_mutex_unlock(&p->lock);
				return NULL;
			}
		}
	}
	memcpy(b, &map, sizeof(map));
	return b + HDR;
}

static void pool_free(void *opaque, void *ptr)
{
	struct tp_xz_pool *p = opaque;
	unsigned char *b = ptr;
	size_t map;
	int slot = -1;

	if (!b)
		return;
	b -= HDR;
	memcpy(&map, b, sizeof(map));
	if (!map) {
		free(b);
		return;
	}
	pthread_mutex_lock(&p->lock);
	p->used -= map;
	if (p->used + p->kept + map <= p->limit)
		for (int i = 0; i < TP_XZ_POOL_SLOTS && slot < 0; i++)
			if (!p->slot[i].map)
				slot = i;
	if (slot >= 0) {
		p->slot[slot].map = b;
		p->slot[slot].size = map;
		p->kept += map;
	}
	pthread_mutex_unlock(&p->lock);
	if (slot < 0)
		munmap(b, map);
}

void tp_xz_pool_init(struct tp_xz_pool *p, uint64_t limit)
{
	memset(p, 0, sizeof(*p));
	pthread_mutex_init(&p->lock, NULL);
	p->limit = limit;
	p->allocator.alloc = pool_alloc;
	p->allocator.free = pool_free;
	p->allocator.opaque = p;
}

void tp_xz_pool_end(struct tp_xz_pool *p)
{
	for (int i = 0; i < TP_XZ_POOL_SLOTS; i++)
		if (p->slot[i].map)
			munmap(p->slot[i].map, p->slot[i].size);
	pthread_mutex_destroy(&p->lock);
}
