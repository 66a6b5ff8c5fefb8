// SPDX-License-Identifier: MIT
/*
 * The eMMC → NVMe migration (docs/node-helper.md §15): the NVMe gets the
 * eMMC's layout with fresh GUIDs (migrate_plan.c), a new root file system
 * with a new UUID, a copy of the running root and, last, its boot
 * configuration; then the eMMC's seed is blanked and the node
 * reboots into the NVMe, which the RK1's U-Boot scans before the eMMC
 * (commissioning.md §5.1). Until the boot configuration is written the
 * NVMe is not bootable, so a failure anywhere before it leaves the eMMC
 * system booting as it did.
 *
 * What survives a crash is a small state file beside the journal: the
 * GPT disk GUID the helper writes (so an NVMe holding that table is known
 * as ours, and anything else as a user's, never wiped), and how far the
 * work got (ready: the NVMe is complete; reboot: the reboot was asked for).
 */
#define _GNU_SOURCE
#include "node/migrate.h"
#include "node/node.h"

#include "common/atomic.h"
#include "common/err.h"
#include "common/kvconf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define STEP "migrate"
#define NVME_DISK "/dev/nvme0n1"
#define NVME_SYS "/sys/block/nvme0n1"
#define STATE_FILE TP_JOURNAL_DIR "/migrate"
#define WORK "/run/tpkit-node"
#define MNT_ROOT WORK "/nvme"

static const char *const mounts[] = { MNT_ROOT };

struct mig {
	struct tp_node_ctx *c;
	struct tp_migrate_state st;
	char disk[64];            /* the eMMC, /dev/mmcblk0 */
	unsigned root_no;         /* the running root's partition on it */
	unsigned seed_no;         /* the seed's, 0 if none */
	unsigned nvme_root;       /* the root's number on the NVMe */
	struct tp_parttable emmc;
	char label[17];           /* the eMMC root's ext4 label */
	uint64_t nvme_bytes;
	unsigned sector;
	char plan[2048];
	char root_uuid[37];       /* the new root file system's */
};

