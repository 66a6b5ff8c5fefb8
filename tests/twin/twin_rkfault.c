// SPDX-License-Identifier: MIT
/*
 * Faults of a real RK1 and its USB link (docs/twin.md, "Faults"), for the
 * loader in twin_rk3588.c. Each one is something a real module does: a
 * power or cable glitch that drops it off the bus mid-write
 * (--rk-vanish-after), an eMMC error the loader reports in its CSW
 * (--rk-fail-lba), a loader that locks up (--rk-hang-lba), a loader whose
 * read-back is wrong (--rk-corrupt-read, pipeline.md §4). None of them
 * changes the protocol: the CBW -> data -> CSW sequence stays as
 * protocols.md §5 gives it, the fault only decides what the device does
 * inside it, and none is a violation of the host's.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "twin_usb.h"

#define RK_SECTOR	512u
#define RK_READ_LBA	0x14
#define RK_WRITE_LBA	0x15

static void twin_rkfault_event(struct twin_usb_dev *d, const char *op,
			       const char *what, const char *fmt, ...)
	G_GNUC_PRINTF(4, 5);

static void twin_rkfault_event(struct twin_usb_dev *d, const char *op,
			       const char *what, const char *fmt, ...)
{
	char subject[16];
	va_list ap;
	char *note;

	va_start(ap, fmt);
	note = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	snprintf(subject, sizeof(subject), "node%u", d->slot);
	twin_timeline_add(d->t, "rk", subject, op, what, note);
	g_free(note);
}

/* --rk-fault-slot: a fault for one slot leaves the others' loaders sound. */
static bool twin_rkfault_here(const struct twin_usb_dev *d)
{
	return !d->t->opt.rk_fault_slot || d->t->opt.rk_fault_slot == d->slot;
}

static bool twin_rkfault_covers(uint64_t at, uint64_t lba, uint32_t count)
{
	return at != TWIN_NO_FAULT && at >= lba && at - lba < count;
}

/*
 * A READ_LBA or WRITE_LBA the loader has accepted (its CBW checked).
 * Returns true when the command must fail: the eMMC reports an error at
 * --rk-fail-lba (or, reads only, --rk-fail-read-lba), so the CSW says
 * status 1 after the data phase (the data of a write is not stored). A WRITE_LBA covering --rk-hang-lba takes its
 * CBW and then nothing more: the device NAKs everything until it is
 * powered off.
 */
bool twin_rkfault_cmd(struct twin_usb_dev *d, uint8_t op, uint64_t lba,
		      uint32_t count)
{
	const struct twin_opts *o = &d->t->opt;
	const char *name = op == RK_READ_LBA ? "READ_LBA" : "WRITE_LBA";

	twin_signal_cmd(d->t, d->slot, op, lba, count);
	if ((op != RK_READ_LBA && op != RK_WRITE_LBA) || !twin_rkfault_here(d))
		return false;
	if (twin_rkfault_covers(o->rk_fail_lba, lba, count)) {
		twin_rkfault_event(d, name, "fail", "--rk-fail-lba %" PRIu64 ": LBA %" PRIu64 " +%u",
				   o->rk_fail_lba, lba, count);
		return true;
	}
	if (op == RK_READ_LBA && twin_rkfault_covers(o->rk_fail_read_lba, lba, count)) {
		twin_rkfault_event(d, name, "fail", "--rk-fail-read-lba %" PRIu64 ": LBA %" PRIu64
				   " +%u", o->rk_fail_read_lba, lba, count);
		return true;
	}
	if (op == RK_WRITE_LBA && twin_rkfault_covers(o->rk_hang_lba, lba, count)) {
		twin_rkfault_event(d, name, "hang", "--rk-hang-lba %" PRIu64 ": LBA %" PRIu64 " +%u",
				   o->rk_hang_lba, lba, count);
		d->unresponsive = true;
	}
	return false;
}

/*
 * LEN bytes of a WRITE_LBA's data, DONE of it already taken: how many of
 * them reach the device. Fewer than LEN (whole sectors) when --rk-vanish-after is reached
 * inside it: the device takes those, then drops off the bus; the transfer
 * ends with ESHUTDOWN (the caller) and the disconnect happens at its end
 * (f->vanish_armed, twin_rk3588_boot.c). Exactly LEN when the limit falls on
 * its last byte: it completes, and the device goes before the CSW.
 */
size_t twin_rkfault_out(struct twin_usb_dev *d, struct twin_rkfault *f,
			uint64_t lba, uint32_t count, uint32_t done, size_t len)
{
	uint64_t limit = d->t->opt.rk_vanish_after;
	size_t take = len;

	if (limit == TWIN_NO_FAULT || f->vanished || !twin_rkfault_here(d)) {
		f->written += len;
		return len;
	}
	if (f->written + len < limit) {
		f->written += len;
		return len;
	}
	if (limit - f->written < len)
		take = (size_t)(limit - f->written) / RK_SECTOR * RK_SECTOR;
	f->written += take;
	f->vanished = f->vanish_armed = true;
	d->unresponsive = true;
	twin_rkfault_event(d, "WRITE_LBA", "vanish",
			   "--rk-vanish-after %" PRIu64 ": LBA %" PRIu64 " +%u, %zu of %u bytes taken",
			   limit, lba, count, done + take, count * 512u);
	return take;
}

/*
 * READ_LBA data of SECTORS sectors from FIRST (the command: LBA +COUNT),
 * as the eMMC gave it: a loader with a read-back bug inverts the first
 * byte of --rk-corrupt-read. The eMMC itself holds the right data.
 */
void twin_rkfault_in(struct twin_usb_dev *d, uint64_t lba, uint32_t count,
		     uint64_t first, uint8_t *buf, size_t sectors)
{
	uint64_t at = d->t->opt.rk_corrupt_lba;

	if (!twin_rkfault_here(d) || !twin_rkfault_covers(at, first, (uint32_t)sectors))
		return;
	buf[(at - first) * RK_SECTOR] ^= 0xff;
	twin_rkfault_event(d, "READ_LBA", "corrupt",
			   "--rk-corrupt-read %" PRIu64 ": LBA %" PRIu64 " +%u, byte %" PRIu64 " inverted",
			   at, lba, count, (at - lba) * RK_SECTOR);
}
