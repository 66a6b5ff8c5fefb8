// SPDX-License-Identifier: MIT
/*
 * libext2fs through tpkit's io_manager over a sink (bmc/seed/io_sink.c):
 * an ext4 file system made by mke2fs inside a partitioned disk file, at an
 * offset that is not a multiple of the sink's 4096-byte O_DIRECT unit, is
 * opened, changed and closed through a file sink; e2fsck then finds it
 * clean, debugfs finds the change, and not one byte outside the partition
 * moved.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bmc/seed/io_sink.h"
#include "common/err.h"
#include "common/sink_file.h"

#define MIB (1024u * 1024u)
#define DISK (48u * MIB)
/* One sector past 20 MiB: every 4 KiB block straddles two sink units. */
#define BASE (20u * MIB + 512u)
#define FSSIZE (16u * MIB)

/*
 * A sink that moves only whole 4096-byte units, as a 4Kn disk does, in
 * front of the file sink: it fails the test on any call that breaks the
 * sink contract (common/sink.h), so the io_manager's read-modify-write at
 * the partition's unaligned edges is what keeps it happy.
 */
struct strict {
	struct tp_sink s;
	struct tp_sink *in;
};

static int strict_check(struct tp_sink *s, const void *buf, size_t len, uint64_t off)
{
	assert_int_equal(len % s->align, 0);
	assert_int_equal(off % s->align, 0);
	assert_int_equal((uintptr_t)buf % s->align, 0);
	return 0;
}

static int strict_pwrite(struct tp_sink *s, const void *buf, size_t len, uint64_t off)
{
	return strict_check(s, buf, len, off) ?: tp_sink_pwrite(((struct strict *)s)->in, buf, len, off);
}

static int strict_pread(struct tp_sink *s, void *buf, size_t len, uint64_t off)
{
	return strict_check(s, buf, len, off) ?: tp_sink_pread(((struct strict *)s)->in, buf, len, off);
}

static int strict_flush(struct tp_sink *s)
{
	return tp_sink_flush(((struct strict *)s)->in);
}

static void strict_close(struct tp_sink *s)
{
	tp_sink_close(((struct strict *)s)->in);
}

static const struct tp_sink_ops strict_ops = {
	.name = "strict", .pwrite = strict_pwrite, .pread = strict_pread,
	.flush = strict_flush, .close = strict_close,
};

