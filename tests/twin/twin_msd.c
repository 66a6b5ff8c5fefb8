// SPDX-License-Identifier: MIT
/*
 * A node's eMMC as the BMC's kernel shows it through a usb-storage driver:
 * the CM4's once the rpiboot payload runs (protocols.md §7.5, §8: a USB
 * mass-storage device bound to usb-storage), an RK1's while its loader is
 * on the bus (§6: rockusb.ko, a usb-storage "unusual device" driver, binds
 * it). After usb-storage's scan delay (delay_use) a SCSI disk appears with
 * its /sys/block/sdX entry and a /dev/sdX node, the slot's eMMC file. A
 * program that detaches the driver (USBDEVFS_DISCONNECT, twin_usbfs.c)
 * takes the disk away, or keeps it from appearing; USBDEVFS_CONNECT binds
 * the driver again and the delay starts over.
 *
 * The client reads and writes /dev/sdX with plain file I/O; the command's
 * preloaded counter (preload/twin_iocount.c) adds up the bytes per slot.
 * Before answering any request (a GPIO-socket line, a usbdevfs ioctl) the
 * twin charges what moved since the last look: each disk at its own rates
 * (and, for an RK1's loader, its own time per command), and all of it, as
 * usb-storage's commands of at most 240 sectors with their CBW and CSW
 * packets, on the one USB bus every node shares, the RK1s' transfers
 * included (twin_usbtime.c). docs/twin.md, "Timing model of the disk",
 * lists the limits.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <umockdev.h>

#include "twin_usb.h"

struct twin_msd {
	struct twin *t;
	unsigned slot;
	struct twin_usb_dev *dev;	/* the USB device the driver binds; NULL
					 * when off the bus */
	bool block;			/* the disk is in sysfs and /dev */
	char name[8];			/* "sda" */
	unsigned letter, host;
	char *paths[5];			/* interface, host, target, sdev, block (under /sys) */
	char *devnode;			/* <testbed>/dev/sdX */
	uint64_t io_seen[2];		/* the counter's read, written bytes last looked at */
	uint64_t read, written, charged_ns, carry;	/* this disk's figures */
};

/* What the disk is and how fast, by what the slot holds. */
struct msd_kind {
	char inquiry[3][17];		/* vendor, model, rev as sysfs shows them */
	unsigned scsi_level;		/* sysfs scsi_level */
	unsigned delay_ms;		/* usb-storage's delay_use */
	uint64_t write_rate;		/* bytes/s */
	uint64_t read_rate;		/* bytes/s; 0: no limit of its own */
	uint64_t cmd_ns;		/* the device's own time per command */
};

static void msd_control(struct twin_usb_dev *d, struct twin_xfer *x);
static void msd_bulk(struct twin_usb_dev *d, struct twin_xfer *x);

static const struct twin_usb_ops msd_ops = {
	.kind = "msd", .control = msd_control, .bulk = msd_bulk,
};
static const struct twin_usb_ops msd_gadget_ops = {
	.kind = "gadget", .control = msd_control, .bulk = msd_bulk,
};

/* §8.1 interface 08/06/50 with bulk IN and OUT. The IDs and strings are
 * not in protocols.md (§1: UNVERIFIED): the legacy msd's are the twin's
 * choice, the gadget's are the Linux composite gadget's defaults. */
static const struct twin_usb_desc msd_desc = {
	.vid = 0x0a5c, .pid = 0x0001, .bcd_usb = 0x0200, .bcd_device = 0x0001,
	.strings = { "Raspberry Pi", "RPi-MSD", NULL },
	.if_class = 0x08, .if_sub = 0x06, .if_proto = 0x50,
	.ep_in = 0x81, .ep_out = 0x02,
};
static const struct twin_usb_desc msd_gadget_desc = {
	.vid = 0x1d6b, .pid = 0x0104, .bcd_usb = 0x0200, .bcd_device = 0x0612,
	.strings = { "Raspberry Pi", "mass-storage-gadget64", NULL },
	.if_class = 0x08, .if_sub = 0x06, .if_proto = 0x50,
	.ep_in = 0x81, .ep_out = 0x01,
};

/* INQUIRY vendor (8), product (16), revision (4) as sysfs shows them
 * (§8.3): RPi-MSD- for the legacy firmware (what bmcd matches); the
 * gadget's are f_mass_storage's defaults (§7.5: UNVERIFIED). */
