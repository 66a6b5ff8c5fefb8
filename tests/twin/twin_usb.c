// SPDX-License-Identifier: MIT
/*
 * Simulated USB devices on the BMC's bus, through a umockdev testbed
 * (toolchain.md §7): the command runs with libumockdev-preload, so its own
 * libusb finds the devices in a fake sysfs and its usbdevfs ioctls come
 * here. This file does what the kernel and the bus do for any device:
 * topology (hardware.md §6.1), sysfs attributes as libusb's linux_usbfs
 * backend reads them, add/remove uevents, the board hookup (the command's
 * environment and the preload are twin_usbenv.c's). What a device says is
 * its type's business (twin_rk3588.c, twin_bcm2711.c, twin_msd.c), through
 * struct twin_usb_ops.
 *
 * umockdev calls handle-ioctl in its worker thread; every call is handed
 * to the twin's GLib main loop, so the board, the clock and the devices
 * are only ever touched by one thread.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include <umockdev.h>

#include "twin_usb.h"

#define TWIN_USB_SYS	"/devices/platform/soc/4200000.usb"	/* T113 EHCI1 */

static const struct twin_usb_ops twin_usb_hub_ops = { .kind = "hub" };

/* The descriptor index of string I (0 manufacturer, 1 product, 2 serial). */
uint8_t twin_usb_str_index(const struct twin_usb_desc *s, int i)
{
	if (!s->strings[i])
		return 0;
	return s->str_index[i] ? s->str_index[i] : (uint8_t)(i + 1);
}

/* Raw descriptors as sysfs "descriptors" holds them: device, then the
 * configuration with its interface and endpoints (protocols.md §2). */
size_t twin_usb_desc_build(const struct twin_usb_desc *s, uint8_t *o)
{
	unsigned neps = !!s->ep_in + !!s->ep_out + !!s->ep_int;
	uint16_t total = (uint16_t)(9 + 9 + 7 * neps);
	uint8_t *p = o;
	const uint8_t eps[3][2] = { { s->ep_in, 2 }, { s->ep_out, 2 },
				    { s->ep_int, 3 } };

	*p++ = 18; *p++ = 1;
	*p++ = s->bcd_usb & 0xff; *p++ = s->bcd_usb >> 8;
	*p++ = s->dev_class; *p++ = 0; *p++ = s->dev_class == 9;
	*p++ = TWIN_USB_EP0_PACKET;
	*p++ = s->vid & 0xff; *p++ = s->vid >> 8;
	*p++ = s->pid & 0xff; *p++ = s->pid >> 8;
	*p++ = s->bcd_device & 0xff; *p++ = s->bcd_device >> 8;
	for (int i = 0; i < 3; i++)
		*p++ = twin_usb_str_index(s, i);
	*p++ = 1;

	*p++ = 9; *p++ = 2; *p++ = total & 0xff; *p++ = total >> 8;
	*p++ = 1; *p++ = 1; *p++ = 0;
	*p++ = s->dev_class == 9 ? 0xe0 : 0x80; *p++ = 0xfa;
	*p++ = 9; *p++ = 4; *p++ = 0; *p++ = 0; *p++ = (uint8_t)neps;
	*p++ = s->if_class; *p++ = s->if_sub; *p++ = s->if_proto; *p++ = 0;
	for (int i = 0; i < 3; i++) {
		uint16_t mps = eps[i][1] == 3 ? 1 : TWIN_USB_BULK_PACKET;

		if (!eps[i][0])
			continue;
		*p++ = 7; *p++ = 5; *p++ = eps[i][0]; *p++ = eps[i][1];
		*p++ = mps & 0xff; *p++ = mps >> 8; *p++ = eps[i][1] == 3 ? 12 : 0;
	}
	return (size_t)(p - o);
}

/* Where node N's device sits: v2.5+ behind the hub (1-1.N), v2.4 on the
 * root port the mux drives (1-1). hardware.md §6.1. */
static void twin_usb_place(struct twin *t, unsigned slot, char *sysname,
			   size_t nlen, char *syspath, size_t plen)
{
	if (!slot || t->opt.rev == TWIN_REV_2_4) {
		snprintf(sysname, nlen, "1-1");
		snprintf(syspath, plen, TWIN_USB_SYS "/usb1/1-1");
	} else {
		snprintf(sysname, nlen, "1-1.%u", slot);
		snprintf(syspath, plen, TWIN_USB_SYS "/usb1/1-1/1-1.%u", slot);
	}
}

