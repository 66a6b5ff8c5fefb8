// SPDX-License-Identifier: MIT
/*
 * The node guard, `tpkit-node guard` (docs/node-helper.md §16). An RK1's
 * U-Boot scans the NVMe before the eMMC (commissioning.md §5.1), so once a
 * node moved its root to the NVMe, flashing its eMMC again boots the old
 * NVMe system, and the fresh eMMC's seed is never read. Every node tpkit
 * seeds carries this guard, enabled at every boot and never disabled; on
 * a root that is not on an NVMe it returns at once. On an NVMe root it
 * looks at the eMMC's root for a tpkit seed of another instance: then the
 * eMMC was flashed again, and the old system says so on the console,
 * signed with the NEW seed's report key (the BMC checks with the slot's
 * current key), or, when that seed asks for it (wipe_nvme=yes), wipes the
 * NVMe's signatures and reboots into the eMMC. Anything in doubt (no
 * eMMC, no seed, a seed it cannot read) is left alone.
 */
#include "node.h"
#include "migrate.h"
#include "common/atomic.h"
#include "common/err.h"
#include "common/parttable.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EMMC "/dev/mmcblk0"
#define MNT "/run/tpkit-node/emmc"

#define RUN(...) tp_node_run_ok((const char *const[]){ __VA_ARGS__, NULL })

enum tp_guard_act tp_guard_decide(const struct tp_guard_facts *f, char *why, size_t size)
{
	/* A CM4 has no NVMe lane on this board (node-helper.md §2). */
	if (strcmp(f->module, "rk1")) {
		snprintf(why, size, "not an RK1 (module %s)", f->module);
		return TP_GUARD_NOTHING;
	}
	if (strncmp(f->root_src, "/dev/nvme", 9)) {
		snprintf(why, size, "the root is on %s, not an NVMe", f->root_src);
		return TP_GUARD_NOTHING;
	}
	if (!f->seed_found) {
		snprintf(why, size, "no tpkit seed on the eMMC");
		return TP_GUARD_NOTHING;
	}
	/* The eMMC root this system was copied from carries the same seed. */
	if (!strcmp(f->seed_instance, f->instance_id)) {
		snprintf(why, size, "the eMMC holds this system's own seed (instance %s)",
			 f->instance_id);
		return TP_GUARD_NOTHING;
	}
	snprintf(why, size, "old NVMe system (instance %s, root %s) booted instead of the fresh "
		 "eMMC (instance %s)", f->instance_id, f->root_src, f->seed_instance);
	return f->seed_wipe ? TP_GUARD_WIPE : TP_GUARD_REPORT;
}

/* A plain line for the node's journal (stderr): nothing to report. */
static void say(const char *what, const char *text)
{
	fprintf(stderr, "tpkit-node: guard: %s%s\n", what, text);
}

/* The eMMC's partitions that hold ext4, in table order (up to max). */
static unsigned ext4_parts(unsigned *out, unsigned max)
{
	static uint8_t head[1024 * 1024];
	struct tp_parttable pt;
	char p[TP_PATH_MAX];
	unsigned n = 0;
	ssize_t got;
	int fd;

	if (tp_path(p, sizeof(p), "%s", EMMC) < 0)
		return 0;
	fd = open(p, O_RDONLY | O_CLOEXEC);
	/* Early in the boot the card may still be probed: let udev catch up
	 * once before calling it absent. */
	if (fd < 0 && RUN("udevadm", "settle") == 0)
		fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	got = pread(fd, head, sizeof(head), 0);
	if (got > 0 && tp_parttable_parse(head, (size_t)got, &pt) == 0)
		for (unsigned i = 0; i < pt.n && n < max; i++) {
			uint8_t sb[1024];
			char label[17];

			if (pread(fd, sb, sizeof(sb),
				  (off_t)(pt.p[i].first_lba * TP_PT_SECTOR + 1024)) == sizeof(sb) &&
			    tp_ext4_label(sb, label) == 0)
				out[n++] = pt.p[i].index;
		}
	close(fd);
	return n;
}

/* Is MNT mounted (an earlier guard stopped half-way)? */
static int mounted(void)
{
	char text[65536];
	ssize_t n = tp_file_read("/proc/self/mountinfo", text, sizeof(text));

	return n > 0 && strstr(text, " " MNT " ");
}

/*
 * The eMMC root's node.conf into seed: 1 found, 0 none. Mounted read-only
 * with noload (no journal replay: nothing is written to the eMMC), read,
 * unmounted.
 */