static const char *const msd_inquiry[2][3] = {
	{ "RPi-MSD-", "eMMC            ", "0001" },
	{ "Linux   ", "File-Stor Gadget", "0612" },
};

/* usb-storage's commands: at most max_sectors, 240 for a high-speed device
 * (protocols.md §9.2), each a CBW packet, the data, a CSW packet (§8.2). */
#define MSD_CMD_BYTES	(240u * 512u)

static bool msd_rk1(const struct twin_msd *m)
{
	return m->t->opt.module[m->slot] == TWIN_MOD_RK1;
}

/* The CM4 runs the gadget: its second stage says (twin_bcm2711.c). */
static bool msd_gadget(const struct twin_msd *m)
{
	return !msd_rk1(m) && twin_bcm2711_gadget(m->t, m->slot);
}

/*
 * The CM4's payload answers INQUIRY itself; its write rate: legacy msd
 * writes at about 3.5-4.8 MB/s on real hardware (protocols.md §9.3), the
 * twin's default 10 is kinder, and reads at 10-11 MB/s; the gadget is
 * "much faster" (§7.5), 35 both ways (its read rate is UNVERIFIED).
 *
 * An RK1's disk is rockusb.ko's (§6): its INQUIRY is answered by the
 * driver, "Rockchip" / "Rockusb device" padded with spaces, the revision
 * the loader's bcdDevice in four digits, and version 0 (so scsi_level 0),
 * as usb-storage's fill_inquiry_response() makes it. Every READ(10) and
 * WRITE(10) is a READ_LBA or WRITE_LBA of the loader, so each command
 * costs the loader's own time (--rk-cmd-latency-us) and writes go at the
 * eMMC's rate (--emmc-write-rate); reads have no rate of their own, as
 * the loader's READ_LBA has none in the twin (docs/twin.md).
 */
static void msd_kind(const struct twin_msd *m, struct msd_kind *k)
{
	struct twin *t = m->t;

	memset(k, 0, sizeof(*k));
	if (msd_rk1(m)) {
		unsigned bcd = m->dev ? m->dev->desc.bcd_device : 0;

		snprintf(k->inquiry[0], sizeof(k->inquiry[0]), "%-8.8s", "Rockchip");
		snprintf(k->inquiry[1], sizeof(k->inquiry[1]), "%-16.16s", "Rockusb device");
		snprintf(k->inquiry[2], sizeof(k->inquiry[2]), "%04x", bcd);
		k->delay_ms = t->opt.rk_scsi_ms;
		k->write_rate = t->usb->time.emmc_rate;
		k->cmd_ns = t->usb->time.cmd_latency_ns;
		return;
	}
	for (int i = 0; i < 3; i++)
		g_strlcpy(k->inquiry[i], msd_inquiry[msd_gadget(m)][i], sizeof(k->inquiry[i]));
	k->scsi_level = 7;
	k->delay_ms = t->opt.cm4.scsi_ms;
	k->write_rate = (uint64_t)(t->opt.cm4.write_rate ? t->opt.cm4.write_rate :
				   msd_gadget(m) ? 35 : 10) * 1000000;
	k->read_rate = (uint64_t)(t->opt.cm4.read_rate ? t->opt.cm4.read_rate :
				  msd_gadget(m) ? 35 : 11) * 1000000;
}

/* usb-storage owns the interface: a client talks to /dev/sdX. */
static void msd_control(struct twin_usb_dev *d, struct twin_xfer *x)
{
	char what[16];

	snprintf(what, sizeof(what), "node%u", d->slot);
	twin_timeline_violation(d->t, what, "%s: control request %02x/%02x on a disk usb-storage owns: use /dev/sdX: STALL",
				d->ops->kind, x->setup[0], x->setup[1]);
	x->status = -EPIPE;
}

/* Reached only once usb-storage was detached (with it bound, usbfs
 * answers EBUSY): the payload's Bulk-Only Transport is not modelled. */
static void msd_bulk(struct twin_usb_dev *d, struct twin_xfer *x)
{
	char what[16];

	snprintf(what, sizeof(what), "node%u", d->slot);
	twin_timeline_violation(d->t, what, "%s: bulk transfer to the CM4's disk: its Bulk-Only Transport is not modelled, use /dev/sdX: STALL",
				d->ops->kind);
	x->status = -EPIPE;
}

struct twin_msd *twin_msd_new(struct twin *t, unsigned slot)
{
	struct twin_msd *m = g_new0(struct twin_msd, 1);

