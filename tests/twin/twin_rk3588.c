// SPDX-License-Identifier: MIT
/*
 * The simulated RK1 (RK3588) on USB: its two functions, the maskrom with
 * its vendor-control download (protocols.md §4) and the downloaded
 * loader's rockusb command protocol (§5), byte for byte as protocols.md
 * gives them. It is never shaped to fit a client: whatever the protocol
 * does not allow fails the way the device would and is a twin violation.
 * When a function is on the bus (power, boot ROM, re-enumeration) is
 * twin_rk3588_boot.c's: this file answers transfers and never schedules.
 *
 * Where protocols.md marks the device's reaction UNVERIFIED (a bad area
 * CRC, §4.3), the twin's choice is documented in docs/twin.md.
 *
 * The BMC's kernel binds rockusb.ko to the loader as it enumerates (§6,
 * twin_usbdrv.c), and makes the eMMC a disk (twin_msd.c) unless a program
 * detaches the driver; nd->msd is that disk.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "twin_usb.h"

#define RK_AREA_CHUNK	4096u	/* §4.1: wLength at most 4096 */
#define RK_CBW_LEN	31u	/* §5.1 */
#define RK_CSW_LEN	13u	/* §5.2 */
#define RK_SECTOR	512u


/* §5.3: command block length, data direction (0 none, 1 IN, 2 OUT) and
 * data length (-1: count x 512) of the opcodes the loader implements. */
static const struct { uint8_t op; uint8_t cblen; uint8_t dir; int len; const char *name; }
rk_ops[] = {
	{ 0x00, 6, 0, 0, "TEST_UNIT_READY" },	{ 0x01, 6, 1, 5, "READ_FLASH_ID" },
	{ 0x1A, 6, 1, 11, "READ_FLASH_INFO" },	{ 0x1B, 6, 1, 16, "READ_CHIP_INFO" },
	{ 0x14, 10, 1, -1, "READ_LBA" },	{ 0x15, 10, 2, -1, "WRITE_LBA" },
	{ 0x25, 10, 0, 0, "ERASE_LBA" },	{ 0xAA, 6, 1, 8, "READ_CAPABILITY" },
	{ 0xFF, 6, 0, 0, "DEVICE_RESET" },
};

/*
 * READ_CAPABILITY's 8 flag bytes (§5.4), as rockchip-linux/u-boot's rockusb
 * function (which the RK3588 usbplug is built from, with NEW_IDB) answers
 * for an eMMC on an RK3588: byte 0 = direct LBA | first 4 MiB access | new
 * vendor storage (0x15); byte 1 = new IDB | switch storage | LBA-write
 * parity | USB 3 capable (0x17); the rest 0. docs/twin.md, "Simulated RK1".
 */
static const uint8_t rk_capability[8] = { 0x15, 0x17 };

static void rk_control(struct twin_usb_dev *d, struct twin_xfer *x);
static void rk_bulk(struct twin_usb_dev *d, struct twin_xfer *x);
static void rk_reset(struct twin_usb_dev *d);

static const struct twin_usb_ops rk_maskrom_ops = {
	.kind = "maskrom", .control = rk_control, .bulk = rk_bulk,
	.done = twin_rk3588_done, .reset = rk_reset,
};
static const struct twin_usb_ops rk_loader_ops = {
	.kind = "loader", .control = rk_control, .bulk = rk_bulk,
	.done = twin_rk3588_done, .reset = rk_reset,
};

/* §2: same IDs in both modes; bcdUSB bit 0 and strings tell them apart.
 * Interface ff/06/05, bulk IN 0x81 and OUT 0x02 of 512 bytes. */
