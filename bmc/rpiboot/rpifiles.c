// SPDX-License-Identifier: MIT
/*
 * rpiboot's file sets (docs/twin.md, "CM4 firmware sets"): the set check
 * before any node is powered, and the lookup of each name the second stage
 * asks for, in usbboot's order, from the directory or from inside
 * bootfiles.bin (read with libarchive: a plain tar, usually 1.5 MB, whose
 * members are a few hundred KiB at most, so a member is read whole).
 */
#include "rpifiles.h"
#include "rpiboot_proto.h"
#include "common/err.h"

#ifdef CONFIG_TPKIT_ARCHIVE
#include <archive.h>
#include <archive_entry.h>
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* An archive member is read into memory: more than this is not firmware. */
#define MEMBER_MAX (64u << 20)

int tp_rpi_fw_parse(const char *s, enum tp_rpi_fw *fw)
{
	if (!s || !strcmp(s, "auto"))
		*fw = TP_RPI_FW_AUTO;
	else if (!strcmp(s, "msd"))
		*fw = TP_RPI_FW_MSD;
	else if (!strcmp(s, "gadget"))
		*fw = TP_RPI_FW_GADGET;
	else
		return -EINVAL;
	return 0;
}

const char *tp_rpi_fw_title(enum tp_rpi_fw fw)
{
	return fw == TP_RPI_FW_MSD ? "legacy msd" : fw == TP_RPI_FW_GADGET ?
	       "mass-storage-gadget64" : "auto";
}

static int open_plain(const char *path, struct tp_rpi_file *out)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -ENOENT; /* a directory or device is not a file to serve */
	}
	if (st.st_size > INT32_MAX) {
		close(fd);
		return tp_err_set(-EFBIG, "rpiboot: %s is over 2 GiB, more than the protocol's "
				  "signed 32-bit length", path);
	}
	out->fd = fd;
	out->size = (uint32_t)st.st_size;
	snprintf(out->from, sizeof(out->from), "%s", path);
	return 0;
}

#ifdef CONFIG_TPKIT_ARCHIVE
/* member (e.g. "2711/mcb.bin") of the tar at archive_path. -ENOENT if the
 * archive has no such member; an unreadable archive is an error. */
static int open_member(const char *archive_path, const char *member, struct tp_rpi_file *out)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	int rc = -ENOENT, r;

	if (!a)
		return tp_err_set(-ENOMEM, "out of memory");
	archive_read_support_format_tar(a);
	if (archive_read_open_filename(a, archive_path, 16384) != ARCHIVE_OK) {
		rc = tp_err_set(-EIO, "rpiboot: %s: %s", archive_path, archive_error_string(a));
		goto out;
	}
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		const char *p = archive_entry_pathname(e);
		la_int64_t size = archive_entry_size(e);

		if (!p || strcasecmp(p, member) || archive_entry_filetype(e) != AE_IFREG)
			continue;
		if (size < 0 || size > MEMBER_MAX) {
			rc = tp_err_set(-EFBIG, "rpiboot: %s:%s is %lld bytes, too large for firmware",
					archive_path, p, (long long)size);
			goto out;
		}
		out->data = malloc(size ? (size_t)size : 1);
		if (!out->data) {
			rc = tp_err_set(-ENOMEM, "out of memory");
			goto out;
		}
		if (archive_read_data(a, out->data, (size_t)size) != (la_ssize_t)size) {
			rc = tp_err_set(-EIO, "rpiboot: %s:%s: %s", archive_path, p,
					archive_error_string(a) ? archive_error_string(a) : "short read");
			free(out->data);
			out->data = NULL;
			goto out;
		}
		out->size = (uint32_t)size;
		snprintf(out->from, sizeof(out->from), "%s:%s", archive_path, p);
		rc = 0;
		goto out;
	}
	if (r != ARCHIVE_EOF)
		rc = tp_err_set(-EIO, "rpiboot: %s: %s", archive_path, archive_error_string(a));