static char *twin_usb_record(struct twin_usb_dev *d, const char *path,
			     const char *devpath)
{
	const struct twin_usb_desc *s = &d->desc;
	uint8_t raw[64];
	size_t n = twin_usb_desc_build(s, raw);
	unsigned minor = d->devnum - 1;	/* bus 1: (bus - 1) * 128 + devnum - 1 */
	static const char *const names[3] = { "manufacturer", "product", "serial" };
	GString *r = g_string_new(NULL);

	g_string_append_printf(r,
		"P: %s\nN: bus/usb/001/%03u\n"
		"E: SUBSYSTEM=usb\nE: DEVTYPE=usb_device\nE: DRIVER=usb\n"
		"E: DEVNAME=/dev/bus/usb/001/%03u\nE: BUSNUM=001\nE: DEVNUM=%03u\n"
		"E: MAJOR=189\nE: MINOR=%u\nE: PRODUCT=%x/%x/%x\nE: TYPE=%u/0/%u\n"
		"A: dev=189:%u\\n\nA: busnum=1\\n\nA: devnum=%u\\n\nA: devpath=%s\\n\n"
		"A: speed=480\\n\nA: version= 2.00\\n\nA: idVendor=%04x\\n\n"
		"A: idProduct=%04x\\n\nA: bcdDevice=%04x\\n\nA: bDeviceClass=%02x\\n\n"
		"A: bMaxPacketSize0=%u\\n\nA: bNumConfigurations=1\\n\n"
		"A: bConfigurationValue=1\\n\nA: bNumInterfaces= 1\\n\n"
		"A: maxchild=%u\\n\nA: removable=%s\\n\nH: descriptors=",
		path + 4, d->devnum, d->devnum, d->devnum, minor, s->vid, s->pid,
		s->bcd_device, s->dev_class, s->dev_class == 9, minor, d->devnum,
		devpath, s->vid, s->pid, s->bcd_device, s->dev_class,
		TWIN_USB_EP0_PACKET, s->dev_class == 9 ? 4 : 0,
		d->slot ? "removable" : "unknown");
	for (size_t i = 0; i < n; i++)
		g_string_append_printf(r, "%02x", raw[i]);
	g_string_append_c(r, '\n');
	for (int i = 0; i < 3; i++)
		if (s->strings[i])
			g_string_append_printf(r, "A: %s=%s\\n\n", names[i],
					       s->strings[i]);
	return g_string_free(r, FALSE);
}

static int twin_usb_attach(struct twin *t, struct twin_usb_dev *d)
{
	char path[128];
	const char *devpath;
	char *rec;
	GError *err = NULL;
	gboolean ok;

	twin_usb_place(t, d->slot, d->sysname, sizeof(d->sysname), path, sizeof(path));
	if (!d->slot && d->desc.vid == 0x1d6b) {	/* the root hub */
		g_strlcpy(d->sysname, "usb1", sizeof(d->sysname));
		snprintf(path, sizeof(path), TWIN_USB_SYS "/usb1");
	}
	devpath = strchr(d->sysname, '-') ? strchr(d->sysname, '-') + 1 : "0";
	d->syspath = g_strconcat("/sys", path, NULL);
	snprintf(d->devnode, sizeof(d->devnode), "/dev/bus/usb/001/%03u", d->devnum);

	/* The handler must be on the node before the device exists
	 * (toolchain.md §7.2, step 3). */
	d->handler = umockdev_ioctl_base_new();
	g_signal_connect(d->handler, "handle-ioctl", G_CALLBACK(twin_usbfs_on_ioctl), d);
	if (!umockdev_testbed_attach_ioctl(t->usb->testbed, d->devnode,
					   d->handler, &err))
		goto fail;
	rec = twin_usb_record(d, d->syspath, devpath);
	/* Under the preload this also sends the "add" uevent. */
	ok = umockdev_testbed_add_from_string(t->usb->testbed, rec, &err);
	g_free(rec);
	if (!ok)
		goto fail;
	d->attached = true;
	return 0;
fail:
	fprintf(stderr, "tp-twin: cannot add USB device %s: %s\n", d->sysname,
		err ? err->message : "?");
	g_clear_error(&err);
	return -EIO;
}

struct twin_usb_dev *twin_usb_dev_new(struct twin *t, unsigned slot,
				      const struct twin_usb_ops *ops,
				      const struct twin_usb_desc *desc,
				      void *priv)
{
	struct twin_usb_dev *d = g_new0(struct twin_usb_dev, 1);
	char note[96];

	d->t = t;
	d->ops = ops;
	d->desc = *desc;
	d->priv = priv;
	d->slot = slot;
	/* The kernel hands out addresses round-robin (2..127 on a bus). */
	d->devnum = t->usb->next_devnum;
	t->usb->next_devnum = t->usb->next_devnum >= 127 ? 2 : t->usb->next_devnum + 1;
	g_queue_init(&d->pending);
	g_queue_init(&d->done);
	g_ptr_array_add(t->usb->devs, d);
	if (twin_usb_attach(t, d)) {
		twin_timeline_violation(t, "twin", "could not add USB device %s",
					d->sysname);
		d->gone = true;
		return d;
	}
	if (slot) {
		char subject[16];

		snprintf(subject, sizeof(subject), "node%u", slot);
		snprintf(note, sizeof(note), "%04x:%04x at %s, dev %u", desc->vid,
			 desc->pid, d->sysname, d->devnum);
		twin_timeline_add(t, "usbdev", subject, "none", ops->kind, note);
		t->usb->node[slot].dev = d;
		twin_usbdrv_probe(t, d);
	}
	return d;
}