static void progress(struct mig *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void progress(struct mig *m, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	tp_node_report(m->c->rep, STEP, "progress", "%s", text);
}

static int rooted(char *buf, size_t size, const char *path)
{
	return tp_path(buf, size, "%s", path) < 0
		       ? tp_err_set(-ENAMETOOLONG, "path too long: %s", path)
		       : 0;
}

/* len bytes at off of a file under the root (a disk, in tests a sparse file). */
static int read_at(const char *path, uint64_t off, void *buf, size_t len)
{
	char p[TP_PATH_MAX];
	ssize_t n;
	int fd, rc;

	if ((rc = rooted(p, sizeof(p), path)) < 0)
		return rc;
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return tp_err_set(-errno, "cannot open %s: %s", p, strerror(errno));
	n = pread(fd, buf, len, (off_t)off);
	rc = n < 0 ? -errno : 0;
	close(fd);
	if (rc < 0)
		return tp_err_set(rc, "cannot read %s: %s", p, strerror(-rc));
	if ((size_t)n < len)
		memset((char *)buf + n, 0, len - (size_t)n);
	return 0;
}

static int read_u64(const char *path, uint64_t *v)
{
	char text[64], *end;
	ssize_t n = tp_file_read(path, text, sizeof(text));

	if (n < 0)
		return (int)n;
	errno = 0;
	*v = strtoull(text, &end, 10);
	if (errno || end == text || (*end && *end != '\n'))
		return tp_err_set(-EINVAL, "%s: not a number", path);
	return 0;
}

static void random_bytes(void *ctx, uint8_t out[16])
{
	const uint8_t *first = ctx ? *(const uint8_t **)ctx : NULL;

	/* The first GUID of a plan is its disk GUID: a resumed migration
	 * keeps the one in the state file, so an NVMe an interrupted run
	 * wrote is still recognised as ours if this run stops early too. */
	if (first) {
		memcpy(out, first, 16);
		*(const uint8_t **)ctx = NULL;
		return;
	}
	for (size_t got = 0; got < 16;) {
		ssize_t n = getrandom(out + got, 16 - got, 0);

		if (n > 0)
			got += (size_t)n;
		else if (errno != EINTR)
			abort(); /* getrandom() fails only on a bad argument */
	}
}

/* ---- the state file ------------------------------------------------------- */

int tp_migrate_state_read(struct tp_migrate_state *st)
{
	struct tp_kvconf kv;
	char p[TP_PATH_MAX];
	const char *v;
	int rc;

	memset(st, 0, sizeof(*st));
	if ((rc = rooted(p, sizeof(p), STATE_FILE)) < 0)
		return rc;
	rc = tp_kvconf_read(&kv, p);
	if (rc == -ENOENT) {
		tp_err_clear();
		return 0;
	}
	if (rc < 0)
		return rc;
	if ((v = tp_kvconf_get(&kv, "label_id")))
		snprintf(st->label_id, sizeof(st->label_id), "%s", v);
	if ((v = tp_kvconf_get(&kv, "stage")))
		snprintf(st->stage, sizeof(st->stage), "%s", v);
	if ((v = tp_kvconf_get(&kv, "root_uuid")))
		snprintf(st->root_uuid, sizeof(st->root_uuid), "%s", v);
	tp_kvconf_free(&kv);
	if (*st->label_id && tp_guid_parse(st->label_id, st->label_bytes) < 0)
		return tp_err_set(-EINVAL, "%s: label_id is not a GUID", p);
	return 0;
}

static int state_write(const struct tp_migrate_state *st)
{
	char p[TP_PATH_MAX], dir[TP_PATH_MAX], text[192];
	int rc, n;

	if ((rc = rooted(p, sizeof(p), STATE_FILE)) < 0 ||
	    (rc = rooted(dir, sizeof(dir), TP_JOURNAL_DIR)) < 0)
		return rc;
	if ((rc = tp_dir_make(dir, 0700, 0)) < 0)
		return rc;
	n = snprintf(text, sizeof(text), "label_id=%s\nstage=%s\n%s%s%s", st->label_id, st->stage,
		     *st->root_uuid ? "root_uuid=" : "", st->root_uuid, *st->root_uuid ? "\n" : "");
	return tp_file_write_atomic(p, text, (size_t)n, 0600);
}

/* ---- is the NVMe empty, ours, or someone's? ------------------------------- */

/* The NVMe's GPT disk GUID (header at LBA 1, in its logical sectors), or
 * 0 when it has no GPT header. */
static int nvme_disk_guid(unsigned sector, uint8_t g[16])
{
	uint8_t hdr[92];
	int rc = read_at(NVME_DISK, sector, hdr, sizeof(hdr));

	if (rc < 0)
		return rc;
	if (memcmp(hdr, "EFI PART", 8))
		return 0;
	memcpy(g, hdr + 56, 16);
	return 1;
}

static int nvme_sector(unsigned *sector)
{
	uint64_t v;
	int rc = read_u64(NVME_SYS "/queue/logical_block_size", &v);

	if (rc < 0)
		return rc;
	*sector = (unsigned)v;
	return 0;
}

int tp_migrate_check(struct tp_node_ctx *c, char *why, size_t size)
{
	const char *list[] = { "wipefs", "--noheadings", "--output", "TYPE", NVME_DISK, NULL };
	struct tp_migrate_state st;
	struct tp_run_result res;
	char sigs[512];
	uint8_t g[16];
	unsigned sector;
	int rc;

	if ((rc = tp_migrate_state_read(&st)) < 0)
		return rc;
	/* The root is not on the NVMe (the caller checked): a reboot into it
	 * was asked for and the eMMC booted instead. */
	if (!strcmp(st.stage, "reboot"))
		return tp_err_set(-EIO, "the NVMe did not boot; the node runs from the eMMC");
	/* libblkid's probe, as wipefs -a would see the disk: partition tables
	 * and file systems on the whole device. */
	if ((rc = tp_node_run_out(list, sigs, sizeof(sigs), &res)) < 0)
		return rc;
	if (res.status)
		return tp_err_set(-EIO, "wipefs %s: exit %d%s%s", NVME_DISK, res.status,
				  *res.tail ? ": " : "", res.tail);
	for (char *p = sigs; *p; p++)
		if (*p == '\n')
			*p = p[1] ? ',' : '\0';
	if (!*sigs)
		return 0;
	if ((rc = nvme_sector(&sector)) < 0)
		return rc;
	rc = nvme_disk_guid(sector, g);
	if (rc < 0)
		return rc;
	if (rc == 1 && *st.label_id && !memcmp(g, st.label_bytes, 16))
		return 0;
	if (!strcmp(c->conf->nvme, "required"))
		return tp_err_set(-EEXIST, "nvme=required, but the NVMe holds %s, not written by "
				  "tpkit-node: left untouched (wipefs -a %s to give it to "
				  "tpkit-node)", sigs, NVME_DISK);
	snprintf(why, size, "not applicable: the NVMe holds %s, not written by tpkit-node: "
		 "left untouched", sigs);
	return 1;
}

/* ---- 1. what there is, and the plan --------------------------------------- */

/* /dev/mmcblk0p2 -> /dev/mmcblk0 and 2. */
static int split_source(struct mig *m, const char *src)
{
	size_t n = strlen(src), d = n;

	while (d && src[d - 1] >= '0' && src[d - 1] <= '9')
		d--;
	if (strncmp(src, "/dev/mmcblk", 11) || d == n || d < 2 || src[d - 1] != 'p' ||
	    d - 1 >= sizeof(m->disk))
		return tp_err_set(-EINVAL, "the root is on %s, not an eMMC partition "
				  "(/dev/mmcblkNpN)", src);
	memcpy(m->disk, src, d - 1);
	m->disk[d - 1] = '\0';
	m->root_no = (unsigned)strtoul(src + d, NULL, 10);
	return 0;
}

/* The root and at most one FAT seed beside it: anything else would get an
 * empty partition on the NVMe, so it is refused rather than lost. */
static int find_parts(struct mig *m)
{
	for (unsigned i = 0; i < m->emmc.n; i++) {
		const struct tp_part *p = &m->emmc.p[i];

		if (p->index == m->root_no) {
			m->nvme_root = i + 1;
			continue;
		}
		if (p->use != TP_PT_USE_FAT || m->seed_no)
			return tp_err_set(-EINVAL, "the eMMC's partition %u is neither the root "
					  "nor the seed: the migration would not copy it",
					  p->index);
		m->seed_no = p->index;
	}
	return 0;
}

static int read_emmc(struct mig *m)
{
	static uint8_t head[1024 * 1024];
	uint8_t sb[1024];
	const struct tp_part *root = NULL;
	int rc;

	if ((rc = read_at(m->disk, 0, head, sizeof(head))) < 0)
		return rc;
	if ((rc = tp_parttable_parse(head, sizeof(head), &m->emmc)) < 0)
		return rc;
	if (m->emmc.kind != TP_PT_GPT)
		return tp_err_set(-EINVAL, "%s has no GPT", m->disk);
	for (unsigned i = 0; i < m->emmc.n; i++)
		if (m->emmc.p[i].index == m->root_no)
			root = &m->emmc.p[i];
	if (!root)
		return tp_err_set(-EINVAL, "%s has no partition %u, the running root's", m->disk,
				  m->root_no);
	if ((rc = find_parts(m)) < 0)
		return rc;
	if ((rc = read_at(m->disk, root->first_lba * TP_PT_SECTOR + 1024, sb, sizeof(sb))) < 0)
		return rc;
	if (tp_ext4_label(sb, m->label) < 0)
		return tp_err_set(-EINVAL, "%sp%u, the root, is not ext4", m->disk, m->root_no);
	return 0;
}

static int read_nvme(struct mig *m)
{
	uint64_t sectors;
	int rc;

	/* /sys/block/X/size counts 512-byte units whatever the device's
	 * sector size (the kernel's block layer unit). */
	if ((rc = read_u64(NVME_SYS "/size", &sectors)) < 0 || (rc = nvme_sector(&m->sector)) < 0)
		return rc;
	m->nvme_bytes = sectors * 512;
	return 0;
}

/* A fresh file system UUID (version 4), as mkfs.ext4 -U takes it. */
static void fresh_uuid(char out[37])
{
	uint8_t u[16];

	random_bytes(NULL, u);
	u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
	u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
		 u[13], u[14], u[15]);
}

