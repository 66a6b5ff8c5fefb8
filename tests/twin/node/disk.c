// SPDX-License-Identifier: MIT
/*
 * A node's disk as its boot loader sees it (docs/twin.md, "Nodes that
 * boot"): the partition table (GPT or MBR), the file system in a partition,
 * and one file read out of it.
 *
 * ext2/3/4 is read with libext2fs (e2fsprogs' own library: journal-free
 * reads of a clean image need nothing else, and symlinks such as
 * /boot/vmlinuz -> vmlinuz-6.1 resolve like the kernel does). FAT goes
 * through mtools' mcopy, run on the image at the partition's offset: a FAT
 * reader of our own would be more code than the rest of this file, and
 * mtools handles long names and FAT12/16/32 as the firmware does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ext2fs/ext2fs.h>
#include <glib.h>

#include "node.h"
#include "../twin_usb.h"

#define SECTOR	512u

static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return le32(p) | (uint64_t)le32(p + 4) << 32;
}

static int pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0) {		/* a short file reads as zeros */
			memset((char *)buf + done, 0, len - done);
			break;
		}
		done += (size_t)n;
	}
	return 0;
}

/* GPT: the header at LBA 1 says where the entries are; an entry with a
 * zero type GUID is unused. Attribute bit 2 is "legacy BIOS bootable",
 * the flag U-Boot's `part list -bootable` reads. */
static int twin_disk_gpt(int fd, const uint8_t *hdr, struct twin_part *p,
			 unsigned max, unsigned *n)
{
	uint64_t lba = le64(hdr + 72);
	uint32_t count = le32(hdr + 80), size = le32(hdr + 84);
	static const uint8_t zero[16];

	if (size < 128 || size > 4096 || count > 1024)
		return -EINVAL;
	for (uint32_t i = 0; i < count && *n < max; i++) {
		uint8_t e[128];
		int rc = pread_all(fd, e, sizeof(e), lba * SECTOR + (uint64_t)i * size);

		if (rc)
			return rc;
		if (!memcmp(e, zero, 16))
			continue;
		p[*n].num = i + 1;
		p[*n].start = le64(e + 32) * SECTOR;
		p[*n].size = (le64(e + 40) - le64(e + 32) + 1) * SECTOR;
		p[*n].bootable = le64(e + 48) & 4;
		(*n)++;
	}
	return 0;
}

/* MBR: four primary entries; extended partitions are not followed. */
static void twin_disk_mbr(const uint8_t *s, struct twin_part *p, unsigned max,
			  unsigned *n)
{
	for (unsigned i = 0; i < 4 && *n < max; i++) {
		const uint8_t *e = s + 446 + 16 * i;
		uint8_t type = e[4];

		if (!type || type == 0x05 || type == 0x0f || type == 0x85 ||
		    !le32(e + 12))
			continue;
		p[*n].num = i + 1;
		p[*n].start = (uint64_t)le32(e + 8) * SECTOR;
		p[*n].size = (uint64_t)le32(e + 12) * SECTOR;
		p[*n].bootable = e[0] & 0x80;
		(*n)++;
	}
}

int twin_disk_parts(const char *img, struct twin_part *p, unsigned max,
		    unsigned *n, const char **table)
{
	uint8_t s[2 * SECTOR];
	int fd = open(img, O_RDONLY | O_CLOEXEC), rc;

	*n = 0;
	*table = NULL;
	if (fd < 0)
		return -errno;
	rc = pread_all(fd, s, sizeof(s), 0);
	if (!rc && !memcmp(s + SECTOR, "EFI PART", 8)) {
		*table = "GPT";
		rc = twin_disk_gpt(fd, s + SECTOR, p, max, n);
	} else if (!rc && s[510] == 0x55 && s[511] == 0xaa) {
		*table = "MBR";
		twin_disk_mbr(s, p, max, n);
	}
	close(fd);
	return rc;
}

enum twin_fs twin_disk_fs(const char *img, const struct twin_part *p)
{
	uint8_t b[2048];
	int fd = open(img, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0)
		return TWIN_FS_NONE;
	rc = pread_all(fd, b, sizeof(b), p->start);
	close(fd);
	if (rc)
		return TWIN_FS_NONE;
	if (b[1024 + 56] == 0x53 && b[1024 + 57] == 0xef)	/* s_magic */
		return TWIN_FS_EXT;
	if (b[510] == 0x55 && b[511] == 0xaa &&
	    (!memcmp(b + 54, "FAT", 3) || !memcmp(b + 82, "FAT32", 5)))
		return TWIN_FS_FAT;
	return TWIN_FS_NONE;
}