static void twin_usb_session_report(struct twin_usb_dev *d, char *note,
				    size_t len)
{
	char fig[128];

	twin_usbtime_report(d->t, d, fig, sizeof(fig));
	snprintf(note, len, "%s", fig);
	fprintf(stderr, "tp-twin: usb node%u %s (%s, dev %u): %s\n", d->slot,
		d->ops->kind, d->sysname, d->devnum, fig);
}

/* The device leaves the bus: its driver's disk first, then the remove
 * uevent and the sysfs entry, as the kernel does (toolchain.md §7.2a);
 * URBs in flight end with ESHUTDOWN. */
void twin_usb_dev_delete(struct twin *t, struct twin_usb_dev *d)
{
	char note[160], subject[16];

	if (!d || d->gone)
		return;
	d->gone = true;
	twin_sched_cancel(t, d);
	if (d->disk)
		twin_msd_gone(d->disk);
	twin_usbfs_shutdown(d);
	if (d->attached) {
		umockdev_testbed_uevent(t->usb->testbed, d->syspath, "remove");
		umockdev_testbed_remove_device(t->usb->testbed, d->syspath);
		umockdev_testbed_detach_ioctl(t->usb->testbed, d->devnode, NULL);
		d->attached = false;
	}
	if (d->slot) {
		twin_usb_session_report(d, note, sizeof(note));
		snprintf(subject, sizeof(subject), "node%u", d->slot);
		twin_timeline_add(t, "usbdev", subject, d->ops->kind, "none", note);
		if (t->usb->node[d->slot].dev == d)
			t->usb->node[d->slot].dev = NULL;
	}
}

/*
 * Peers that wait in real time (docs/twin.md, "Virtual time"). tpkit and
 * the test clients wait through the socket (SLEEP), so the virtual clock
 * moves when they ask. A program that knows nothing of the twin (Debian's
 * rkdeveloptool, upstream rpiboot) waits with sleep(): nothing moves the
 * clock, and what it waits for (the loader re-enumerating after a
 * download) would never come. So while such a program has the floor (it
 * made a usbdevfs call while no socket connection was open) and has gone
 * quiet for TWIN_USB_PEER_IDLE_US of real time, the clock jumps to the
 * next pending event and runs it, one event per quiet spell. Virtual times
 * stay exact (an event runs at its own time); only which events a peer
 * sees before its next call depends on its sleeps, as on hardware. Only
 * with --peer-clock: a client that speaks the socket now and then (the
 * self-test's) must keep the clock to itself.
 */
#define TWIN_USB_PEER_IDLE_US	50000
#define TWIN_USB_PEER_TICK_MS	10

void twin_usb_peer_seen(struct twin *t)
{
	if (!t->conns)
		t->usb->peer = true;
	t->usb->peer_last = g_get_monotonic_time();
}

static gboolean twin_usb_peer_tick(gpointer data)
{
	struct twin *t = data;
	struct twin_usb *u = t->usb;
	int64_t now = g_get_monotonic_time();
	uint64_t at;

	if (t->conns) {
		u->peer = false;	/* a client drives the clock itself */
		return G_SOURCE_CONTINUE;
	}
	if (!u->peer || now - u->peer_last < TWIN_USB_PEER_IDLE_US ||
	    !twin_sched_next(t, &at))
		return G_SOURCE_CONTINUE;
	u->peer_last = now;
	if (twin_board_clock_advance(t, at > t->board.now_ns ? at - t->board.now_ns : 0))
		twin_timeline_violation(t, "twin", "the virtual clock overflowed");
	return G_SOURCE_CONTINUE;
}

/* Power and link edges go to the slot's module (hardware.md §6-§7). */
void twin_usb_board_changed(struct twin *t)
{
	struct twin_usb *u = t->usb;

	if (!u || !u->started)
		return;
	for (unsigned n = 1; n <= TWIN_SLOTS; n++) {
		struct twin_usb_node *nd = &u->node[n];
		bool on = t->board.slot_on[n];
		bool link = !strcmp(t->board.usb[n], "bmc/device");

		if (on != nd->powered) {
			nd->powered = on;
			if (t->opt.module[n] == TWIN_MOD_RK1)
				twin_rk3588_power(t, n, on, false);
			else if (t->opt.module[n] == TWIN_MOD_CM4)
				twin_bcm2711_power(t, n, on, false);
		}
		if (link != nd->link_bmc) {
			nd->link_bmc = link;
			if (t->opt.module[n] == TWIN_MOD_RK1)
				twin_rk3588_link(t, n, link);
			else if (t->opt.module[n] == TWIN_MOD_CM4)
				twin_bcm2711_link(t, n, link);
		}
	}
}