static const struct twin_usb_desc rk_maskrom_desc = {
	.vid = 0x2207, .pid = 0x350b, .bcd_usb = 0x0200, .bcd_device = 0x0100,
	.if_class = 0xff, .if_sub = 0x06, .if_proto = 0x05,
	.ep_in = 0x81, .ep_out = 0x02,
};
static const struct twin_usb_desc rk_loader_desc = {
	.vid = 0x2207, .pid = 0x350b, .bcd_usb = 0x0201, .bcd_device = 0x0100,
	.if_class = 0xff, .if_sub = 0x06, .if_proto = 0x05,
	.ep_in = 0x81, .ep_out = 0x02,
	.strings = { "Rockchip", "USB-MSC", NULL },
};

static void rk_violation(struct twin_usb_dev *d, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void rk_violation(struct twin_usb_dev *d, const char *fmt, ...)
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

static void rk_event(struct twin *t, unsigned slot, const char *from,
		     const char *to, const char *note)
{
	char subject[16];

	snprintf(subject, sizeof(subject), "node%u", slot);
	twin_timeline_add(t, "rk", subject, from, to, note);
}

/* CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection (§4.2). */
static uint16_t rk_crc16(const uint8_t *p, size_t n)
{
	uint16_t crc = 0xffff;

	while (n--) {
		crc ^= (uint16_t)(*p++ << 8);
		for (int i = 0; i < 8; i++)
			crc = crc & 0x8000 ? (uint16_t)(crc << 1 ^ 0x1021) : (uint16_t)(crc << 1);
	}
	return crc;
}

/* ---- the maskrom (§4) ---------------------------------------------------- */

/*
 * An area ends with its first transfer shorter than 4096 bytes; what came
 * before must be one of §4.2's framings: data + CRC in the last transfer
 * (L mod 4096 = 1..4093), a separate 2-byte CRC (L mod 4096 = 0, or 4095
 * padded with a 0x00 that the CRC covers), or data + CRC filling 4096
 * bytes followed by a single 0x00 (L mod 4096 = 4094).
 */
static void rk_area_end(struct twin_usb_dev *d, struct twin_rk_node *rk,
			struct twin_xfer *x)
{
	const uint8_t *s = rk->stream->data;
	size_t total = rk->stream->len, last = x->len, l;
	char note[64];
	uint16_t want, got;

	if (last == 1 && (s[total - 1] != 0 || total < RK_AREA_CHUNK + 1)) {
		rk_violation(d, "area 0x%03x ends with a 1-byte transfer that is not the 0x00 after a full 4096-byte one (§4.2)",
			     rk->area);
		goto stall;
	}
	l = last == 1 ? total - 3 : total - 2;
	if (last == 2 && l == 0) {
		rk_violation(d, "area 0x%03x has no data, only a CRC (§4.1)", rk->area);
		goto stall;
	}
	want = rk_crc16(s, l);
	got = (uint16_t)(s[l] << 8 | s[l + 1]);
	if (want != got) {
		rk_violation(d, "area 0x%03x: CRC-16 0x%04x, the data's is 0x%04x (§4.2): area dropped, STALL",
			     rk->area, got, want);
		goto stall;
	}
	snprintf(note, sizeof(note), "%zu bytes, CRC 0x%04x", l, got);
	rk_event(d->t, rk->slot, rk->area == 0x471 ? "0x471" : "0x472", "ok", note);
	if (rk->area == 0x471)
		rk->areas_471++;	/* the ROM runs it (DDR init) */
	else
		rk->plug_armed = true;	/* the usbplug starts: twin_rk3588_done */
	rk->area = 0;
	g_byte_array_set_size(rk->stream, 0);
	return;
stall:
	x->status = -EPIPE;
	rk->area = 0;
	g_byte_array_set_size(rk->stream, 0);
}

static void rk_maskrom_control(struct twin_usb_dev *d, struct twin_rk_node *rk,
			       struct twin_xfer *x)
{
	const uint8_t *s = x->setup;
	unsigned value = s[2] | s[3] << 8, index = s[4] | s[5] << 8;

	/* §4.1: 0x40 / 0x0C / wValue 0 / wIndex 0x471 or 0x472. */
	if (s[0] != 0x40 || s[1] != 0x0c || value ||
	    (index != 0x471 && index != 0x472) || !x->len ||
	    x->len > RK_AREA_CHUNK) {
		rk_violation(d, "control request %02x/%02x wValue 0x%04x wIndex 0x%04x wLength %zu is not the download of §4.1: STALL",
			     s[0], s[1], value, index, x->len);
		x->status = -EPIPE;
		return;
	}
	if (rk->area && rk->area != index) {
		rk_violation(d, "area 0x%03x starts before area 0x%03x ended with a short transfer (§4.2): STALL",
			     index, rk->area);
		rk->area = 0;
		g_byte_array_set_size(rk->stream, 0);
		x->status = -EPIPE;
		return;
	}
	if (index == 0x472 && !rk->areas_471) {
		rk_violation(d, "area 0x472 before any 0x471 area (§4.1 order): STALL");
		x->status = -EPIPE;
		return;
	}
	rk->area = index;
	g_byte_array_append(rk->stream, x->buf, (guint)x->len);
	x->actual = x->len;
	if (x->len < RK_AREA_CHUNK)
		rk_area_end(d, rk, x);
}

static void rk_control(struct twin_usb_dev *d, struct twin_xfer *x)
{
	struct twin_rk_node *rk = d->priv;

	if (d->ops == &rk_maskrom_ops) {
		rk_maskrom_control(d, rk, x);
		return;
	}
	rk_violation(d, "control request %02x/%02x: the loader only speaks rockusb on its bulk endpoints (§5): STALL",
		     x->setup[0], x->setup[1]);
	x->status = -EPIPE;
}

/* ---- the loader (§5) ----------------------------------------------------- */

static uint32_t rk_le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Check the command block; on a violation the command fails (CSW status
 * 1) after the data phase the CBW announced, which keeps the host in step
 * (the Bulk-Only "thirteen cases" way). */
static void rk_cbw_check(struct twin_usb_dev *d, struct twin_rk_node *rk,
			 const uint8_t *c)
{
	struct twin *t = d->t;
	const uint8_t *cb = c + 15;
	uint8_t flags = c[12], lun = c[13], cblen = c[14];
	size_t i;
	uint64_t cap = twin_emmc_sectors(t, rk->slot);
	int len;

	for (i = 0; i < G_N_ELEMENTS(rk_ops) && rk_ops[i].op != cb[0]; i++)
		;
	rk->fail = true;
	if (i == G_N_ELEMENTS(rk_ops)) {
		rk_violation(d, "unknown or unsupported opcode 0x%02x (§5.3): command failed", cb[0]);
		return;
	}
	len = rk_ops[i].len >= 0 ? rk_ops[i].len :
	      (int)(rk->count * RK_SECTOR);
	if (flags != 0x00 && flags != 0x80)
		rk_violation(d, "%s: CBW flags 0x%02x (0x80 IN or 0x00, §5.1)", rk_ops[i].name, flags);
	else if (lun)
		rk_violation(d, "%s: LUN %u (0, §5.1)", rk_ops[i].name, lun);
	else if (cblen != rk_ops[i].cblen)
		rk_violation(d, "%s: command block length %u, §5.3 says %u", rk_ops[i].name,
			     cblen, rk_ops[i].cblen);
	else if (rk->dlen != (uint32_t)len ||
		 (len && (flags == 0x80) != (rk_ops[i].dir == 1)))
		rk_violation(d, "%s: data phase %s %" PRIu32 " bytes, §5.3 says %s %d",
			     rk_ops[i].name, flags == 0x80 ? "IN" : "OUT", rk->dlen,
			     rk_ops[i].dir == 1 ? "IN" : rk_ops[i].dir ? "OUT" : "none", len);
	else if (cblen == 10 && (cb[6] || cb[9]))
		rk_violation(d, "%s: reserved command block bytes not 0 (§5.1)", rk_ops[i].name);
	else if ((cb[0] == 0x14 || cb[0] == 0x15) && rk->sub)
		rk_violation(d, "%s: subcode %u (0 = image method, §5.1)", rk_ops[i].name, rk->sub);
	else if (cblen == 10 && rk->lba + rk->count > cap)
		rk_violation(d, "%s: LBA %" PRIu64 " + %u sectors is beyond the eMMC (%" PRIu64 " sectors)",
			     rk_ops[i].name, rk->lba, rk->count, cap);
	else if (cb[0] == 0xFF && rk->sub != 0 && rk->sub != 2 && rk->sub != 3 && rk->sub != 4)
		rk_violation(d, "DEVICE_RESET subcode %u (%s, §5.4)", rk->sub,
			     rk->sub == 1 ? "MSC mode is not modelled" : "unknown");
	else
		rk->fail = false;
	if (!rk->fail && (cb[0] == 0x14 || cb[0] == 0x15) &&
	    rk->count > t->opt.rk_max_sectors) {
		char note[64];

		/* A loader limit, not a protocol error: the host must cope. */
		snprintf(note, sizeof(note), "%u sectors > --rk-max-sectors %u",
			 rk->count, t->opt.rk_max_sectors);
		rk_event(t, rk->slot, rk_ops[i].name, "fail", note);
		rk->fail = true;
	}
}

static void rk_cbw(struct twin_usb_dev *d, struct twin_rk_node *rk, struct twin_xfer *x)
{
	const uint8_t *c = x->buf;
	struct twin *t = d->t;

	if (x->len != RK_CBW_LEN || rk_le32(c) != 0x43425355) {
		rk_violation(d, x->len != RK_CBW_LEN ?
			     "a CBW of %zu bytes (31, §5.1): STALL" :
			     "CBW signature is not \"USBC\" (§5.1, %zu bytes): STALL", x->len);
		x->status = -EPIPE;
		twin_usb_dev_halt(d, d->desc.ep_in);
		return;
	}
	rk->tag = rk_le32(c + 4);
	rk->dlen = rk_le32(c + 8);
	rk->op = c[15];
	rk->sub = c[16];
	rk->lba = (uint64_t)c[17] << 24 | c[18] << 16 | c[19] << 8 | c[20];
	rk->count = (uint32_t)(c[22] << 8 | c[23]);
	rk->done = 0;
	rk_cbw_check(d, rk, c);
	if (!rk->fail && twin_rkfault_cmd(d, rk->op, rk->lba, rk->count))
		rk->fail = true;
	memset(rk->reply, 0, sizeof(rk->reply));
	if (!rk->fail && rk->op == 0x01) {
		memcpy(rk->reply, "EMMC", 4);		/* §5.4 */
	} else if (!rk->fail && rk->op == 0x1A) {
		uint64_t sec = twin_emmc_sectors(t, rk->slot);

		rk->reply[0] = sec & 0xff; rk->reply[1] = sec >> 8 & 0xff;
		rk->reply[2] = sec >> 16 & 0xff; rk->reply[3] = sec >> 24 & 0xff;
		rk->reply[4] = 0x00; rk->reply[5] = 0x04;	/* 1024-sector blocks */
		rk->reply[6] = 4;				/* 2 KiB pages */
		rk->reply[8] = 40;				/* access time */
		rk->reply[10] = 1;				/* chip select 0 */
	} else if (!rk->fail && rk->op == 0x1B) {
		memcpy(rk->reply, "8853", 4);		/* RK3588, reversed */
	} else if (!rk->fail && rk->op == 0xAA) {
		memcpy(rk->reply, rk_capability, sizeof(rk_capability));
	} else if (!rk->fail && rk->op == 0x25 &&
		   twin_emmc_erase(t, rk->slot, rk->lba, rk->count)) {
		rk->fail = true;
	} else if (!rk->fail && rk->op == 0xFF) {
		rk->reset_armed = true;
		rk->reset_kind = rk->sub;
	}
	rk->stage = !rk->dlen ? TWIN_RK_CSW : (c[12] & 0x80) ? TWIN_RK_DATA_IN : TWIN_RK_DATA_OUT;
	rk->cbw_timed = true;
	x->actual = x->len;
}

/*
 * The data of a WRITE_LBA (or a failing command's OUT phase). The device
 * takes the packets the command wants: a host transfer may run past the
 * data phase (the rest is what follows: twin_usbfs.c), but not end it in
 * the middle of a packet.
 */
static void rk_data_out(struct twin_usb_dev *d, struct twin_rk_node *rk, struct twin_xfer *x)
{
	struct twin *t = d->t;
	uint32_t left = rk->dlen - rk->done;
	uint64_t rate = t->usb->time.emmc_rate;
	size_t len = x->len < left ? x->len : left, take = len;

	if (len % RK_SECTOR && len != left) {
		rk_violation(d, "a %zu-byte OUT transfer in a data phase with %" PRIu32 " bytes left: a short packet inside the data (§5): STALL",
			     x->len, left);
		x->status = -EPIPE;
		return;
	}
	if (len < x->len && left % RK_SECTOR) {
		rk_violation(d, "a %zu-byte OUT transfer for the last %" PRIu32 " bytes of the data: the packet runs past the data phase (§5): STALL",
			     x->len, left);
		x->status = -EPIPE;
		return;
	}
	if (rk->op == 0x15)
		take = twin_rkfault_out(d, &rk->fault, rk->lba, rk->count, rk->done, len);
	if (!rk->fail && rk->op == 0x15 &&
	    twin_emmc_rw(t, rk->slot, true, rk->lba + rk->done / RK_SECTOR,
			 x->buf, take / RK_SECTOR))
		rk->fail = true;
	if (take < len) {
		x->status = -ESHUTDOWN;	/* gone mid-transfer (twin_rk3588_done) */
		return;
	}
	x->actual = len;
	rk->done += (uint32_t)len;
	/* The eMMC takes the data no faster than its write rate. */
	if (rk->op == 0x15 && rate)
		x->min_end = rk->cbw_end + (uint64_t)rk->done * 1000000000 / rate;
	if (rk->done == rk->dlen)
		rk->stage = TWIN_RK_CSW;
}

/*
 * The data of an IN command. The device sends what is left; when the host
 * asked for more, the transfer ends there with a short packet, or, if the
 * data filled whole packets, goes on with the CSW (twin_usbfs.c).
 */
static void rk_data_in(struct twin_usb_dev *d, struct twin_rk_node *rk, struct twin_xfer *x)
{
	uint32_t left = rk->dlen - rk->done;
	size_t n = x->len < left ? x->len : left;

	if (x->len < left && x->len % RK_SECTOR) {
		rk_violation(d, "an IN transfer of %zu bytes, not a multiple of 512, with %" PRIu32 " bytes to come: babble",
			     x->len, left);
		x->status = -EOVERFLOW;
		return;
	}
	memset(x->buf, 0, n);
	if (!rk->fail && rk->op == 0x14) {
		if (twin_emmc_rw(d->t, rk->slot, false, rk->lba + rk->done / RK_SECTOR,
				 x->buf, n / RK_SECTOR))
			rk->fail = true;
		twin_rkfault_in(d, rk->lba, rk->count, rk->lba + rk->done / RK_SECTOR,
				x->buf, n / RK_SECTOR);
	} else if (!rk->fail) {
		memcpy(x->buf, rk->reply + rk->done, n);
	}
	rk->done += (uint32_t)n;
	x->actual = n;
	if (rk->done == rk->dlen)
		rk->stage = TWIN_RK_CSW;
}

static void rk_csw(struct twin_usb_dev *d, struct twin_rk_node *rk, struct twin_xfer *x)
{
	uint8_t *p = x->buf;
	uint32_t residue = rk->fail ? rk->dlen : 0;

	if (x->len < RK_CSW_LEN) {
		rk_violation(d, "an IN transfer of %zu bytes for the 13-byte CSW (§5.2): babble", x->len);
		x->status = -EOVERFLOW;
		return;
	}
	memcpy(p, "USBS", 4);
	p[4] = rk->tag & 0xff; p[5] = rk->tag >> 8 & 0xff;
	p[6] = rk->tag >> 16 & 0xff; p[7] = rk->tag >> 24 & 0xff;
	p[8] = residue & 0xff; p[9] = residue >> 8 & 0xff;
	p[10] = residue >> 16 & 0xff; p[11] = residue >> 24 & 0xff;
	p[12] = rk->fail;
	x->actual = RK_CSW_LEN;
	/* The device's own time per command (docs/twin.md, timing model). */
	x->not_before = d->last_end + d->t->usb->time.cmd_latency_ns;
	rk->stage = TWIN_RK_CBW;
}

static void rk_bulk(struct twin_usb_dev *d, struct twin_xfer *x)
{
	struct twin_rk_node *rk = d->priv;
	bool in = x->ep & 0x80;

	if (d->ops == &rk_maskrom_ops) {
		rk_violation(d, "bulk %s transfer: the maskrom only takes the vendor control download (§2, §4): STALL",
			     in ? "IN" : "OUT");
		x->status = -EPIPE;
		return;
	}
	if (d->unresponsive)
		x->status = -EAGAIN;	/* hung or going: NAK (twin_rkfault.c) */
	else if (!in && rk->stage == TWIN_RK_CBW)
		rk_cbw(d, rk, x);
	else if (!in && rk->stage == TWIN_RK_DATA_OUT)
		rk_data_out(d, rk, x);
	else if (in && rk->stage == TWIN_RK_DATA_IN)
		rk_data_in(d, rk, x);
	else if (in && rk->stage == TWIN_RK_CSW)
		rk_csw(d, rk, x);
	else if (in && rk->stage == TWIN_RK_CBW) {
		/* Nothing to send: the device NAKs, as any USB device with
		 * no data queued; a host draining stale data (rkdeveloptool
		 * after a mismatched CSW, §5.2) times out. Not a deadlock. */
		x->status = -EAGAIN;
		x->nak_wait = true;
	} else {
		x->status = -EAGAIN;	/* NAK until the host reads (§5: one command at a time) */
	}
}

/* ---- on the bus ---------------------------------------------------------- */

/* The maskrom, or with LOADER the loader, comes onto the bus at the start
 * of its protocol (if the node's USB reaches the BMC); when is
 * twin_rk3588_boot.c's to say. */
void twin_rk3588_plug(struct twin *t, struct twin_rk_node *rk, bool loader)
{
	struct twin_usb_node *nd = &t->usb->node[rk->slot];

	rk->state = loader ? TWIN_RK_LOADER : TWIN_RK_ROM;
	rk->area = 0;
	rk->areas_471 = 0;
	rk->stage = TWIN_RK_CBW;
	g_byte_array_set_size(rk->stream, 0);
	if (nd->link_bmc && !nd->dev)
		twin_usb_dev_new(t, rk->slot, loader ? &rk_loader_ops : &rk_maskrom_ops,
				 loader ? &rk_loader_desc : &rk_maskrom_desc, rk);
}

/* A bus reset: the ROM forgets a half-received area, the loader its
 * command (the host's BOT reset recovery). */
static void rk_reset(struct twin_usb_dev *d)
{
	struct twin_rk_node *rk = d->priv;

	rk->area = 0;
	g_byte_array_set_size(rk->stream, 0);
	rk->stage = TWIN_RK_CBW;
}
