// SPDX-License-Identifier: MIT
/*
 * Writing files into an unmounted ext4 (bmc/seed/seedfs_write.c), checked by
 * e2fsprogs' own tools: e2fsck finds the file system clean, debugfs reads
 * back every file, mode, owner and symlink. The file system is made by
 * mke2fs -d from a tree shaped like an Ubuntu root (/lib a link to usr/lib,
 * /etc/resolv.conf a link).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmc/seed/seedfs.h"
#include "common/err.h"
#include "common/sink_file.h"

#define FSSIZE (32u * 1024u * 1024u)

static char dir[64], img[128];

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

/* debugfs's answer to one request, in a file: grep it. */
static int dbg(const char *req, const char *pattern)
{
	return run("/sbin/debugfs -R '%s' %s 2>/dev/null | grep -Eq -- '%s'", req, img, pattern);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/tp-seedfs.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(img, sizeof(img), "%s/root.img", dir);
	assert_int_equal(run("cd %s && mkdir -p tree/usr/lib/systemd/system tree/etc/systemd/system "
			     "tree/run/systemd/resolve && ln -s usr/lib tree/lib && "
			     "echo image >tree/etc/hostname && "
			     "ln -s ../run/systemd/resolve/stub-resolv.conf tree/etc/resolv.conf && "
			     "/sbin/mke2fs -q -F -t ext4 -d tree %s %uk >/dev/null",
			     dir, img, FSSIZE / 1024), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	run("rm -rf %s", dir);
	return 0;
}

static struct tp_seedfs *open_fs(struct tp_sink **s)
{
	struct tp_sink_file_opts o = { .size = FSSIZE, .existing = true };
	struct tp_seedfs *f;

	assert_int_equal(tp_sink_file_open(s, img, &o), 0);
	assert_int_equal(tp_seedfs_open(*s, 0, FSSIZE, &f), 0);
	return f;
}

static void seed_files(void **state)
{
	static const char unit[] = "[Unit]\nDescription=tpkit node helper\n";
	struct tp_sink *s;
	struct tp_seedfs *f = open_fs(&s);
	size_t big = 3u << 20;
	char *blob = malloc(big), path[64], uuid[37];

	(void)state;
	assert_non_null(blob);
	for (size_t i = 0; i < big; i++)
		blob[i] = (char)(i * 7 + i / 4096);
	/* Replace a file, make deep directories, a big file, a file through
	 * the /lib link, an enable link, a link replaced by a file. */
	assert_int_equal(tp_seedfs_write(f, "/etc/hostname", "node-1\n", 7, 0644, 0, 0), 0);
	assert_int_equal(tp_seedfs_mkdir(f, "/var/lib/cloud/seed/nocloud", 0755, 0, 0), 0);
	assert_int_equal(tp_seedfs_mkdir(f, "/home/admin/.ssh", 0700, 1000, 1000), 0);
	assert_int_equal(tp_seedfs_write(f, "/home/admin/.ssh/authorized_keys", "ssh-ed25519 AAAA x\n",
					 19, 0600, 1000, 1000), 0);
	assert_int_equal(tp_seedfs_mkdir(f, "/usr/local/sbin", 0755, 0, 0), 0);
	assert_int_equal(tp_seedfs_write(f, "/usr/local/sbin/tpkit-node", blob, big, 0755, 0, 0), 0);
	assert_int_equal(tp_seedfs_write(f, "/lib/systemd/system/tpkit-node.service", unit,
					 strlen(unit), 0644, 0, 0), 0);
	assert_int_equal(tp_seedfs_mkdir(f, "/etc/systemd/system/multi-user.target.wants", 0755, 0,
					 0), 0);
	assert_int_equal(tp_seedfs_symlink(f, "/etc/systemd/system/multi-user.target.wants/"
					   "tpkit-node.service",
					   "/lib/systemd/system/tpkit-node.service"), 0);
	assert_int_equal(tp_seedfs_write(f, "/etc/resolv.conf", "nameserver 10.0.0.1\n", 20, 0644,
					 0, 0), 0);
	/* Enough names to make a directory grow past its first block. */
	assert_int_equal(tp_seedfs_mkdir(f, "/etc/many", 0755, 0, 0), 0);
	for (int i = 0; i < 300; i++) {
		snprintf(path, sizeof(path), "/etc/many/file-with-a-longish-name-%03d", i);
		assert_int_equal(tp_seedfs_write(f, path, "x", 1, 0644, 0, 0), 0);
	}
	/* Rewritten smaller: the big file's old blocks go back. */
	assert_int_equal(tp_seedfs_write(f, "/usr/local/sbin/tpkit-node", blob, 4096, 0755, 0, 0),
			 0);
	assert_int_equal(tp_seedfs_write(f, "/usr/local/sbin/tpkit-node", blob, big, 0755, 0, 0), 0);
	/* Mistakes: a missing directory, a directory in the way. */
	assert_int_equal(tp_seedfs_write(f, "/nowhere/x", "x", 1, 0644, 0, 0), -ENOENT);
	assert_non_null(strstr(tp_err_msg(), "the directory of /nowhere/x"));
	assert_int_equal(tp_seedfs_write(f, "/etc/many", "x", 1, 0644, 0, 0), -EISDIR);
	assert_int_equal(tp_seedfs_write(f, "relative", "x", 1, 0644, 0, 0), -EINVAL);
	tp_seedfs_uuid(f, uuid);
	assert_int_equal(strlen(uuid), 36);
	assert_int_equal(tp_seedfs_close(f), 0);
	tp_sink_close(s);

	assert_int_equal(run("/sbin/e2fsck -fn %s >%s/fsck.log 2>&1 || { cat %s/fsck.log; false; }",
			     img, dir, dir), 0);
	assert_int_equal(run("/sbin/blkid -o value -s UUID %s | grep -qx %s", img, uuid), 0);
	assert_int_equal(dbg("cat /etc/hostname", "^node-1$"), 0);
	assert_int_equal(dbg("stat /home/admin/.ssh", "Mode: +0700"), 0);
	assert_int_equal(dbg("stat /home/admin/.ssh/authorized_keys", "User: +1000 +Group: +1000"), 0);
	assert_int_equal(dbg("stat /home/admin/.ssh/authorized_keys", "Mode: +0600"), 0);
	assert_int_equal(dbg("stat /usr/local/sbin/tpkit-node", "Mode: +0755"), 0);
	assert_int_equal(dbg("stat /usr/local/sbin/tpkit-node", "Size: 3145728"), 0);
	assert_int_equal(run("/sbin/debugfs -R 'dump /usr/local/sbin/tpkit-node %s/node.out' %s "
			     "2>/dev/null", dir, img), 0);
	{
		FILE *o;
		char *back = malloc(big);
		char p[128];

		snprintf(p, sizeof(p), "%s/node.out", dir);
		o = fopen(p, "rb");
		assert_non_null(o);
		assert_non_null(back);
		assert_int_equal(fread(back, 1, big, o), big);
		fclose(o);
		assert_memory_equal(back, blob, big);
		free(back);
	}
	assert_int_equal(dbg("cat /usr/lib/systemd/system/tpkit-node.service", "^Description=tpkit"),
			 0);
	assert_int_equal(dbg("stat /etc/systemd/system/multi-user.target.wants/tpkit-node.service",
			     "Fast link dest: \"/lib/systemd/system/tpkit-node.service\""), 0);
	assert_int_equal(dbg("stat /etc/resolv.conf", "Type: regular"), 0);
	assert_int_equal(dbg("cat /etc/many/file-with-a-longish-name-299", "^x$"), 0);
	assert_int_equal(dbg("ls -l /var/lib/cloud/seed", "nocloud"), 0);
	free(blob);
}

/* A streamed file's source: a pattern in memory, handed out in odd-sized
 * pieces so that the chunks do not line up with blocks. */
struct pat {
	const unsigned char *d;
	size_t len, at;
};

static int pat_fill(void *cookie, void *buf, size_t size, size_t *got)
{
	struct pat *p = cookie;
	size_t n = p->len - p->at;

	if (n > size)
		n = size;
	if (n > 300000)
		n = 300000;
	memcpy(buf, p->d + p->at, n);
	p->at += n;
	*got = n;
	return 0;
}

static int pat_check(void *cookie, const void *buf, size_t len)
{
	struct pat *p = cookie;

	if (len > p->len - p->at || memcmp(buf, p->d + p->at, len))
		return -EIO;
	p->at += len;
	return 0;
}

/*
 * tp_seedfs_write_from on a fragmented file system: a root nearly filled by
 * 16 KiB files, every other one removed, so the streamed file's blocks
 * come in hundreds of pieces and its extent tree has index blocks (depth
 * 1). e2fsck finds it clean, debugfs reads the same bytes, and
 * tp_seedfs_read_each hands them back in order.
 */
static void streamed_fragmented(void **state)
{
	const size_t len = 6u * 1024 * 1024 + 1234;
	unsigned char *d = malloc(len);
	struct tp_seedfs_stat st;
	struct tp_sink *s;
	struct tp_seedfs *f;
	struct pat p = { .len = len };
	char saved[128];

	(void)state;
	assert_non_null(d);
	for (size_t i = 0; i < len; i++)
		d[i] = (unsigned char)(i * 2654435761u >> 13);
	p.d = d;
	snprintf(saved, sizeof(saved), "%s", img);
	snprintf(img, sizeof(img), "%s/frag.img", dir);
	assert_int_equal(run("cd %s && rm -rf ftree && mkdir -p ftree/f && yes tpkit | head -c "
			     "%u | split -b 16384 -a 4 -d - ftree/f/ && /sbin/mke2fs -q -F -t ext4 "
			     "-b 4096 -d ftree frag.img %uk >/dev/null && seq -f 'rm /f/%%04g' 0 2 1398 "
			     ">rm.cmd && /sbin/debugfs -w -f rm.cmd frag.img >/dev/null 2>&1", dir,
			     1400u * 16384u, FSSIZE / 1024), 0);
	f = open_fs(&s);
	assert_int_equal(tp_seedfs_mkdir(f, "/var/lib/tpkit-node/k3s", 0700, 0, 0), 0);
	if (tp_seedfs_write_from(f, "/var/lib/tpkit-node/k3s/k3s", len, pat_fill, &p, 0755, 0,
				 0) < 0)
		fail_msg("write_from: %s", tp_err_msg());
	assert_int_equal(tp_seedfs_close(f), 0);
	tp_sink_close(s);
	assert_int_equal(run("/sbin/e2fsck -fn %s >%s/fsck.log 2>&1 || { cat %s/fsck.log; false; }",
			     img, dir, dir), 0);
	/* Index blocks: the tree has a level below the inode. */
	assert_int_equal(dbg("dump_extents /var/lib/tpkit-node/k3s/k3s", "^ *1/ *1 "), 0);
	assert_int_equal(run("cd %s && /sbin/debugfs -R 'dump /var/lib/tpkit-node/k3s/k3s k3s.out' "
			     "frag.img 2>/dev/null && test $(stat -c %%s k3s.out) = %zu", dir, len), 0);
	{
		FILE *in;
		char path[200];
		unsigned char *back = malloc(len);

		snprintf(path, sizeof(path), "%s/k3s.out", dir);
		assert_non_null(back);
		assert_non_null(in = fopen(path, "rb"));
		assert_int_equal(fread(back, 1, len, in), len);
		fclose(in);
		assert_memory_equal(back, d, len);
		free(back);
	}
	assert_int_equal(dbg("stat /var/lib/tpkit-node/k3s/k3s", "Mode: +0755 "), 0);
	/* Read back in chunks, in order. */
	f = open_fs(&s);
	p.at = 0;
	assert_int_equal(tp_seedfs_read_each(f, "/var/lib/tpkit-node/k3s/k3s", &st, pat_check, &p),
			 0);
	assert_int_equal(p.at, len);
	assert_int_equal(st.size, len);
	/* A source shorter than announced is an error, not a file with a tail of zeros. */
	p.at = 0;
	p.len = len - 5000;
	assert_int_equal(tp_seedfs_write_from(f, "/var/lib/tpkit-node/k3s/short", len, pat_fill, &p,
					      0644, 0, 0), -EIO);
	assert_non_null(strstr(tp_err_msg(), "the source of /var/lib/tpkit-node/k3s/short ended at "
			       "byte"));
	tp_seedfs_close(f);
	tp_sink_close(s);
	snprintf(img, sizeof(img), "%s", saved);
	free(d);
}

static void not_ext4(void **state)
{
	struct tp_sink_file_opts o = { .size = FSSIZE, .existing = true };
	struct tp_sink *s;
	struct tp_seedfs *f;

	(void)state;
	/* The same disk, but 1 MiB in: no superblock there. */
	assert_int_equal(tp_sink_file_open(&s, img, &o), 0);
	assert_int_equal(tp_seedfs_open(s, 1u << 20, FSSIZE - (1u << 20), &f), -EIO);
	assert_non_null(strstr(tp_err_msg(), "the ext4 file system at byte 1048576 of"));
	assert_non_null(strstr(tp_err_msg(), "cannot open it for seeding"));
	tp_sink_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(seed_files),
		cmocka_unit_test(not_ext4),
		cmocka_unit_test(streamed_fragmented),
	};

	return cmocka_run_group_tests_name("seed_fs", tests, setup, teardown);
}
