// SPDX-License-Identifier: MIT
/*
 * The simulated CM4 (BCM2711) on USB: the rpiboot stage 1 (the ROM takes
 * the second stage, protocols.md §7.3) and the second stage's file server
 * requests (§7.4) for the files of the chosen mass-storage payload (§7.5),
 * byte for byte as protocols.md gives them. Then the mass-storage device
 * (twin_msd.c) takes over. When which of them is on the bus (power, the
 * boot ROM's choice, re-enumeration) is twin_bcm2711_boot.c's: this file
 * answers transfers and never schedules.
 *
 * The device is never shaped to fit a client: whatever the protocol does
 * not allow fails loudly (a twin violation) the way the device would.
 * What the second stage asks for is what the real one asks for (docs/twin.md,
 * "CM4 firmware sets"), whether or not a client can serve it: the second
 * stage a client sends decides which firmware runs. The files are synthetic
 * in tests, so the twin checks what it can: the second stage's length
 * against the boot message, every file delivered exactly as GetFileSize
 * announced it. A file the firmware can do without, answered "not found",
 * is skipped, as on hardware; one it needs stops it (no disk, no violation).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "twin_usb.h"

#define BCM_REQ_LEN	260u	/* file server request, §7.4 */

/*
 * What each second stage asks for, in order (docs/twin.md, "CM4 firmware
 * sets"). The legacy msd bootcode4.bin: config.txt, pieeprom.sig, start4.elf,
 * fixup4.dat, as hardware logs show (usbboot issues #196, #315); only
 * start4.elf is needed. The gadget's bootcode4.bin (2711/ in bootfiles.bin):
 * the SDRAM set (mcb.bin, every memsys0N.bin of its folder), bootmain, then
 * config.txt, which must say boot_ramdisk=1 (§7.5), and the ramdisk boot.img
 * (the BCM2712 log of usbboot issue #306 reads its folder's memsys files the
 * same way; how many a CM4 reads is the archive's count, UNVERIFIED).
 */
enum { BCM_NEEDED = 0, BCM_OPTIONAL = 1u << 0, BCM_RAMDISK = 1u << 1 };
struct twin_bcm_file {
	const char *name;
	unsigned flags;
};
static const struct twin_bcm_file bcm_msd_files[] = {
	{ "config.txt", BCM_OPTIONAL }, { "pieeprom.sig", BCM_OPTIONAL },
	{ "start4.elf", BCM_NEEDED }, { "fixup4.dat", BCM_OPTIONAL }, { NULL, 0 },
};
static const struct twin_bcm_file bcm_gadget_files[] = {
	{ "mcb.bin", BCM_NEEDED },
	{ "memsys00.bin", BCM_NEEDED }, { "memsys01.bin", BCM_NEEDED },
	{ "memsys02.bin", BCM_NEEDED }, { "memsys03.bin", BCM_NEEDED },
	{ "memsys04.bin", BCM_NEEDED }, { "memsys05.bin", BCM_NEEDED },
	{ "memsys06.bin", BCM_NEEDED }, { "memsys07.bin", BCM_NEEDED },
	{ "memsys08.bin", BCM_NEEDED },
	{ "bootmain", BCM_NEEDED },
	{ "config.txt", BCM_RAMDISK }, { "boot.img", BCM_NEEDED }, { NULL, 0 },
};
/* The second stages told apart by size: usbboot's msd/bootcode4.bin and
 * 2711/bootcode4.bin in mass-storage-gadget64/bootfiles.bin. */
#define BCM_SS_MSD_LEN		105984u
#define BCM_SS_GADGET_LEN	73120u

static void bcm_control(struct twin_usb_dev *d, struct twin_xfer *x);
static void bcm_bulk(struct twin_usb_dev *d, struct twin_xfer *x);
static void bcm_reset(struct twin_usb_dev *d);

static const struct twin_usb_ops bcm_rom_ops = {
	.kind = "bootrom", .control = bcm_control, .bulk = bcm_bulk,
	.done = twin_bcm2711_done, .reset = bcm_reset,
};
static const struct twin_usb_ops bcm_s2_ops = {
	.kind = "stage2", .control = bcm_control, .bulk = bcm_bulk,
	.done = twin_bcm2711_done, .reset = bcm_reset,
};

void twin_bcm2711_event(struct twin *t, unsigned slot, const char *from,
			const char *to, const char *note)
{
	char subject[16];

	snprintf(subject, sizeof(subject), "node%u", slot);
	twin_timeline_add(t, "rpi", subject, from, to, note);
}