	m->t = t;
	m->slot = slot;
	return m;
}

static char *msd_record(struct twin_msd *m, int level)
{
	struct twin *t = m->t;
	const struct twin_usb_desc *s = &m->dev->desc;
	const char *p = m->paths[level] + 4;	/* without "/sys" */
	unsigned minor = m->letter * 16;
	struct msd_kind k;

	msd_kind(m, &k);
	switch (level) {
	case 0:
		return g_strdup_printf("P: %s\nE: SUBSYSTEM=usb\nE: DEVTYPE=usb_interface\n"
			"E: DRIVER=%s\nE: INTERFACE=%u/%u/%u\n"
			"A: bInterfaceNumber=00\\n\nA: bAlternateSetting= 0\\n\n"
			"A: bNumEndpoints=02\\n\nA: bInterfaceClass=%02x\\n\n"
			"A: bInterfaceSubClass=%02x\\n\nA: bInterfaceProtocol=%02x\\n\n",
			p, m->dev->kdriver, s->if_class, s->if_sub, s->if_proto,
			s->if_class, s->if_sub, s->if_proto);
	case 1:
		return g_strdup_printf("P: %s\nE: SUBSYSTEM=scsi\nE: DEVTYPE=scsi_host\n", p);
	case 2:
		return g_strdup_printf("P: %s\nE: SUBSYSTEM=scsi\nE: DEVTYPE=scsi_target\n", p);
	case 3:
		return g_strdup_printf("P: %s\nE: SUBSYSTEM=scsi\nE: DEVTYPE=scsi_device\n"
			"E: DRIVER=sd\nA: vendor=%s\\n\nA: model=%s\\n\nA: rev=%s\\n\n"
			"A: type=0\\n\nA: state=running\\n\nA: scsi_level=%u\\n\n",
			p, k.inquiry[0], k.inquiry[1], k.inquiry[2], k.scsi_level);
	default:
		return g_strdup_printf("P: %s\nE: SUBSYSTEM=block\nE: DEVTYPE=disk\n"
			"E: DEVNAME=/dev/%s\nE: MAJOR=8\nE: MINOR=%u\n"
			"A: dev=8:%u\\n\nA: size=%" PRIu64 "\\n\nA: removable=1\\n\n"
			"A: ro=0\\n\nA: range=16\\n\n",
			p, m->name, minor, minor, twin_emmc_sectors(t, m->slot));
	}
}

/* .../H:0:0:0/block/sdX/device -> ../../../H:0:0:0, as sysfs has it;
 * umockdev does not make it (toolchain.md §7.2a). */
static void msd_device_link(struct twin_msd *m, const char *root)
{
	char *dir = g_strconcat(root, m->paths[4], NULL);
	char *link = g_strconcat(dir, "/device", NULL);
	char target[32];

	snprintf(target, sizeof(target), "../../../%u:0:0:0", m->host);
	if (g_mkdir_with_parents(dir, 0755) || symlink(target, link))
		fprintf(stderr, "tp-twin: %s: %s\n", link, g_strerror(errno));
	g_free(link);
	g_free(dir);
}

/*
 * --cm4-automount: an automounter (udisks, an mdev hook) mounts the disk's
 * first partition as soon as the disk appears, so the mount table the BMC's
 * programs read, <root>/proc/self/mountinfo, gains its line. The fake root
 * has no such file of its own: proc/self/ must exist (a --root DIR made
 * beforehand; the twin cannot create it under the watched proc/). The line
 * stays after the disk goes, as the kernel keeps a mount of a vanished disk.
 */
static void msd_automount(struct twin_msd *m)
{
	struct twin *t = m->t;
	char *path = g_build_filename(t->root, "proc/self/mountinfo", NULL);
	char subject[16], note[96];
	FILE *f = fopen(path, "ae");

	if (!f) {
		twin_timeline_violation(t, "twin", "--cm4-automount: cannot append to %s: %s (give --root a DIR with proc/self/)",
					path, g_strerror(errno));
		g_free(path);
		return;
	}
	fprintf(f, "%u 15 8:%u / /media/%s1 rw,relatime - vfat /dev/%s1 rw,fmask=0022,dmask=0022,errors=remount-ro\n",
		100 + m->host, m->letter * 16 + 1, m->name, m->name);
	if (fclose(f))
		twin_timeline_violation(t, "twin", "--cm4-automount: writing %s: %s", path,
					g_strerror(errno));
	g_free(path);
	snprintf(subject, sizeof(subject), "node%u", m->slot);
	snprintf(note, sizeof(note), "--cm4-automount: /dev/%s1 on /media/%s1", m->name, m->name);
	twin_timeline_add(t, "block", subject, m->name, "mounted", note);
}