static int twin_disk_ext_copy(const char *img, const struct twin_part *p,
			      const char *path, int out, char *err, size_t len)
{
	char opts[48];
	ext2_filsys fs = NULL;
	ext2_file_t f = NULL;
	struct ext2_inode inode;
	ext2_ino_t ino;
	errcode_t e;
	int rc = 0;

	snprintf(opts, sizeof(opts), "offset=%llu", (unsigned long long)p->start);
	e = ext2fs_open2(img, opts, 0, 0, 0, unix_io_manager, &fs);
	if (!e)
		e = ext2fs_namei_follow(fs, EXT2_ROOT_INO, EXT2_ROOT_INO, path, &ino);
	if (!e)
		e = ext2fs_read_inode(fs, ino, &inode);
	if (!e && !LINUX_S_ISREG(inode.i_mode))
		e = EXT2_ET_FILE_NOT_FOUND;
	if (!e)
		e = ext2fs_file_open(fs, ino, 0, &f);
	while (!e) {
		char buf[65536];
		unsigned int got = 0;

		e = ext2fs_file_read(f, buf, sizeof(buf), &got);
		if (e || !got)
			break;
		for (unsigned int done = 0; done < got;) {
			ssize_t w = write(out, buf + done, got - done);

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				rc = -errno;
				snprintf(err, len, "%s", g_strerror(errno));
				goto out;
			}
			done += (unsigned int)w;
		}
	}
	if (e) {
		rc = e == EXT2_ET_FILE_NOT_FOUND ? -ENOENT : -EIO;
		snprintf(err, len, "%s", rc == -ENOENT ? "no such file" :
			 error_message(e));
	}
out:
	if (f)
		ext2fs_file_close(f);
	if (fs)
		ext2fs_close_free(&fs);
	return rc;
}

static int twin_disk_fat_copy(const char *img, const struct twin_part *p,
			      const char *path, const char *dest, char *err,
			      size_t len)
{
	char *target = g_strdup_printf("%s@@%llu", img, (unsigned long long)p->start);
	char *src = g_strconcat("::", path[0] == '/' ? path + 1 : path, NULL);
	char *argv[] = { "mcopy", "-n", "-i", target, src, (char *)dest, NULL };
	char **env = g_environ_setenv(twin_usb_tool_env(), "MTOOLS_SKIP_CHECK", "1", TRUE);
	char *errout = NULL;
	GError *ge = NULL;
	gint status = 0;
	int rc = 0, null = twin_devnull(), efd = -1;
	GPid pid;

	/* stdin and stdout /dev/null, opened here (twin_devnull()); stderr
	 * read for the reason. */
	if (null < 0) {
		snprintf(err, len, "mcopy: cannot open /dev/null");
		rc = -EIO;
	} else if (!g_spawn_async_with_pipes_and_fds(NULL, (const char *const *)argv,
						     (const char *const *)env,
						     G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD,
						     NULL, NULL, null, null, -1, NULL, NULL, 0, &pid,
						     NULL, NULL, &efd, &ge)) {
		snprintf(err, len, "mcopy: %s", ge->message);
		g_error_free(ge);
		rc = -ENOEXEC;
	} else {
		errout = twin_read_all(efd);
		close(efd);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	if (null >= 0)
		close(null);
	if (rc) {
		/* said above */
	} else if (!g_spawn_check_wait_status(status, NULL)) {
		/* mcopy says "File ... not found" for a missing file. */
		rc = errout && strstr(errout, "not found") ? -ENOENT : -EIO;
		snprintf(err, len, "%s", rc == -ENOENT ? "no such file" :
			 errout ? g_strstrip(errout) : "mcopy failed");
	}
	g_free(errout);
	g_strfreev(env);
	g_free(src);
	g_free(target);
	return rc;
}

/* PATH (absolute in the partition) into the new file DEST. */
int twin_disk_copy(const char *img, const struct twin_part *p,
		   const char *path, const char *dest, char *err, size_t len)
{
	enum twin_fs fs = twin_disk_fs(img, p);
	int out, rc;

	if (fs == TWIN_FS_FAT) {
		unlink(dest);
		return twin_disk_fat_copy(img, p, path, dest, err, len);
	}
	if (fs != TWIN_FS_EXT) {
		snprintf(err, len, "no file system the loader reads");
		return -ENOENT;
	}
	out = open(dest, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0) {
		snprintf(err, len, "%s: %s", dest, g_strerror(errno));
		return -errno;
	}
	rc = twin_disk_ext_copy(img, p, path, out, err, len);
	if (close(out) && !rc) {
		rc = -errno;
		snprintf(err, len, "%s: %s", dest, g_strerror(errno));
	}
	return rc;
}