static int read_seed(unsigned part, struct tp_node_conf *seed)
{
	char dev[32], dir[TP_PATH_MAX], conf[TP_PATH_MAX];
	int rc, found;

	snprintf(dev, sizeof(dev), EMMC "p%u", part);
	if (tp_path(dir, sizeof(dir), "%s", MNT) < 0 ||
	    tp_path(conf, sizeof(conf), "%s/etc/tpkit/node.conf", MNT) < 0)
		return 0;
	if (mounted() && RUN("umount", MNT) < 0)
		return 0;
	if (tp_dir_make(dir, 0700, 0) < 0 ||
	    RUN("mount", "-t", "ext4", "-o", "ro,noload", dev, MNT) < 0) {
		say("cannot look at the eMMC: ", tp_err_msg());
		return 0;
	}
	rc = access(conf, F_OK) == 0 ? tp_node_conf_load(seed, conf, NULL, 0) : -ENOENT;
	found = rc == 0;
	if (rc < 0 && rc != -ENOENT)
		say("the eMMC's node.conf is not usable, left alone: ", tp_err_msg());
	if (RUN("umount", MNT) < 0)
		say("", tp_err_msg());
	return found;
}

/* /dev/nvme0n1p2 -> /dev/nvme0n1: 0, or -EINVAL for anything else. */
static int nvme_disk(const char *src, char *disk, size_t size)
{
	size_t n = strlen(src);

	while (n && src[n - 1] >= '0' && src[n - 1] <= '9')
		n--;
	if (!n || src[n - 1] != 'p' || n - 1 >= size || strncmp(src, "/dev/nvme", 9))
		return -EINVAL;
	memcpy(disk, src, n - 1);
	disk[n - 1] = '\0';
	return 0;
}

/* The seed asked for it: the whole NVMe's signatures go (its partition
 * table, so U-Boot finds nothing there), then an immediate reboot. */
static int wipe(const struct tp_node_reporter *rep, const char *src, const char *why)
{
	char disk[32];
	int rc;

	if (nvme_disk(src, disk, sizeof(disk)) < 0) {
		tp_node_report(rep, "guard", "fail", "%s; the root %s is not an NVMe partition: "
			       "not wiped", why, src);
		return 1;
	}
	tp_node_report(rep, "guard", "progress", "%s: wipe_nvme=yes: wiping %s and rebooting "
		       "into the eMMC", why, disk);
	/* --force: without it wipefs opens the disk O_EXCL, which a mounted
	 * partition refuses (EBUSY). It then skips the partition table's
	 * re-read, which the kernel would refuse anyway. */
	if ((rc = RUN("wipefs", "--all", "--force", disk)) < 0) {
		tp_node_report(rep, "guard", "fail", "%s", tp_err_msg());
		return 1;
	}
	sync();
	tp_node_report(rep, "guard", "progress", "%s wiped: rebooting", disk);
	/* Twice --force: reboot(2) at once, no unit stopped, nothing
	 * unmounted: the root being thrown away is not written again. */
	if ((rc = RUN("systemctl", "reboot", "--force", "--force")) < 0) {
		tp_node_report(rep, "guard", "fail", "%s", tp_err_msg());
		return 1;
	}
	return 0;
}

int tp_node_guard(void)
{
	struct tp_node_conf own, seed;
	struct tp_node_reporter rep = { 0 };
	struct tp_guard_facts f = { 0 };
	char file[TP_PATH_MAX], src[256], why[512];
	unsigned parts[4], n;
	enum tp_guard_act act;
	int code;

	if (tp_path(file, sizeof(file), "%s", TP_NODE_CONF) < 0 ||
	    tp_node_conf_load(&own, file, NULL, 0) < 0) {
		say("nothing done: ", tp_err_msg());
		return 0;
	}
	tp_node_conf_wipe(&own); /* its key is not the one to sign with */
	if (tp_node_root_source(src, sizeof(src)) < 0) {
		say("nothing done: ", tp_err_msg());
		return 0;
	}
	f.module = own.module;
	f.instance_id = own.instance_id;
	f.root_src = src;
	f.seed_instance = "";
	/* Only an RK1 on an NVMe root looks further: every other boot costs
	 * one read of node.conf and of mountinfo. */
	if (strcmp(own.module, "rk1") || strncmp(src, "/dev/nvme", 9)) {
		tp_guard_decide(&f, why, sizeof(why));
		say("nothing to do: ", why);
		return 0;
	}
	n = ext4_parts(parts, 4);
	for (unsigned i = 0; i < n && !f.seed_found; i++)
		f.seed_found = read_seed(parts[i], &seed) == 1;
	if (f.seed_found) {
		f.seed_instance = seed.instance_id;
		f.seed_wipe = seed.wipe_nvme;
	}
	act = tp_guard_decide(&f, why, sizeof(why));
	if (act == TP_GUARD_NOTHING) {
		if (f.seed_found)
			tp_node_conf_wipe(&seed);
		say("nothing to do: ", why);
		return 0;
	}
	/* Signed with the fresh seed's key: the slot's current one. */
	code = tp_node_reporter_signed(&rep, &seed);
	tp_node_conf_wipe(&seed);
	if (code < 0) {
		say("", tp_err_msg());
		return 1;
	}
	if (act == TP_GUARD_REPORT) {
		tp_node_report(&rep, "guard", "fail", "%s: run tpkit commission --slot %u "
			       "--wipe-nvme", why, seed.slot);
		code = 0;
	} else {
		code = wipe(&rep, src, why);
	}
	tp_node_reporter_close(&rep);
	return code;
}