/*
 * The disk appears as usb-storage and sd make it (toolchain.md §7.2a):
 * <usb device>/<sysname>:1.0/hostH/targetH:0:0/H:0:0:0/block/sdX, with
 * /sys/block/sdX (umockdev's link), the block device's `device` link to
 * the SCSI device (made here: umockdev does not), and /dev/sdX, a link
 * to the slot's eMMC file. sdX is the lowest free letter, as sd does.
 */
static void msd_block_add(struct twin *t, void *obj, uint64_t arg)
{
	struct twin_msd *m = obj;
	struct twin_usb *u = t->usb;
	char *root = umockdev_testbed_get_root_dir(u->testbed);
	char note[96], subject[16];
	struct msd_kind k;
	GError *err = NULL;

	(void)arg;
	if (!m->dev || m->dev->gone || !m->dev->driver || m->block)
		goto out;
	snprintf(subject, sizeof(subject), "node%u", m->slot);
	if (!msd_rk1(m) && (t->opt.cm4.faults & TWIN_CM4_NO_DISK)) {
		/* usb-storage bound the interface, but no disk came of it
		 * (a payload that never answers INQUIRY, say). */
		snprintf(note, sizeof(note), "--cm4-fault no-disk: usb-storage at %s made no disk",
			 m->dev->sysname);
		twin_timeline_add(t, "block", subject, "none", "fail", note);
		goto out;
	}
	for (m->letter = 0; m->letter < 26 && (u->sd_used & 1u << m->letter); m->letter++)
		;
	if (m->letter == 26)
		goto out;
	u->sd_used |= 1u << m->letter;
	m->host = u->next_scsi_host++;
	snprintf(m->name, sizeof(m->name), "sd%c", 'a' + m->letter);
	m->paths[0] = g_strdup_printf("%s/%s:1.0", m->dev->syspath, m->dev->sysname);
	m->paths[1] = g_strdup_printf("%s/host%u", m->paths[0], m->host);
	m->paths[2] = g_strdup_printf("%s/target%u:0:0", m->paths[1], m->host);
	m->paths[3] = g_strdup_printf("%s/%u:0:0:0", m->paths[2], m->host);
	m->paths[4] = g_strdup_printf("%s/block/%s", m->paths[3], m->name);
	m->block = true;
	for (int i = 0; i < 5; i++) {
		char *rec = msd_record(m, i);
		gboolean ok;

		if (i == 4) {	/* node and link first: "add" finds them */
			m->devnode = g_strdup_printf("%s/dev/%s", root, m->name);
			if (symlink(t->emmc_path[m->slot], m->devnode))
				fprintf(stderr, "tp-twin: %s: %s\n", m->devnode, g_strerror(errno));
			msd_device_link(m, root);
		}
		ok = umockdev_testbed_add_from_string(u->testbed, rec, &err);
		g_free(rec);
		if (!ok) {
			twin_timeline_violation(t, "twin", "could not add %s: %s",
						m->paths[i], err ? err->message : "?");
			g_clear_error(&err);
			goto out;
		}
	}
	if (u->io) {
		m->io_seen[0] = u->io[m->slot][0];
		m->io_seen[1] = u->io[m->slot][1];
	}
	msd_kind(m, &k);
	snprintf(note, sizeof(note), "%s, %s, %" PRIu64 " sectors",
		 k.inquiry[0], m->dev->sysname, twin_emmc_sectors(t, m->slot));
	twin_timeline_add(t, "block", subject, "none", m->name, note);
	if (!msd_rk1(m) && t->opt.cm4.automount)
		msd_automount(m);
out:
	g_free(root);
}

/* The driver binds the interface (at enumeration, or USBDEVFS_CONNECT):
 * the disk follows after usb-storage's delay_use. */
void twin_msd_bind(struct twin_msd *m)
{
	struct twin *t = m->t;
	struct msd_kind k;

	if (!m->dev || m->dev->gone || m->dev->driver)
		return;
	m->dev->driver = m->dev->kdriver;
	msd_kind(m, &k);
	twin_sched_cancel(t, m);
	twin_sched_add(t, t->board.now_ns + (uint64_t)k.delay_ms * TWIN_NS_PER_MS,
		       msd_block_add, m, 0);
}

