// SPDX-License-Identifier: MIT
/*
 * The simulated RK1's life on the board: power, link and reboot edges,
 * its boot ROM's choice at power-on (the strap, else the eMMC's ID block),
 * and the events on the virtual clock that take its USB function off the
 * bus and bring the next one (the usbplug starting, DEVICE_RESET,
 * --rk-vanish-after). Apart from twin_rk3588.c, which speaks the maskrom's
 * and the loader's protocols: that file only answers transfers and arms a
 * flag, this one decides when, so the protocol code never meets the clock.
 */
#include <stdio.h>

#include "twin_usb.h"

static struct twin_rk_node *rk_node(struct twin *t, unsigned slot)
{
	struct twin_usb_node *nd = &t->usb->node[slot];

	if (!nd->module) {
		struct twin_rk_node *rk = g_new0(struct twin_rk_node, 1);

		rk->slot = slot;
		rk->stream = g_byte_array_new();
		nd->module = rk;
		nd->msd = twin_msd_new(t, slot);
	}
	return nd->module;
}

static void rk_appear(struct twin *t, void *obj, uint64_t arg);

static void rk_unplug(struct twin *t, struct twin_rk_node *rk)
{
	twin_usb_dev_delete(t, t->usb->node[rk->slot].dev);
}

/*
 * Without the strap the ROM tries its boot media (commissioning.md §5.1).
 * The twin's RK1 has no SPI flash with a loader (docs/twin.md, "Simulated
 * RK1"), so what decides is the eMMC's ID block (protocols.md §3.4): with
 * one, the loader on the eMMC starts (U-Boot, and its verdict); without,
 * the ROM falls back to USB, as the maskrom, and says nothing on the UART.
 */
static void rk_rom_boot(struct twin *t, struct twin_rk_node *rk)
{
	char subject[16];

	if (twin_emmc_idblock(t, rk->slot)) {
		rk->state = twin_emmc_boot(t, rk->slot) ? TWIN_RK_HALT : TWIN_RK_OS;
		return;
	}
	snprintf(subject, sizeof(subject), "slot%u", rk->slot);
	twin_timeline_add(t, "boot", subject, "rom", "maskrom", "no ID block at sector 64 of the eMMC");
	twin_rk3588_plug(t, rk, false);
}

/* Events on the virtual clock; ARG says which. */
enum { RK_EV_ROM, RK_EV_BOOT, RK_EV_UNPLUG, RK_EV_LOADER, RK_EV_RESET,
       RK_EV_VANISH };

static void rk_appear(struct twin *t, void *obj, uint64_t arg)
{
	struct twin_rk_node *rk = obj;

	switch (arg) {
	case RK_EV_ROM:
		twin_rk3588_plug(t, rk, false);
		break;
	case RK_EV_LOADER:
		twin_rk3588_plug(t, rk, true);
		break;
	case RK_EV_UNPLUG:
		rk_unplug(t, rk);
		rk->state = TWIN_RK_PLUG;
		break;
	case RK_EV_BOOT:
		rk_rom_boot(t, rk);
		break;
	case RK_EV_VANISH:	/* --rk-vanish-after: off the bus until power-off */
		rk_unplug(t, rk);
		rk->state = TWIN_RK_HALT;
		break;
	case RK_EV_RESET:
		twin_node_power_off(t, rk->slot);
		rk_unplug(t, rk);
		rk->state = TWIN_RK_HALT;
		if (rk->reset_kind == 0 || rk->reset_kind == 3) {
			/* The ROM decides again: strap now, or a forced maskrom. */
			bool rom = rk->reset_kind == 3 || t->board.rpiboot[rk->slot]->value;

			rk->state = rom ? TWIN_RK_WAIT_ROM : TWIN_RK_BOOTING;
			twin_sched_add(t, t->board.now_ns + (uint64_t)(rom ? t->opt.rk_maskrom_ms :
					t->opt.rk_boot_ms) * TWIN_NS_PER_MS,
				       rk_appear, rk, rom ? RK_EV_ROM : RK_EV_BOOT);
		}
		break;
	}
}

