// SPDX-License-Identifier: MIT
/*
 * libext2fs I/O over a tp_sink (io_sink.h). libext2fs opens a channel by
 * name; the name is a slot in a small table of bindings (sink, partition
 * range), so one process can seed several slots at once.
 *
 * Sinks move whole units of s->align bytes (512 for rockusb sectors, 4096
 * for a file opened O_DIRECT) from aligned memory; libext2fs asks for file
 * system blocks, or for byte counts when it reads the superblock. Every
 * transfer therefore goes through an aligned bounce buffer, and a write
 * that covers part of a unit reads the unit first (after a flush, because
 * sinks may still hold queued writes).
 *
 * A read flushes the sink's queue first, and over rockusb each read and each
 * flushed write is a command round trip. libext2fs reads the same metadata
 * blocks (group descriptors, bitmaps, inode table and directory blocks) again
 * and again while it allocates and links, so the channel keeps the last
 * blocks it read or wrote, write-through: a cached block is what the sink
 * holds or will hold once its queue is out, and reading it costs nothing.
 */
#include "io_sink.h"
#include "common/err.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NBIND 8
#define PREFIX "tp-sink:"

struct binding {
	struct tp_sink *sink;
	uint64_t base, size;
	uint64_t nread, nwritten;
	bool used;
};

static struct binding binds[NBIND];
static pthread_mutex_t binds_lock = PTHREAD_MUTEX_INITIALIZER;

/* The block cache: direct-mapped by block number, 64 blocks (256 KiB of
 * 4 KiB blocks, per file system being seeded). Blocks over CACHE_MAX_BS
 * are not cached. */
#define CACHE_BLOCKS 64
#define CACHE_MAX_BS 16384

struct chan {
	struct binding *b;
	size_t align;     /* the sink's unit: offsets and lengths */
	size_t mem_align; /* the bounce buffer's (O_DIRECT wants pages) */
	struct struct_io_stats stats;
	unsigned char *cache;                 /* CACHE_BLOCKS blocks, or NULL */
	unsigned long long tag[CACHE_BLOCKS]; /* block number + 1; 0: empty */
};

static struct binding *lookup(const char *name)
{
	unsigned i;
	char end;

	if (!name || strncmp(name, PREFIX, strlen(PREFIX)) ||
	    sscanf(name + strlen(PREFIX), "%u%c", &i, &end) != 1 || i >= NBIND || !binds[i].used)
		return NULL;
	return &binds[i];
}

int tp_seed_io_bind(struct tp_sink *sink, uint64_t base, uint64_t size, char *name,
		    size_t name_size)
{
	int rc = tp_err_set(-EMFILE, "more than %d file systems open for seeding", NBIND);

	if (sink->size && (base > sink->size || size > sink->size - base))
		return tp_err_set(-ERANGE, "%s: bytes %llu+%llu are beyond its %llu bytes",
				  sink->desc, (unsigned long long)base, (unsigned long long)size,
				  (unsigned long long)sink->size);
	pthread_mutex_lock(&binds_lock);
	for (unsigned i = 0; i < NBIND; i++)
		if (!binds[i].used) {
			binds[i] = (struct binding){ .sink = sink, .base = base, .size = size,
						     .used = true };
			snprintf(name, name_size, PREFIX "%u", i);
			rc = 0;
			break;
		}
	pthread_mutex_unlock(&binds_lock);
	return rc;
}

void tp_seed_io_unbind(const char *name)
{
	pthread_mutex_lock(&binds_lock);
	struct binding *b = lookup(name);

	if (b)
		b->used = false;
	pthread_mutex_unlock(&binds_lock);
}

int tp_seed_io_stats(const char *name, uint64_t *read, uint64_t *written)
{
	pthread_mutex_lock(&binds_lock);
	struct binding *b = lookup(name);

	if (b) {
		*read = b->nread;
		*written = b->nwritten;
	}
	pthread_mutex_unlock(&binds_lock);
	return b ? 0 : -ENOENT;
}

/* libext2fs wants errcode_t; an errno is one (com_err's system errors). */
static errcode_t ec(int rc)
{
	return rc < 0 ? (errcode_t)-rc : 0;
}

static void cache_drop(struct chan *c)
{
	free(c->cache);
	c->cache = NULL;
	memset(c->tag, 0, sizeof(c->tag));
}