/* DRIVER matches D's interface and binds it as D enumerates
 * (twin_usbdrv.c); the disk it makes is M's. */
void twin_msd_attach(struct twin_msd *m, struct twin_usb_dev *d, const char *driver)
{
	m->dev = d;
	d->kdriver = driver;
	d->disk = m;
	twin_msd_bind(m);
}

/* The payload is running and the link is the BMC's: the USB function
 * enumerates, and usb-storage binds it (twin_usbdrv.c). */
void twin_msd_plug(struct twin_msd *m)
{
	struct twin *t = m->t;
	struct twin_usb_node *nd = &t->usb->node[m->slot];

	if (!nd->link_bmc || nd->dev)
		return;
	twin_usb_dev_new(t, m->slot, msd_gadget(m) ? &msd_gadget_ops : &msd_ops,
			 msd_gadget(m) ? &msd_gadget_desc : &msd_desc, m);
}

static void msd_figures(struct twin_msd *m, char *note, size_t len)
{
	struct msd_kind k;
	int n;

	msd_kind(m, &k);
	n = snprintf(note, len, "%" PRIu64 " B written, %" PRIu64 " B read, %" PRIu64 ".%06" PRIu64 " s",
		     m->written, m->read, m->charged_ns / 1000000000,
		     m->charged_ns % 1000000000 / 1000);
	if (n < 0 || (size_t)n >= len)
		return;
	if (msd_rk1(m))
		snprintf(note + n, len - (size_t)n, " (eMMC %" PRIu64 " MB/s, %" PRIu64 " us per command)",
			 k.write_rate / 1000000, k.cmd_ns / 1000);
	else
		snprintf(note + n, len - (size_t)n, " at %" PRIu64 "/%" PRIu64 " MB/s",
			 k.write_rate / 1000000, k.read_rate / 1000000);
}

static void msd_block_report(struct twin_msd *m, const char *to, const char *why)
{
	char subject[16], fig[128], note[192];

	msd_figures(m, fig, sizeof(fig));
	snprintf(note, sizeof(note), "%s%s%s", why ? why : "", why ? ": " : "", fig);
	snprintf(subject, sizeof(subject), "node%u", m->slot);
	twin_timeline_add(m->t, "block", subject, m->name, to, note);
	fprintf(stderr, "tp-twin: block node%u %s (%s): %s\n", m->slot, m->name,
		m->dev ? m->dev->sysname : "-", note);
}

/* umockdev leaves /sys/block/sdX and /sys/dev/block/8:N behind, dangling:
 * the kernel does not, and the next disk with that name or number (a
 * second CM4 flashed in the same run) could not be added. */
static void msd_sys_block_unlink(struct twin_msd *m)
{
	char *root = umockdev_testbed_get_root_dir(m->t->usb->testbed);
	char *link = g_strdup_printf("%s/sys/block/%s", root, m->name);
	char *dev = g_strdup_printf("%s/sys/dev/block/8:%u", root, m->letter * 16);

	(void)unlink(link);
	(void)unlink(dev);
	g_free(dev);
	g_free(link);
	g_free(root);
}

/*
 * The driver lets go of the interface: a pending scan is cancelled, a disk
 * that appeared goes (remove uevents child first, as the kernel sends
 * them; the interface entry goes with it, the twin keeps none of its own).
 * WHY, if any, heads the block event's note.
 */
void twin_msd_unbind(struct twin_msd *m, const char *why)
{
	struct twin *t = m->t;

	twin_sched_cancel(t, m);
	if (m->block) {
		/* I/O until now was charged before this request ran */
		msd_block_report(m, "none", why);
		if (m->devnode)
			(void)unlink(m->devnode);
		for (int i = 4; i >= 0; i--) {
			if (!m->paths[i])
				continue;
			umockdev_testbed_uevent(t->usb->testbed, m->paths[i], "remove");
			umockdev_testbed_remove_device(t->usb->testbed, m->paths[i]);
		}
		msd_sys_block_unlink(m);
		t->usb->sd_used &= ~(1u << m->letter);
		m->block = false;
	}
	for (int i = 0; i < 5; i++)
		g_clear_pointer(&m->paths[i], g_free);
	g_clear_pointer(&m->devnode, g_free);
	m->read = m->written = m->charged_ns = m->carry = 0;
	if (m->dev)
		m->dev->driver = NULL;
}