void twin_rk3588_done(struct twin_usb_dev *d, const struct twin_xfer *x, uint64_t end)
{
	struct twin *t = d->t;
	struct twin_rk_node *rk = d->priv;

	if (rk->cbw_timed) {
		rk->cbw_timed = false;
		rk->cbw_end = end;
	}
	if (rk->plug_armed && x->control) {
		/* §4.3: the usbplug starts, the device drops off the bus and
		 * comes back as the loader (--rk-loader-delay later). */
		rk->plug_armed = false;
		twin_sched_add(t, end, rk_appear, rk, RK_EV_UNPLUG);
		twin_sched_add(t, end + (uint64_t)t->opt.rk_loader_ms * TWIN_NS_PER_MS,
			       rk_appear, rk, RK_EV_LOADER);
	}
	if (rk->fault.vanish_armed) {
		rk->fault.vanish_armed = false;
		twin_sched_add(t, end, rk_appear, rk, RK_EV_VANISH);
	}
	if (rk->reset_armed && rk->stage == TWIN_RK_CBW && (x->ep & 0x80)) {
		rk->reset_armed = false;
		twin_sched_add(t, end, rk_appear, rk, RK_EV_RESET);
	}
}

/*
 * Slot power. At power-on the boot ROM looks at the strap once
 * (hardware.md §6.4, §7.2 step 5: releasing it later changes nothing):
 * asserted, the maskrom enumerates --rk-maskrom-delay later; not, the
 * module boots from its eMMC and gives its verdict --rk-boot-time later.
 * INITIAL: powered when the twin started (--on), already running.
 */
void twin_rk3588_power(struct twin *t, unsigned slot, bool on, bool initial)
{
	struct twin_rk_node *rk = rk_node(t, slot);
	bool strap = t->board.rpiboot[slot]->value;

	twin_sched_cancel(t, rk);
	if (!on) {
		twin_node_power_off(t, slot);
		rk_unplug(t, rk);
		rk->state = TWIN_RK_OFF;
		rk->area = 0;
		rk->reset_armed = rk->plug_armed = rk->fault.vanish_armed = false;
		return;
	}
	if (initial) {
		rk->state = TWIN_RK_OS;
		return;
	}
	rk->state = strap ? TWIN_RK_WAIT_ROM : TWIN_RK_BOOTING;
	twin_sched_add(t, t->board.now_ns + (uint64_t)(strap ? t->opt.rk_maskrom_ms :
			t->opt.rk_boot_ms) * TWIN_NS_PER_MS,
		       rk_appear, rk, strap ? RK_EV_ROM : RK_EV_BOOT);
}

/* The running system restarted the SoC (a node VM's guest reboot): the
 * ROM decides again, as at power-on, without the power-on's delays. */
void twin_rk3588_reboot(struct twin *t, unsigned slot)
{
	struct twin_rk_node *rk = rk_node(t, slot);

	twin_sched_cancel(t, rk);
	if (t->board.rpiboot[slot]->value)
		twin_rk3588_plug(t, rk, false);
	else
		rk_rom_boot(t, rk);
}

/* The node's USB reaches the BMC, or stops reaching it (hardware.md §6). */
void twin_rk3588_link(struct twin *t, unsigned slot, bool up)
{
	struct twin_rk_node *rk = rk_node(t, slot);

	if (!up)
		rk_unplug(t, rk);
	else if (rk->state == TWIN_RK_ROM || rk->state == TWIN_RK_LOADER)
		twin_rk3588_plug(t, rk, rk->state == TWIN_RK_LOADER);
}

void twin_rk3588_free(struct twin *t, unsigned slot)
{
	struct twin_rk_node *rk = t->usb->node[slot].module;

	if (!rk)
		return;
	twin_sched_cancel(t, rk);
	twin_msd_free(t->usb->node[slot].msd);
	t->usb->node[slot].msd = NULL;
	g_byte_array_free(rk->stream, TRUE);
	g_free(rk);
	t->usb->node[slot].module = NULL;
}