/* Block `block`'s slot when it holds that block, else NULL. */
static unsigned char *cache_hit(io_channel ch, unsigned long long block)
{
	struct chan *c = ch->private_data;
	unsigned i = (unsigned)(block % CACHE_BLOCKS);

	return c->cache && c->tag[i] == block + 1 ? c->cache + (size_t)i * ch->block_size : NULL;
}

/* Keep count blocks from block on (data: what the sink now holds). */
static void cache_put(io_channel ch, unsigned long long block, int count, const void *data)
{
	struct chan *c = ch->private_data;

	if (ch->block_size > CACHE_MAX_BS)
		return;
	if (!c->cache && !(c->cache = malloc((size_t)CACHE_BLOCKS * ch->block_size)))
		return; /* no cache: every read goes to the sink, as before */
	for (int k = 0; k < count; k++) {
		unsigned i = (unsigned)((block + k) % CACHE_BLOCKS);

		memcpy(c->cache + (size_t)i * ch->block_size,
		       (const char *)data + (size_t)k * ch->block_size, ch->block_size);
		c->tag[i] = block + k + 1;
	}
}

/* A write of bytes (not whole blocks): whatever blocks it touches are no
 * longer known. */
static void cache_forget(io_channel ch, unsigned long long block, size_t len)
{
	struct chan *c = ch->private_data;
	unsigned long long last = block + (len + ch->block_size - 1) / ch->block_size;

	for (unsigned long long b = block; b < last && b < block + CACHE_BLOCKS; b++)
		if (c->tag[b % CACHE_BLOCKS] == b + 1)
			c->tag[b % CACHE_BLOCKS] = 0;
}

static errcode_t sink_open(const char *name, int flags, io_channel *out)
{
	struct binding *b;
	io_channel ch;
	struct chan *c;

	(void)flags;
	/* Pipeline writer threads seed several slots at once: the table is
	 * read under the lock that bind and unbind take. A binding's own
	 * fields belong to the one thread that seeds through it. */
	pthread_mutex_lock(&binds_lock);
	b = lookup(name);
	pthread_mutex_unlock(&binds_lock);
	if (!b)
		return EXT2_ET_BAD_DEVICE_NAME;
	ch = calloc(1, sizeof(*ch));
	c = calloc(1, sizeof(*c));
	if (!ch || !c || !(ch->name = strdup(name))) {
		free(ch);
		free(c);
		return EXT2_ET_NO_MEMORY;
	}
	c->b = b;
	c->align = b->sink->align ? b->sink->align : 1;
	c->mem_align = c->align > 4096 ? c->align : 4096;
	ch->magic = EXT2_ET_MAGIC_IO_CHANNEL;
	ch->manager = tp_seed_io_manager;
	ch->block_size = 1024;
	ch->refcount = 1;
	ch->private_data = c;
	*out = ch;
	return 0;
}

static errcode_t sink_close(io_channel ch)
{
	struct chan *c = ch->private_data;
	int rc;

	if (--ch->refcount > 0)
		return 0;
	rc = tp_sink_flush(c->b->sink);
	cache_drop(c);
	free(c);
	free(ch->name);
	free(ch);
	return ec(rc);
}

static errcode_t sink_set_blksize(io_channel ch, int blksize)
{
	if (blksize <= 0)
		return EXT2_ET_INVALID_ARGUMENT;
	if (blksize != ch->block_size)
		cache_drop(ch->private_data);
	ch->block_size = blksize;
	return 0;
}

/* The absolute byte range of a request, checked against the binding. */
static int range(io_channel ch, unsigned long long block, int count, uint64_t *off,
		 size_t *len)
{
	struct chan *c = ch->private_data;
	uint64_t o, l = count < 0 ? (uint64_t)-(int64_t)count : (uint64_t)count * (uint64_t)ch->block_size;

	if (block > UINT64_MAX / (uint64_t)ch->block_size)
		return -ERANGE;
	o = block * (uint64_t)ch->block_size;
	if (o > c->b->size || l > c->b->size - o)
		return tp_err_set(-ERANGE, "%s: file system block %llu (%llu bytes) is beyond its "
				  "partition of %llu bytes", c->b->sink->desc, block,
				  (unsigned long long)l, (unsigned long long)c->b->size);
	*off = c->b->base + o;
	*len = (size_t)l;
	return 0;
}