static int make_plan(struct mig *m)
{
	const uint8_t *first = *m->st.label_id ? m->st.label_bytes : NULL;
	const char *id;
	int rc;

	rc = tp_migrate_plan(&m->emmc, m->root_no, m->nvme_bytes, m->sector, random_bytes,
			     &first, m->plan, sizeof(m->plan));
	if (rc < 0)
		return rc;
	id = strstr(m->plan, "label-id: ");
	if (!id || sscanf(id + 10, "%36s", m->st.label_id) != 1 ||
	    tp_guid_parse(m->st.label_id, m->st.label_bytes) < 0)
		return tp_err_set(-EINVAL, "the plan has no label-id");
	return 0;
}

/* ---- commands ------------------------------------------------------------- */

#define RUN(...) tp_node_run_ok((const char *const[]){ __VA_ARGS__, NULL })

/* Unmount what an interrupted run left mounted (a kill -9 in rsync). */
static int unmount_ours(void)
{
	char text[65536];
	ssize_t n = tp_file_read("/proc/self/mountinfo", text, sizeof(text));

	if (n < 0)
		return (int)n;
	for (size_t i = 0; i < sizeof(mounts) / sizeof(mounts[0]); i++) {
		char pat[128];
		int rc;

		snprintf(pat, sizeof(pat), " %s ", mounts[i]);
		if (strstr(text, pat) && (rc = RUN("umount", "-R", mounts[i])) < 0)
			return rc;
	}
	return 0;
}