static char dir[64];
static char disk[128];

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static uint8_t *slurp(const char *path, size_t size)
{
	uint8_t *b = malloc(size);
	FILE *f = fopen(path, "rb");

	assert_non_null(b);
	assert_non_null(f);
	assert_int_equal(fread(b, 1, size, f), size);
	fclose(f);
	return b;
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/tp-seedio.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(disk, sizeof(disk), "%s/disk.img", dir);
	/* Noise around the partition, so that a stray write shows. */
	assert_int_equal(run("head -c %u /dev/urandom >%s", DISK, disk), 0);
	assert_int_equal(run("mkdir %s/tree && echo image >%s/tree/etc-hostname && "
			     "/sbin/mke2fs -q -F -t ext4 -E offset=%u -d %s/tree %s %uk",
			     dir, dir, BASE, dir, disk, FSSIZE / 1024), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	run("rm -rf %s", dir);
	return 0;
}

static void open_change_close(void **state)
{
	struct tp_sink_file_opts o = { .size = DISK, .existing = true };
	struct strict st = { .s = { .ops = &strict_ops, .size = DISK, .align = 4096,
				    .desc = "strict" } };
	struct tp_sink *s = &st.s;
	uint8_t *before, *after;
	ext2_filsys fs;
	char name[32];

	(void)state;
	before = slurp(disk, DISK);
	assert_int_equal(tp_sink_file_open(&st.in, disk, &o), 0);
	assert_int_equal(tp_seed_io_bind(s, BASE, FSSIZE, name, sizeof(name)), 0);
	assert_int_equal(ext2fs_open2(name, NULL, EXT2_FLAG_RW | EXT2_FLAG_64BITS, 0, 0,
				      tp_seed_io_manager, &fs), 0);
	assert_int_equal(ext2fs_read_bitmaps(fs), 0);
	assert_int_equal(ext2fs_mkdir(fs, EXT2_ROOT_INO, 0, "seeded"), 0);
	assert_int_equal(ext2fs_close_free(&fs), 0);
	tp_seed_io_unbind(name);
	tp_sink_close(s);

	after = slurp(disk, DISK);
	assert_memory_equal(before, after, BASE);
	assert_memory_equal(before + BASE + FSSIZE, after + BASE + FSSIZE, DISK - BASE - FSSIZE);
	assert_memory_not_equal(before + BASE, after + BASE, FSSIZE);
	free(before);
	free(after);

	/* The file system, cut out of the disk, as e2fsprogs' own tools see it. */
	assert_int_equal(run("dd if=%s of=%s/part.img bs=512 skip=%u count=%u status=none",
			     disk, dir, BASE / 512, FSSIZE / 512), 0);
	assert_int_equal(run("/sbin/e2fsck -fn %s/part.img >%s/fsck.log 2>&1", dir, dir), 0);
	assert_int_equal(run("/sbin/debugfs -R 'ls -l /' %s/part.img 2>/dev/null | "
			     "grep -q ' seeded *$'", dir), 0);
	assert_int_equal(run("/sbin/debugfs -R 'cat /etc-hostname' %s/part.img 2>/dev/null | "
			     "grep -qx image", dir), 0);
}

static void out_of_range(void **state)
{
	struct tp_sink_file_opts o = { .size = DISK, .existing = true };
	struct tp_sink *s;
	io_channel ch;
	char name[32], buf[4096];
	uint64_t rd, wr;

	(void)state;
	assert_int_equal(tp_sink_file_open(&s, disk, &o), 0);
	/* A range past the sink's end is refused outright. */
	assert_int_equal(tp_seed_io_bind(s, DISK - MIB, 2 * MIB, name, sizeof(name)), -ERANGE);
	assert_int_equal(tp_seed_io_bind(s, BASE, FSSIZE, name, sizeof(name)), 0);
	assert_int_equal(tp_seed_io_manager->open("tp-sink:9", IO_FLAG_RW, &ch),
			 EXT2_ET_BAD_DEVICE_NAME);
	assert_int_equal(tp_seed_io_manager->open(name, IO_FLAG_RW, &ch), 0);
	assert_int_equal(io_channel_set_blksize(ch, 4096), 0);
	/* The last block of the partition, then the first one past it. */
	assert_int_equal(io_channel_read_blk64(ch, FSSIZE / 4096 - 1, 1, buf), 0);
	assert_int_equal(io_channel_read_blk64(ch, FSSIZE / 4096, 1, buf), ERANGE);
	assert_non_null(strstr(tp_err_msg(), "beyond its partition of 16777216 bytes"));
	assert_int_equal(io_channel_write_blk64(ch, FSSIZE / 4096, 1, buf), ERANGE);
	/* A byte count (as for the superblock): 1024 bytes at block 1 of 1024. */
	assert_int_equal(io_channel_set_blksize(ch, 1024), 0);
	assert_int_equal(io_channel_read_blk64(ch, 1, -1024, buf), 0);
	assert_int_equal((uint8_t)buf[56] | (uint8_t)buf[57] << 8, 0xef53); /* s_magic */
	assert_int_equal(tp_seed_io_stats(name, &rd, &wr), 0);
	assert_int_equal(rd, 4096 + 1024);
	assert_int_equal(wr, 0);
	assert_int_equal(io_channel_close(ch), 0);
	tp_seed_io_unbind(name);
	assert_int_equal(tp_seed_io_stats(name, &rd, &wr), -ENOENT);
	tp_sink_close(s);
}

/* The channel's block cache: a block read again, or read after it was
 * written, costs no read of the sink; what it returns is what the sink has. */
static void cached_blocks(void **state)
{
	struct tp_sink_file_opts o = { .size = DISK, .existing = true };
	struct tp_sink *s;
	io_channel ch;
	char name[32], a[4096], b[4096], w[4096];
	uint64_t rd, wr;

	(void)state;
	assert_int_equal(tp_sink_file_open(&s, disk, &o), 0);
	assert_int_equal(tp_seed_io_bind(s, BASE, FSSIZE, name, sizeof(name)), 0);
	assert_int_equal(tp_seed_io_manager->open(name, IO_FLAG_RW, &ch), 0);
	assert_int_equal(io_channel_set_blksize(ch, 4096), 0);
	assert_int_equal(io_channel_read_blk64(ch, 7, 1, a), 0);
	assert_int_equal(io_channel_read_blk64(ch, 7, 1, b), 0);
	assert_memory_equal(a, b, sizeof(a));
	assert_int_equal(tp_seed_io_stats(name, &rd, &wr), 0);
	assert_int_equal(rd, 4096);
	memset(w, 0x5a, sizeof(w));
	assert_int_equal(io_channel_write_blk64(ch, 9, 1, w), 0);
	assert_int_equal(io_channel_read_blk64(ch, 9, 1, b), 0);
	assert_memory_equal(w, b, sizeof(w));
	assert_int_equal(tp_seed_io_stats(name, &rd, &wr), 0);
	assert_int_equal(rd, 4096);
	/* Block 9 + 64 takes block 9's place: read from the sink, and 9 too. */
	assert_int_equal(io_channel_read_blk64(ch, 9 + 64, 1, b), 0);
	assert_int_equal(io_channel_read_blk64(ch, 9, 1, b), 0);
	assert_memory_equal(w, b, sizeof(w));
	assert_int_equal(tp_seed_io_stats(name, &rd, &wr), 0);
	assert_int_equal(rd, 3 * 4096);
	/* A byte write forgets the blocks it touches. */
	assert_int_equal(io_channel_write_blk64(ch, 9, -100, a), 0);
	assert_int_equal(io_channel_read_blk64(ch, 9, 1, b), 0);
	assert_memory_equal(a, b, 100);
	assert_memory_equal(w + 100, b + 100, sizeof(w) - 100);
	assert_int_equal(tp_seed_io_stats(name, &rd, &wr), 0);
	assert_int_equal(rd, 4 * 4096);
	/* Another block size starts afresh. */
	assert_int_equal(io_channel_set_blksize(ch, 1024), 0);
	assert_int_equal(io_channel_read_blk64(ch, 36, 1, b), 0);
	assert_memory_equal(a, b, 100); /* block 36 of 1 KiB is the start of block 9 of 4 KiB */
	assert_memory_equal(w + 100, b + 100, 1024 - 100);
	assert_int_equal(tp_seed_io_stats(name, &rd, &wr), 0);
	assert_int_equal(rd, 4 * 4096 + 1024);
	assert_int_equal(io_channel_close(ch), 0);
	tp_seed_io_unbind(name);
	tp_sink_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(open_change_close),
		cmocka_unit_test(out_of_range),
		cmocka_unit_test(cached_blocks),
	};

	return cmocka_run_group_tests_name("seed_io", tests, setup, teardown);
}