out:
	archive_read_free(a);
	return rc;
}
#else
/* Built without libarchive (Kconfig TPKIT_ARCHIVE, the stock-image build):
 * bootfiles.bin is not opened, so its members are "not there"; the same
 * files extracted beside it (tar xf bootfiles.bin) are found by the
 * folder lookups that come first. */
static int open_member(const char *archive_path, const char *member, struct tp_rpi_file *out)
{
	(void)archive_path, (void)member, (void)out;
	return -ENOENT;
}
#endif

int tp_rpi_files_open(const struct tp_rpi_files *f, const char *name, struct tp_rpi_file *out)
{
	char p[TP_PATH_MAX + 300];
	int rc;

	memset(out, 0, sizeof(*out));
	out->fd = -1;
	if (!tp_rpi_name_ok(name))
		return -ENOENT;
	/* The chip's folder first: an override of the archive's copy. */
	snprintf(p, sizeof(p), "%s/%s/%s", f->dir, f->prefix, name);
	rc = open_plain(p, out);
	if (rc != -ENOENT)
		return rc;
	if (f->bootfiles[0] && access(f->bootfiles, F_OK) == 0) {
		snprintf(p, sizeof(p), "%s/%s", f->prefix, name);
		rc = open_member(f->bootfiles, p, out);
		if (rc != -ENOENT)
			return rc;
	}
	snprintf(p, sizeof(p), "%s/%s", f->dir, name);
	rc = open_plain(p, out);
	/* usbboot's msd/ holds the legacy firmware as start.elf and rpiboot
	 * serves it for start4.elf (its embedded copy): so does the msd set,
	 * from the directory, so that --rpiboot-dir can be usbboot's msd/. */
	if (rc == -ENOENT && f->fw == TP_RPI_FW_MSD && !strcmp(name, "start4.elf")) {
		snprintf(p, sizeof(p), "%s/start.elf", f->dir);
		rc = open_plain(p, out);
	}
	return rc == -ENOTDIR ? -ENOENT : rc;
}

ssize_t tp_rpi_file_read(const struct tp_rpi_file *rf, void *buf, size_t len, uint32_t off)
{
	ssize_t n;

	if (off >= rf->size)
		return 0;
	if (len > rf->size - off)
		len = rf->size - off;
	if (rf->data) {
		memcpy(buf, rf->data + off, len);
		return (ssize_t)len;
	}
	n = pread(rf->fd, buf, len, off);
	return n < 0 ? -errno : n;
}

void tp_rpi_file_close(struct tp_rpi_file *rf)
{
	if (rf->fd >= 0)
		close(rf->fd);
	free(rf->data);
	rf->fd = -1;
	rf->data = NULL;
}

/* What a set needs, in the order a user would fetch it. */
static const char *const gadget_needs[] = { "bootfiles.bin", "", "config.txt", "boot.img" };
static const char *const msd_needs[] = { "", "start4.elf" };

/*
 * The files of fw's set that f (filled in for fw) lacks, comma-separated,
 * then where they were looked for, into miss; how many. "" in a needs list
 * stands for the second stage (bootcode4.bin for 0x2711).
 */
