// SPDX-License-Identifier: MIT
/*
 * Writing files into an unmounted ext4 (bmc/seed/seedfs.c), checked by
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
	};

	return cmocka_run_group_tests_name("seed_fs", tests, setup, teardown);
}