/* The USB device leaves the bus (twin_usb_dev_delete): the disk goes
 * first, as usb_disconnect() unbinds the interface's driver first. */
void twin_msd_gone(struct twin_msd *m)
{
	twin_msd_unbind(m, NULL);
	if (m->dev)
		m->dev->disk = NULL;
	m->dev = NULL;
}

/* Off the bus: the disk, then the USB device. */
void twin_msd_unplug(struct twin_msd *m)
{
	if (!m)
		return;
	twin_sched_cancel(m->t, m);
	if (m->dev)
		twin_usb_dev_delete(m->t, m->dev);	/* twin_msd_gone() */
}

/* The packets N bytes take as usb-storage commands: the data in 512-byte
 * packets, and a CBW and a CSW packet per command. */
static uint64_t msd_cmds(uint64_t n)
{
	return (n + MSD_CMD_BYTES - 1) / MSD_CMD_BYTES;
}

static uint64_t msd_packets(uint64_t n)
{
	return (n + TWIN_USB_BULK_PACKET - 1) / TWIN_USB_BULK_PACKET + 2 * msd_cmds(n);
}

/* The time a disk needs of its own for R bytes read and W written: at its
 * rates (integer ns, the remainder, in units of the write rate, carried to
 * the next look) and its time per command. */
static uint64_t msd_own_ns(struct twin_msd *m, const struct msd_kind *k,
			   uint64_t r, uint64_t w)
{
	unsigned __int128 q = (unsigned __int128)w * 1000000000 + m->carry;
	uint64_t ns = 0;

	if (k->read_rate)
		q += (unsigned __int128)r * 1000000000 * k->write_rate / k->read_rate;
	if (k->write_rate) {
		ns = (uint64_t)(q / k->write_rate);
		m->carry = (uint64_t)(q % k->write_rate);
	}
	return ns + (msd_cmds(r) + msd_cmds(w)) * k->cmd_ns;
}

/*
 * The timing model: what each disk read and wrote since the last look
 * (the command's I/O counter). A disk is no faster than its own rates; the
 * disks' traffic together, commands and all, takes its packets' slots on
 * the shared bus, after whatever the RK1s' transfers already hold. The
 * clock moves to the later of the two: four CM4s at 35 MB/s each cannot
 * move 140 MB/s through one 53 MB/s link.
 */
void twin_msd_tick(struct twin *t)
{
	uint64_t now = t->board.now_ns, own = 0, packets = 0, end;
	bool busy[TWIN_SLOTS + 1] = { false };

	if (!t->usb || !t->usb->started || !t->usb->io)
		return;
	for (unsigned n = 1; n <= TWIN_SLOTS; n++) {
		struct twin_msd *m = t->usb->node[n].msd;
		struct msd_kind k;
		uint64_t r, w, ns;

		if (!m || !m->block)
			continue;
		r = t->usb->io[n][0] - m->io_seen[0];
		w = t->usb->io[n][1] - m->io_seen[1];
		if (!r && !w)
			continue;
		m->io_seen[0] += r;
		m->io_seen[1] += w;
		m->read += r;
		m->written += w;
		busy[n] = true;
		msd_kind(m, &k);
		ns = msd_own_ns(m, &k, r, w);
		if (ns > own)
			own = ns;
		packets += msd_packets(r) + msd_packets(w);
	}
	if (!packets)
		return;
	end = twin_usbtime_reserve(t, now, packets);
	if (end < now + own)
		end = now + own;
	/* each disk busy in this look was so for all of it */
	for (unsigned n = 1; n <= TWIN_SLOTS; n++)
		if (busy[n])
			t->usb->node[n].msd->charged_ns += end - now;
	if (twin_board_clock_advance(t, end - now))
		twin_timeline_violation(t, "twin", "the virtual clock overflowed");
}

/* The run ended with the disk present: its figures. */
void twin_msd_finish(struct twin_msd *m)
{
	if (m && m->block) {
		twin_msd_tick(m->t);
		msd_block_report(m, "end", NULL);
	}
}

void twin_msd_free(struct twin_msd *m)
{
	if (!m)
		return;
	twin_sched_cancel(m->t, m);
	if (m->devnode)
		(void)unlink(m->devnode);
	for (int i = 0; i < 5; i++)
		g_free(m->paths[i]);
	g_free(m->devnode);
	g_free(m);
}