static int wait_nodes(struct mig *m)
{
	int rc = RUN("udevadm", "settle");

	if (rc < 0)
		return rc;
	for (unsigned i = 1; i <= m->emmc.n; i++) {
		char dev[64], p[TP_PATH_MAX];
		struct stat st;

		snprintf(dev, sizeof(dev), "%sp%u", NVME_DISK, i);
		if ((rc = rooted(p, sizeof(p), dev)) < 0)
			return rc;
		if (stat(p, &st) < 0)
			return tp_err_set(-ENODEV, "sfdisk wrote the table, but %s did not "
					  "appear after udevadm settle", dev);
	}
	return 0;
}

static int table(struct mig *m)
{
	const char *sf[] = { "sfdisk", "--quiet", "--wipe", "always", "--wipe-partitions",
			     "always", NVME_DISK, NULL };
	int rc;

	if ((rc = RUN("wipefs", "-a", NVME_DISK)) < 0 || (rc = tp_node_run_ok_in(sf, m->plan)) < 0)
		return rc;
	return wait_nodes(m);
}

static int mount_dir(const char *dir)
{
	char p[TP_PATH_MAX];
	int rc = rooted(p, sizeof(p), dir);

	return rc < 0 ? rc : tp_dir_make(p, 0700, 0);
}

/* A file of the new root: its text into in (empty when missing) and
 * its mode (0644 when missing). */
static int read_new(const char *path, char *in, size_t size, mode_t *mode, char *p)
{
	char full[TP_PATH_MAX];
	struct stat st;
	ssize_t n;
	int rc;

	snprintf(full, sizeof(full), "%s%s", MNT_ROOT, path);
	if ((rc = rooted(p, TP_PATH_MAX, full)) < 0)
		return rc;
	n = tp_file_read(full, in, size);
	*mode = 0644;
	if (n == -ENOENT) {
		tp_err_clear();
		in[0] = '\0';
		return 0;
	}
	if (n < 0)
		return (int)n;
	if (stat(p, &st) < 0)
		return tp_err_set(-errno, "cannot look at %s: %s", p, strerror(errno));
	*mode = st.st_mode & 07777;
	return 0;
}