int twin_usb_start(struct twin *t)
{
	static const struct twin_usb_desc root = {
		.vid = 0x1d6b, .pid = 0x0002, .bcd_usb = 0x0200, .bcd_device = 0x0601,
		.dev_class = 9, .if_class = 9, .ep_int = 0x81,
		.strings = { "Linux 6.1.0 ehci_hcd", "EHCI Host Controller", "4200000.usb" },
	};
	/* Genesys GL850G class hub (protocols.md §1); no strings. */
	static const struct twin_usb_desc hub = {
		.vid = 0x05e3, .pid = 0x0608, .bcd_usb = 0x0200, .bcd_device = 0x8537,
		.dev_class = 9, .if_class = 9, .ep_int = 0x81,
	};
	struct twin_usb *u = g_new0(struct twin_usb, 1);

	t->usb = u;
	u->devs = g_ptr_array_new();
	u->testbed = umockdev_testbed_new();
	u->next_devnum = 1;
	twin_usbtime_init(t);
	u->root_hub = twin_usb_dev_new(t, 0, &twin_usb_hub_ops, &root, NULL);
	if (t->opt.rev != TWIN_REV_2_4)
		u->hub = twin_usb_dev_new(t, 0, &twin_usb_hub_ops, &hub, NULL);
	if (u->root_hub->gone || (u->hub && u->hub->gone))
		return -EIO;
	for (unsigned n = 1; n <= TWIN_SLOTS; n++) {
		u->node[n].powered = t->board.slot_on[n];
		u->node[n].link_bmc = !strcmp(t->board.usb[n], "bmc/device");
		if (t->opt.module[n] != TWIN_MOD_EMPTY && twin_emmc_open(t, n))
			return -EIO;
		if (t->opt.module[n] == TWIN_MOD_RK1 && u->node[n].powered)
			twin_rk3588_power(t, n, true, true);	/* --on: running */
		if (t->opt.module[n] == TWIN_MOD_CM4 && u->node[n].powered)
			twin_bcm2711_power(t, n, true, true);
	}
	if (t->opt.peer_clock)
		u->peer_src = g_timeout_add(TWIN_USB_PEER_TICK_MS, twin_usb_peer_tick, t);
	u->started = true;
	return 0;
}

/* The command has ended: sessions still open report their figures. */
void twin_usb_finish(struct twin *t)
{
	struct twin_usb *u = t->usb;
	char note[160], subject[16];

	if (!u)
		return;
	for (unsigned n = 1; n <= TWIN_SLOTS; n++)
		if (t->opt.module[n] == TWIN_MOD_CM4)
			twin_bcm2711_finish(t, n);
		else if (u->node[n].msd)
			twin_msd_finish(u->node[n].msd);	/* an RK1's loader disk */
	for (guint i = 0; i < u->devs->len; i++) {
		struct twin_usb_dev *d = g_ptr_array_index(u->devs, i);

		if (!d->slot || d->gone)
			continue;
		twin_usb_session_report(d, note, sizeof(note));
		snprintf(subject, sizeof(subject), "node%u", d->slot);
		twin_timeline_add(t, "usbdev", subject, d->ops->kind, "end", note);
	}
}

void twin_usb_stop(struct twin *t)
{
	struct twin_usb *u = t->usb;

	if (!u)
		return;
	if (u->peer_src)
		g_source_remove(u->peer_src);
	/* Calls handed over before the command ended, while umockdev's
	 * worker can still answer them. */
	while (g_main_context_iteration(NULL, FALSE))
		;
	for (unsigned n = 1; n <= TWIN_SLOTS; n++)
		if (t->opt.module[n] == TWIN_MOD_RK1)
			twin_rk3588_free(t, n);
		else if (t->opt.module[n] == TWIN_MOD_CM4)
			twin_bcm2711_free(t, n);
	twin_sched_free(t);
	g_clear_object(&u->testbed);	/* stops its worker thread */
	for (guint i = 0; i < u->devs->len; i++) {
		struct twin_usb_dev *d = g_ptr_array_index(u->devs, i);

		twin_usbfs_free(d);
		g_clear_object(&d->handler);
		g_free(d->syspath);
		g_free(d);
	}
	g_ptr_array_free(u->devs, TRUE);
	twin_emmc_close(t);
	if (u->io)
		munmap(u->io, sizeof(uint64_t) * 2 * (TWIN_SLOTS + 1));
	g_free(u);
	t->usb = NULL;
}