/* Read [off, off + len) through an aligned bounce buffer. */
static int bounce_read(struct chan *c, void *data, size_t len, uint64_t off)
{
	uint64_t start = off - off % c->align;
	size_t span = (size_t)(((off + len + c->align - 1) / c->align) * c->align - start);
	void *buf;
	int rc;

	if (posix_memalign(&buf, c->mem_align, span))
		return -ENOMEM;
	rc = tp_sink_pread(c->b->sink, buf, span, start);
	if (rc == 0)
		memcpy(data, (char *)buf + (off - start), len);
	free(buf);
	return rc;
}

static errcode_t sink_read(io_channel ch, unsigned long long block, int count, void *data)
{
	struct chan *c = ch->private_data;
	uint64_t off;
	size_t len;
	int rc = range(ch, block, count, &off, &len), k;

	for (k = 0; rc == 0 && k < count && cache_hit(ch, block + k); k++)
		;
	if (rc == 0 && count > 0 && k == count) {
		for (k = 0; k < count; k++)
			memcpy((char *)data + (size_t)k * ch->block_size, cache_hit(ch, block + k),
			       ch->block_size);
		return 0;
	}
	if (rc == 0 && (rc = tp_sink_flush(c->b->sink)) == 0)
		rc = bounce_read(c, data, len, off);
	if (rc == 0) {
		c->b->nread += len;
		if (count > 0)
			cache_put(ch, block, count, data);
	}
	return ec(rc);
}

static errcode_t sink_write(io_channel ch, unsigned long long block, int count,
			    const void *data)
{
	struct chan *c = ch->private_data;
	uint64_t off, start, end;
	size_t len, span;
	void *buf;
	int rc = range(ch, block, count, &off, &len);

	if (rc < 0)
		return ec(rc);
	start = off - off % c->align;
	end = ((off + len + c->align - 1) / c->align) * c->align;
	span = (size_t)(end - start);
	if (posix_memalign(&buf, c->mem_align, span))
		return EXT2_ET_NO_MEMORY;
	/* Partial units at either edge: keep the bytes around the request. */
	if ((start != off || end != off + len) && (rc = tp_sink_flush(c->b->sink)) == 0) {
		if (start != off)
			rc = tp_sink_pread(c->b->sink, buf, c->align, start);
		if (rc == 0 && end != off + len && (end - c->align != start || start == off))
			rc = tp_sink_pread(c->b->sink, (char *)buf + span - c->align, c->align,
					   end - c->align);
	}
	if (rc == 0) {
		memcpy((char *)buf + (off - start), data, len);
		rc = tp_sink_pwrite(c->b->sink, buf, span, start);
	}
	free(buf);
	if (rc == 0)
		c->b->nwritten += len;
	if (rc == 0 && count > 0)
		cache_put(ch, block, count, data);
	else
		cache_forget(ch, block, len); /* a byte count, or the sink's state unknown */
	return ec(rc);
}

static errcode_t sink_read32(io_channel ch, unsigned long block, int count, void *data)
{
	return sink_read(ch, block, count, data);
}

static errcode_t sink_write32(io_channel ch, unsigned long block, int count, const void *data)
{
	return sink_write(ch, block, count, data);
}

static errcode_t sink_flush(io_channel ch)
{
	struct chan *c = ch->private_data;

	return ec(tp_sink_flush(c->b->sink));
}

static errcode_t sink_write_byte(io_channel ch, unsigned long offset, int count,
				 const void *data)
{
	(void)ch, (void)offset, (void)count, (void)data;
	return EXT2_ET_UNIMPLEMENTED; /* libext2fs then writes whole blocks */
}

static errcode_t sink_set_option(io_channel ch, const char *option, const char *arg)
{
	(void)ch, (void)option, (void)arg;
	return EXT2_ET_INVALID_ARGUMENT;
}

static errcode_t sink_get_stats(io_channel ch, io_stats *stats)
{
	struct chan *c = ch->private_data;

	c->stats.num_fields = 2;
	c->stats.bytes_read = c->b->nread;
	c->stats.bytes_written = c->b->nwritten;
	*stats = &c->stats;
	return 0;
}

static struct struct_io_manager manager = {
	.magic = EXT2_ET_MAGIC_IO_MANAGER,
	.name = "tpkit sink I/O manager",
	.open = sink_open,
	.close = sink_close,
	.set_blksize = sink_set_blksize,
	.read_blk = sink_read32,
	.write_blk = sink_write32,
	.flush = sink_flush,
	.write_byte = sink_write_byte,
	.set_option = sink_set_option,
	.get_stats = sink_get_stats,
	.read_blk64 = sink_read,
	.write_blk64 = sink_write,
};

io_manager tp_seed_io_manager = &manager;