/* fstab's root line to the new UUID, a line mounting the eMMC's seed
 * commented out (it is blanked, and the NVMe's is empty); /etc/default/u-boot's
 * U_BOOT_ROOT to the new UUID. */
static int new_configs(struct mig *m)
{
	static char in[65536], out[66000];
	char p[TP_PATH_MAX], seed_dev[64], seed_part[64];
	const char *names[3] = { seed_dev, seed_part, NULL };
	mode_t mode;
	int rc;

	snprintf(seed_dev, sizeof(seed_dev), "%sp%u", m->disk, m->seed_no);
	seed_part[0] = '\0';
	for (unsigned i = 0; i < m->emmc.n; i++)
		if (m->emmc.p[i].index == m->seed_no) {
			char g[37];

			/* blkid and fstab write PARTUUIDs in lower case */
			tp_guid_format(m->emmc.p[i].part_guid, g);
			for (char *q = g; *q; q++)
				*q = (char)(*q >= 'A' && *q <= 'F' ? *q - 'A' + 'a' : *q);
			snprintf(seed_part, sizeof(seed_part), "PARTUUID=%s", g);
		}
	if ((rc = read_new("/etc/fstab", in, sizeof(in), &mode, p)) < 0 ||
	    (rc = tp_migrate_fstab(in, m->root_uuid, m->seed_no ? names : NULL, out,
				   sizeof(out))) < 0 ||
	    (rc = tp_file_write_atomic(p, out, strlen(out), mode)) < 0)
		return rc;
	if ((rc = read_new("/etc/default/u-boot", in, sizeof(in), &mode, p)) < 0 ||
	    (rc = tp_migrate_uboot_default(in, m->root_uuid, out, sizeof(out))) < 0)
		return rc;
	return tp_file_write_atomic(p, out, strlen(out), mode);
}

/* The root: a new ext4, the running root copied, fstab, then the boot
 * configuration last. */
static int copy_root(struct mig *m)
{
	char dev[64];
	struct tp_run_result res;
	const char *rsync[] = { "rsync", "-aHAXx", "--numeric-ids", "--delete",
				/* runtime trees (other file systems with -x anyway,
				 * but their mount points stay, empty) */
				"--exclude=/dev/*", "--exclude=/proc/*", "--exclude=/sys/*",
				"--exclude=/run/*", "--exclude=/tmp/*", "--exclude=/lost+found",
				/* written last, by u-boot-update (docs/node-helper.md §15) */
				"--exclude=/boot/extlinux/", "/", MNT_ROOT "/", NULL };
	int rc;

	snprintf(dev, sizeof(dev), "%sp%u", NVME_DISK, m->nvme_root);
	fresh_uuid(m->root_uuid);
	if (*m->label)
		rc = RUN("mkfs.ext4", "-q", "-F", "-L", m->label, "-U", m->root_uuid, dev);
	else
		rc = RUN("mkfs.ext4", "-q", "-F", "-U", m->root_uuid, dev);
	if (rc < 0)
		return rc;
	/* The seed partition keeps no file system (docs/node-helper.md §15):
	 * a tpkit node's seed is the directory on the root, copied with it. */
	progress(m, "3/6 file system made: %s ext4 UUID %s%s", dev, m->root_uuid,
		 m->seed_no ? "; the seed partition stays empty" : "");
	if ((rc = mount_dir(MNT_ROOT)) < 0 || (rc = RUN("mount", dev, MNT_ROOT)) < 0)
		return rc;
	if ((rc = tp_node_run(rsync, &res)) < 0)
		return rc;
	/* 24: files vanished while copying (a running system's logs). */
	if (res.status && res.status != 24)
		return tp_err_set(-EIO, "rsync of / to %s: exit %d%s%s", MNT_ROOT, res.status,
				  *res.tail ? ": " : "", res.tail);
	if ((rc = new_configs(m)) < 0)
		return rc;
	progress(m, "4/6 root copied, fstab names UUID=%s", m->root_uuid);
	if ((rc = RUN("mount", "--bind", "/proc", MNT_ROOT "/proc")) < 0 ||
	    (rc = RUN("mount", "--bind", "/sys", MNT_ROOT "/sys")) < 0 ||
	    (rc = RUN("mount", "--bind", "/dev", MNT_ROOT "/dev")) < 0 ||
	    (rc = RUN("chroot", MNT_ROOT, "u-boot-update")) < 0)
		return rc;
	sync();
	return RUN("umount", "-R", MNT_ROOT);
}