static unsigned set_missing(const struct tp_rpi_files *f, const char *second,
			    char *miss, size_t len)
{
	const char *const *needs = f->fw == TP_RPI_FW_GADGET ? gadget_needs : msd_needs;
	size_t n = f->fw == TP_RPI_FW_GADGET ? 4 : 2, used;
	unsigned count = 0;

	miss[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		const char *name = needs[i][0] ? needs[i] : second;
		char what[TP_ERR_MAX];
		struct tp_rpi_file rf;
		int rc;

		if (!strcmp(name, "bootfiles.bin")) {
			struct stat st;

			if (stat(f->bootfiles, &st) == 0 && S_ISREG(st.st_mode) &&
			    access(f->bootfiles, R_OK) == 0)
				continue;
			snprintf(what, sizeof(what), "%s", name);
		} else {
			rc = tp_rpi_files_open(f, name, &rf);
			if (rc == 0)
				tp_rpi_file_close(&rf);
			if (rc == 0 && rf.size > 0)
				continue;
			if (rc < 0 && rc != -ENOENT)
				snprintf(what, sizeof(what), "%s (%s)", name, tp_err_msg());
			else
				snprintf(what, sizeof(what), "%s%s", name, rc == 0 ? " (empty)" : "");
		}
		used = strlen(miss);
		snprintf(miss + used, len - used, "%s%s", count ? ", " : "", what);
		count++;
	}
	used = strlen(miss);
	if (f->fw == TP_RPI_FW_GADGET)
		snprintf(miss + used, len - used, " (looked in %s/, %s/%s/ and %s's %s/)", f->dir,
			 f->dir, f->prefix, f->bootfiles, f->prefix);
	else
		snprintf(miss + used, len - used, " (looked in %s/ and %s/%s/; start.elf serves as "
			 "start4.elf, as in usbboot's msd/)", f->dir, f->dir, f->prefix);
	return count;
}

static void set_init(struct tp_rpi_files *f, const char *dir, enum tp_rpi_fw fw, uint16_t pid)
{
	snprintf(f->dir, sizeof(f->dir), "%s", dir);
	/* usbboot's folder per chip; only the 2711 is a CM4 (protocols.md §7.1). */
	snprintf(f->prefix, sizeof(f->prefix), "%s", pid == 0x2712 ? "2712" : "2711");
	f->fw = fw;
	if (fw == TP_RPI_FW_GADGET)
		snprintf(f->bootfiles, sizeof(f->bootfiles), "%s/bootfiles.bin", dir);
	else
		f->bootfiles[0] = '\0';
}

int tp_rpi_files_check(struct tp_rpi_files *f, const char *dir, enum tp_rpi_fw want,
		       uint16_t pid)
{
	const char *second = tp_rpi_second_stage(pid);
	char gmiss[TP_ERR_MAX / 2], mmiss[TP_ERR_MAX / 2];
	unsigned g = 0, m = 0;
	int rc = 0;

	if (!second)
		return tp_err_set(-EINVAL, "rpiboot: no second stage known for 0a5c:%04x", pid);
	if (want != TP_RPI_FW_MSD) {
		set_init(f, dir, TP_RPI_FW_GADGET, pid);
		g = set_missing(f, second, gmiss, sizeof(gmiss));
		if (!g)
			return 0;
	}
	if (want != TP_RPI_FW_GADGET) {
		set_init(f, dir, TP_RPI_FW_MSD, pid);
		m = set_missing(f, second, mmiss, sizeof(mmiss));
		if (!m)
			return 0;
	}
	/* Name the set asked for, or (auto) both. */
	if (want == TP_RPI_FW_GADGET)
		rc = tp_err_set(-ENOENT, "rpiboot: --cm4-firmware gadget: %s lacks %s; copy "
				"usbboot's mass-storage-gadget64/ (bootfiles.bin, config.txt) and "
				"its boot.img there, or pass --rpiboot-dir", dir, gmiss);
	else if (want == TP_RPI_FW_MSD)
		rc = tp_err_set(-ENOENT, "rpiboot: --cm4-firmware msd: %s lacks %s; copy usbboot's "
				"msd/ there (%s, and start.elf as start4.elf), or pass --rpiboot-dir",
				dir, mmiss, second);
	else
		rc = tp_err_set(-ENOENT, "rpiboot: %s holds no complete CM4 firmware set: "
				"mass-storage-gadget64 lacks %s; legacy msd lacks %s. Copy usbboot's "
				"mass-storage-gadget64/ (with its boot.img) or msd/ there, or pass "
				"--rpiboot-dir", dir, gmiss, mmiss);
	return rc;
}