static void bcm_violation(struct twin_usb_dev *d, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void bcm_violation(struct twin_usb_dev *d, const char *fmt, ...)
{
	char what[16];
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	snprintf(what, sizeof(what), "node%u", d->slot);
	twin_timeline_violation(d->t, what, "%s: %s", d->ops->kind, msg);
	g_free(msg);
}

/* The firmware stops (a missing file, a file it cannot use): it stays on
 * the bus and answers nothing more; no eMMC appears. */
static void bcm_stop(struct twin_usb_dev *d, struct twin_bcm_node *b,
		     const char *file, const char *why)
{
	twin_bcm2711_event(d->t, b->slot, file, "fail", why);
	b->state = TWIN_BCM_HALT;
	d->unresponsive = true;
}

static const char *bcm_phase_name(enum twin_bcm_phase ph)
{
	static const char *const names[] = {
		"the boot message's ep_write", "the boot message's 24 bytes",
		"the second stage's ep_write", "the second stage's bytes",
		"the ep_read of the return code", "nothing (it is starting the second stage)",
		"an ep_read of its next request", "the answer to GetFileSize",
		"the ep_write of the file", "the file's bytes", "nothing but the Done ack",
	};
	return names[ph];
}

/* The firmware the second stage of len bytes runs: by its size, unless
 * --cm4-payload says (a test's synthetic second stage of another size). */
static enum twin_cm4_payload bcm_payload_of(struct twin *t, uint32_t len)
{
	if (t->opt.cm4.payload != TWIN_CM4_AUTO)
		return t->opt.cm4.payload;
	return len == BCM_SS_GADGET_LEN ? TWIN_CM4_GADGET : TWIN_CM4_MSD;
}

/* The next request the second stage makes (§7.4): GetFileSize then
 * ReadFile per file, then Done (command 2, empty name). */
static void bcm_request(struct twin_bcm_node *b, uint8_t *req)
{
	int32_t cmd;

	memset(req, 0, BCM_REQ_LEN);
	if (!b->files[b->file].name) {
		cmd = 2;			/* Done */
		b->ph = TWIN_BCM_PH_DONE;
		b->done_armed = true;
	} else {
		cmd = b->size_known ? 1 : 0;	/* ReadFile : GetFileSize */
		g_strlcpy((char *)req + 4, b->files[b->file].name, 256);
		b->ph = b->size_known ? TWIN_BCM_PH_READ_CTRL : TWIN_BCM_PH_SIZE;
	}
	req[0] = (uint8_t)cmd;			/* signed 32-bit, little-endian */
}

/* ep_read (§7.2): the device's data to the host over endpoint 0. The
 * device sends what it has, as much as wLength takes (a shorter answer
 * ends with a short packet); wValue/wIndex, which usbboot sets to the same
 * length, are not looked at: a read has no length to announce. */
static void bcm_read(struct twin_usb_dev *d, struct twin_bcm_node *b,
		     struct twin_xfer *x)
{
	uint8_t req[BCM_REQ_LEN];

	if (!x->len && (b->ph == TWIN_BCM_PH_RET || b->ph == TWIN_BCM_PH_REQ))
		return;				/* no data stage: nothing taken */
	if (b->ph == TWIN_BCM_PH_RET) {
		x->actual = MIN(x->len, 4u);
		memset(x->buf, 0, x->actual);	/* return code 0 = success (§7.3) */
		b->ph = TWIN_BCM_PH_ROM_END;
		b->rom_armed = true;
		return;
	}
	if (b->ph == TWIN_BCM_PH_REQ) {
		bcm_request(b, req);
		x->actual = MIN(x->len, (size_t)BCM_REQ_LEN);
		memcpy(x->buf, req, x->actual);
		return;
	}
	bcm_violation(d, "an ep_read of %zu bytes while it waits for %s (§7.%s): STALL",
		      x->len, bcm_phase_name(b->ph), d->ops == &bcm_rom_ops ? "3" : "4");
	x->status = -EPIPE;
}

/* Check the file just received where the twin can (§7.5). */
static void bcm_file_end(struct twin_usb_dev *d, struct twin_bcm_node *b)
{
	char note[64];
	const char *name = b->files[b->file].name;

	if (b->files[b->file].flags & BCM_RAMDISK) {
		char *text = g_strndup((const char *)b->content->data, b->content->len);
		char **lines = g_strsplit(text, "\n", -1);
		bool ok = false;

		for (char **l = lines; *l; l++)
			ok |= !strcmp(g_strstrip(*l), "boot_ramdisk=1");
		g_strfreev(lines);
		g_free(text);
		if (!ok) {
			bcm_violation(d, "%s has no line boot_ramdisk=1 (§7.5): the firmware would look for start4.elf, not boot.img; it stops",
				      name);
			bcm_stop(d, b, name, "no boot_ramdisk=1");
			return;
		}
	}
	snprintf(note, sizeof(note), "%" PRIu32 " bytes", b->size);
	twin_bcm2711_event(d->t, b->slot, name, "ok", note);
	g_byte_array_set_size(b->content, 0);
	b->file++;
	b->size_known = false;
	b->ph = TWIN_BCM_PH_REQ;
}

/* ep_write's control transfer (§7.2): the length rides in the setup. */
static void bcm_write(struct twin_usb_dev *d, struct twin_bcm_node *b,
		      struct twin_xfer *x, uint32_t len)
{
	const char *name = b->files && b->files[b->file].name ? b->files[b->file].name : "";

	switch (b->ph) {
	case TWIN_BCM_PH_MSG_CTRL:
		if (len != TWIN_BCM_MSG_LEN)
			break;
		b->want = len;
		b->got = 0;
		b->ph = TWIN_BCM_PH_MSG_DATA;
		return;
	case TWIN_BCM_PH_SS_CTRL:
		if (len != b->ss_len) {
			bcm_violation(d, "the second stage's ep_write announces %" PRIu32 " bytes, the boot message said %" PRIu32 " (§7.3): STALL",
				      len, b->ss_len);
			x->status = -EPIPE;
			return;
		}
		b->want = len;
		b->got = 0;
		b->ph = TWIN_BCM_PH_SS_DATA;
		return;
	case TWIN_BCM_PH_SIZE:
		/* §7.4: found = the size in wValue/wIndex; not found =
		 * ep_write(NULL, 0), size 0. A file the firmware can do
		 * without is skipped (no ReadFile follows, as on hardware);
		 * one it needs stops it: it stays on the bus, mute. Either is
		 * the device's normal life, not a violation. */
		if (len == 0) {
			if (b->files[b->file].flags & BCM_OPTIONAL) {
				twin_bcm2711_event(d->t, b->slot, name, "absent",
						   "not found: optional");
				b->file++;
				b->ph = TWIN_BCM_PH_REQ;
				return;
			}
			bcm_stop(d, b, name, "not found: needed, the firmware stops");
			return;
		}
		if (len > INT32_MAX) {
			bcm_violation(d, "GetFileSize(%s): size %" PRIu32 " is negative as the signed 32-bit the protocol carries (§7.4): STALL",
				      name, len);
			x->status = -EPIPE;
			return;
		}
		b->size = len;
		b->size_known = true;
		b->ph = TWIN_BCM_PH_REQ;
		return;
	case TWIN_BCM_PH_READ_CTRL:
		if (len != b->size) {
			bcm_violation(d, "ReadFile(%s): ep_write of %" PRIu32 " bytes, GetFileSize said %" PRIu32 " (§7.4): STALL",
				      name, len, b->size);
			x->status = -EPIPE;
			return;
		}
		b->want = len;
		b->got = 0;
		b->ph = TWIN_BCM_PH_READ_DATA;
		return;
	case TWIN_BCM_PH_DONE:
		if (len == 0)
			return;		/* the ack of an empty name (§7.4 step 2) */
		break;
	default:
		break;
	}
	bcm_violation(d, "an ep_write of %" PRIu32 " bytes while it waits for %s (§7.%s): STALL",
		      len, bcm_phase_name(b->ph), d->ops == &bcm_rom_ops ? "3" : "4");
	x->status = -EPIPE;
}

static void bcm_control(struct twin_usb_dev *d, struct twin_xfer *x)
{
	struct twin_bcm_node *b = d->priv;
	const uint8_t *s = x->setup;
	uint32_t len = (uint32_t)(s[2] | s[3] << 8) | (uint32_t)(s[4] | s[5] << 8) << 16;

	if (b->state == TWIN_BCM_HALT) {
		x->status = -EAGAIN;	/* stopped: NAK */
		return;
	}
	if (s[1] != 0 || (s[0] != 0x40 && s[0] != 0xc0)) {
		bcm_violation(d, "control request %02x/%02x is neither ep_write (0x40/0) nor ep_read (0xC0/0) (§7.2): STALL",
			      s[0], s[1]);
		x->status = -EPIPE;
	} else if (s[0] == 0x40 && x->len) {
		bcm_violation(d, "ep_write's control transfer has a %zu-byte data stage; the data goes over bulk OUT 1 (§7.2): STALL",
			      x->len);
		x->status = -EPIPE;
	} else if (s[0] == 0x40) {
		bcm_write(d, b, x, len);
	} else {
		bcm_read(d, b, x);
	}
}

/* ep_write's data: bulk OUT 1, in transfers of any length (a device
 * sees packets, not where the host's transfers end; usbboot happens to
 * send 16 KiB at a time), never more than the ep_write announced. */
static void bcm_bulk(struct twin_usb_dev *d, struct twin_xfer *x)
{
	struct twin_bcm_node *b = d->priv;

	if (b->state == TWIN_BCM_HALT) {
		x->status = -EAGAIN;
		return;
	}
	if (x->ep != TWIN_BCM_EP_DATA) {
		bcm_violation(d, "%zu bytes on bulk endpoint 0x%02x; ep_write's data goes to bulk OUT 1 (§7.2), what the ROM does with 0x%02x is not known: STALL",
			      x->len, x->ep, x->ep);
		x->status = -EPIPE;
		return;
	}
	if (!x->len)
		return;				/* a zero-length packet: nothing */
	if (b->ph != TWIN_BCM_PH_MSG_DATA && b->ph != TWIN_BCM_PH_SS_DATA && b->ph != TWIN_BCM_PH_READ_DATA) {
		bcm_violation(d, "%zu bytes on bulk OUT with no ep_write announcing them; it waits for %s (§7.2): STALL",
			      x->len, bcm_phase_name(b->ph));
		x->status = -EPIPE;
		return;
	}
	if (x->len > b->want - b->got) {
		bcm_violation(d, "a bulk OUT transfer of %zu bytes with %" PRIu32 " of the ep_write left (§7.2): STALL",
			      x->len, b->want - b->got);
		x->status = -EPIPE;
		return;
	}
	if (b->ph == TWIN_BCM_PH_MSG_DATA)
		memcpy(b->msg + b->got, x->buf, x->len);
	else if (b->ph == TWIN_BCM_PH_READ_DATA && (b->files[b->file].flags & BCM_RAMDISK))
		g_byte_array_append(b->content, x->buf, (guint)x->len);
	b->got += (uint32_t)x->len;
	x->actual = x->len;
	if (b->got < b->want)
		return;
	if (b->ph == TWIN_BCM_PH_MSG_DATA) {
		int32_t l = (int32_t)(b->msg[0] | b->msg[1] << 8 | b->msg[2] << 16 |
				      (uint32_t)b->msg[3] << 24);
		bool sig = false;

		for (unsigned i = 4; i < TWIN_BCM_MSG_LEN; i++)
			sig |= b->msg[i] != 0;
		if (l <= 0 || sig) {
			bcm_violation(d, l <= 0 ? "boot message length %" PRId32 " (the second stage's size, §7.3)" :
				      "boot message length %" PRId32 " with a non-zero signature (zeros on BCM2711, §7.3)", l);
			b->ph = TWIN_BCM_PH_MSG_CTRL;
			x->status = -EPIPE;
			return;
		}
		b->ss_len = (uint32_t)l;
		b->ph = TWIN_BCM_PH_SS_CTRL;
	} else if (b->ph == TWIN_BCM_PH_SS_DATA) {
		char note[48];

		b->payload = bcm_payload_of(d->t, b->ss_len);
		b->files = b->payload == TWIN_CM4_GADGET ? bcm_gadget_files : bcm_msd_files;
		snprintf(note, sizeof(note), "%" PRIu32 " bytes", b->ss_len);
		twin_bcm2711_event(d->t, b->slot, "bootcode4.bin", "ok", note);
		b->ph = TWIN_BCM_PH_RET;
	} else {
		bcm_file_end(d, b);
	}
}

/* ---- on the bus ---------------------------------------------------------- */

/* The function B->state says comes onto the bus at the start of its
 * exchange (the disk through twin_msd.c; the others if the node's USB
 * reaches the BMC); when is twin_bcm2711_boot.c's to say. */
void twin_bcm2711_plug(struct twin *t, struct twin_bcm_node *b)
{
	struct twin_usb_node *nd = &t->usb->node[b->slot];

	b->ph = b->state == TWIN_BCM_ROM ? TWIN_BCM_PH_MSG_CTRL : TWIN_BCM_PH_REQ;
	if (b->state == TWIN_BCM_ROM)
		b->files = NULL;	/* the ROM has run no second stage yet */
	b->file = 0;
	b->size_known = false;
	b->rom_armed = b->done_armed = false;
	g_byte_array_set_size(b->content, 0);
	if (b->state == TWIN_BCM_MSD)
		twin_msd_plug(nd->msd);
	else if (nd->link_bmc && !nd->dev)
		twin_usb_dev_new(t, b->slot, b->state == TWIN_BCM_ROM ? &bcm_rom_ops : &bcm_s2_ops,
				 b->state == TWIN_BCM_ROM ? &b->rom_desc : &b->s2_desc, b);
}

/* A bus reset: the ROM forgets a half-received ep_write; the second stage
 * goes back to its first request (the twin's choice). */
static void bcm_reset(struct twin_usb_dev *d)
{
	struct twin_bcm_node *b = d->priv;

	if (b->state == TWIN_BCM_ROM || b->state == TWIN_BCM_S2)
		twin_bcm2711_plug(d->t, b);
}