int tp_migrate_run(struct tp_node_ctx *c, const char *root_src)
{
	struct mig m = { .c = c };
	uint8_t g[16];
	int rc, ours;

	if ((rc = tp_migrate_state_read(&m.st)) < 0 || (rc = split_source(&m, root_src)) < 0 ||
	    (rc = read_emmc(&m)) < 0 || (rc = read_nvme(&m)) < 0)
		return rc;
	ours = nvme_disk_guid(m.sector, g);
	if (ours < 0)
		return ours;
	ours = ours && *m.st.label_id && !memcmp(g, m.st.label_bytes, 16);
	if (strcmp(m.st.stage, "ready") || !ours) {
		if ((rc = make_plan(&m)) < 0)
			return rc;
		progress(&m, "1/6 plan: %s p%u (%s) to %s, %llu MiB, %u B sectors, label-id %s",
			 m.disk, m.root_no, *m.label ? m.label : "no label", NVME_DISK,
			 (unsigned long long)(m.nvme_bytes >> 20), m.sector, m.st.label_id);
		/* Recorded before the NVMe is touched: whatever this run
		 * leaves there is recognised as ours. */
		snprintf(m.st.stage, sizeof(m.st.stage), "table");
		if ((rc = state_write(&m.st)) < 0 || (rc = unmount_ours()) < 0 ||
		    (rc = table(&m)) < 0)
			return rc;
		progress(&m, "2/6 partition table written to %s", NVME_DISK);
		if ((rc = copy_root(&m)) < 0)
			return rc;
		snprintf(m.st.stage, sizeof(m.st.stage), "ready");
		snprintf(m.st.root_uuid, sizeof(m.st.root_uuid), "%s", m.root_uuid);
		if ((rc = state_write(&m.st)) < 0)
			return rc;
	} else {
		progress(&m, "1/6 the NVMe (label-id %s) was completed by an earlier run",
			 m.st.label_id);
	}
	/* The image's default seed (a known password) is never read on a
	 * seeded node; blanked, it cannot be found by label on either disk
	 * (commissioning.md §5.1, docs/node-helper.md §15). */
	if (m.seed_no) {
		char old[64];

		snprintf(old, sizeof(old), "%sp%u", m.disk, m.seed_no);
		if ((rc = RUN("wipefs", "-a", old)) < 0)
			return rc;
		progress(&m, "5/6 the eMMC's seed %s blanked", old);
	}
	snprintf(m.st.stage, sizeof(m.st.stage), "reboot");
	if ((rc = state_write(&m.st)) < 0)
		return rc;
	/* The BMC expects this root at the next boot: any other on the NVMe
	 * is an old system (docs/commission.md §11). */
	if (*m.st.root_uuid)
		progress(&m, "6/6 rebooting into the NVMe, root UUID %s", m.st.root_uuid);
	else
		progress(&m, "6/6 rebooting into the NVMe");
	if ((rc = RUN("systemctl", "reboot")) < 0)
		return rc;
	snprintf(c->why, sizeof(c->why), "rebooting into %s", NVME_DISK);
	return TP_STEP_REBOOT;
}
