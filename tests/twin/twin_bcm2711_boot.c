// SPDX-License-Identifier: MIT
/*
 * The simulated CM4's life on the board: power and link edges, its boot
 * ROM's choice at power-on (the strap, or no loader in the EEPROM), and
 * the events on the virtual clock that take one USB function off the bus
 * and bring the next: boot ROM, second stage, then the payload's
 * mass-storage device (twin_msd.c), with the --cm4-fault failures on the
 * way, as protocols.md §7 describes them. Apart from twin_bcm2711.c, which
 * speaks rpiboot: that file only answers transfers and arms a flag, this
 * one decides when, so the protocol code never meets the clock.
 */
#include <stdio.h>

#include "twin_usb.h"

#define BCM_ACK_NS	(10 * TWIN_NS_PER_MS)	/* stage 2 stays for the Done ack */

static struct twin_bcm_node *bcm_node(struct twin *t, unsigned slot)
{
	struct twin_usb_node *nd = &t->usb->node[slot];
	struct twin_bcm_node *b = nd->module;

	if (b)
		return b;
	b = g_new0(struct twin_bcm_node, 1);
	b->slot = slot;
	b->content = g_byte_array_new();
	snprintf(b->serial, sizeof(b->serial), "c0ffee0%u", slot);
	/* §7.1, §8.4: 0a5c:2711, one vendor interface with two bulk
	 * endpoints, 0x01 and 0x02, 512 bytes each: wTotalLength 32, as a
	 * CM4's kernel log shows it (usbboot issue #226; docs/twin.md). Both
	 * addresses are OUT; the struct's two bulk slots hold them in the
	 * hardware's order. ep_write's data goes to 0x01. The ROM's
	 * iSerialNumber is 0 or 3 (§7.3), the second stage's any other
	 * index (here 4; the twin's choice, §7 does not say). */
	b->rom_desc = (struct twin_usb_desc){
		.vid = 0x0a5c, .pid = 0x2711, .bcd_usb = 0x0200, .bcd_device = 0x0000,
		.strings = { "Broadcom", "BCM2711 Boot", NULL },
		.if_class = 0xff, .if_sub = 0xff, .if_proto = 0xff,
		.ep_in = TWIN_BCM_EP_DATA, .ep_out = 0x02,
	};
	if (t->opt.cm4.rom_serial == 3)
		b->rom_desc.strings[2] = b->serial;
	b->s2_desc = b->rom_desc;
	b->s2_desc.strings[2] = b->serial;
	b->s2_desc.str_index[2] = 4;
	nd->module = b;
	nd->msd = twin_msd_new(t, slot);
	return b;
}

enum { BCM_EV_ROM, BCM_EV_S2, BCM_EV_UNPLUG, BCM_EV_MSD, BCM_EV_BOOT, BCM_EV_NO_LOADER };

static void bcm_unplug(struct twin *t, struct twin_bcm_node *b)
{
	struct twin_usb_node *nd = &t->usb->node[b->slot];

	twin_msd_unplug(nd->msd);
	twin_usb_dev_delete(t, nd->dev);
}

static unsigned bcm_msd_ms(struct twin *t, const struct twin_bcm_node *b)
{
	/* §7.5: msd "loads quickly", the gadget "takes a few seconds longer". */
	if (t->opt.cm4.msd_ms)
		return t->opt.cm4.msd_ms;
	return b->payload == TWIN_CM4_GADGET ? 5000 : 1000;
}

static void bcm_event_run(struct twin *t, void *obj, uint64_t arg)
{
	struct twin_bcm_node *b = obj;

	switch (arg) {
	case BCM_EV_ROM:
		b->state = TWIN_BCM_ROM;
		twin_bcm2711_plug(t, b);
		break;
	case BCM_EV_UNPLUG:
		bcm_unplug(t, b);
		break;
	case BCM_EV_S2:
		if (t->opt.cm4.faults & TWIN_CM4_NO_STAGE2) {
			/* The second stage crashed before its USB came up:
			 * nothing more on the bus until power off. */
			twin_bcm2711_event(t, b->slot, "stage2", "fail",
					   "--cm4-fault no-stage2: it never enumerates");
			b->state = TWIN_BCM_HALT;
			break;
		}
		b->state = TWIN_BCM_S2;
		twin_bcm2711_plug(t, b);
		break;
	case BCM_EV_MSD:
		if (t->opt.cm4.faults & TWIN_CM4_NO_MSD) {
			/* The payload never brings its USB function up. */
			twin_bcm2711_event(t, b->slot,
					   b->payload == TWIN_CM4_GADGET ? "gadget" : "msd",
					   "fail", "--cm4-fault no-msd: no mass-storage device");
			b->state = TWIN_BCM_HALT;
			break;
		}
		b->state = TWIN_BCM_MSD;
		twin_bcm2711_plug(t, b);
		break;
	case BCM_EV_BOOT:
		b->state = twin_emmc_boot(t, b->slot) ? TWIN_BCM_HALT : TWIN_BCM_OS;
		break;
	case BCM_EV_NO_LOADER: {
		/* The ROM found no loader in the EEPROM: USB device boot, as
		 * with the strap, and not a byte on the UART. */
		char subject[16];

		snprintf(subject, sizeof(subject), "slot%u", b->slot);
		twin_timeline_add(t, "boot", subject, "rom", "usb",
				  "--cm4-fault no-eeprom: no boot loader in the SPI EEPROM");
		b->state = TWIN_BCM_ROM;
		twin_bcm2711_plug(t, b);
		break;
	}
	}
}

void twin_bcm2711_done(struct twin_usb_dev *d, const struct twin_xfer *x, uint64_t end)
{
	struct twin *t = d->t;
	struct twin_bcm_node *b = d->priv;

	(void)x;
	if (b->rom_armed) {
		/* §7.3: the ROM runs the second stage, which re-enumerates
		 * with another iSerialNumber (a new address). */
		b->rom_armed = false;
		b->state = TWIN_BCM_WAIT_S2;
		twin_sched_add(t, end, bcm_event_run, b, BCM_EV_UNPLUG);
		twin_sched_add(t, end + (uint64_t)t->opt.cm4.stage2_ms * TWIN_NS_PER_MS,
			       bcm_event_run, b, BCM_EV_S2);
	}
	if (b->done_armed) {
		/* Done: the payload starts; the second stage leaves the bus
		 * once the host had time to ack the empty name (§7.4). */
		b->done_armed = false;
		b->state = TWIN_BCM_WAIT_MSD;
		twin_bcm2711_event(t, b->slot, "done", "ok",
				   b->payload == TWIN_CM4_GADGET ? "gadget" : "msd");
		twin_sched_add(t, end + BCM_ACK_NS, bcm_event_run, b, BCM_EV_UNPLUG);
		twin_sched_add(t, end + (uint64_t)bcm_msd_ms(t, b) * TWIN_NS_PER_MS,
			       bcm_event_run, b, BCM_EV_MSD);
	}
}

/*
 * Slot power. At power-on the ROM looks at the strap once (hardware.md
 * §6.4, §7.1): asserted, the boot ROM enumerates --cm4-rom-delay later;
 * not, the module boots from its eMMC and gives its verdict
 * --cm4-boot-time later, unless --cm4-fault no-eeprom left the ROM no
 * loader to run: then it enumerates as with the strap. INITIAL: powered
 * at the start (--on), running.
 */
void twin_bcm2711_power(struct twin *t, unsigned slot, bool on, bool initial)
{
	struct twin_bcm_node *b = bcm_node(t, slot);
	bool strap = t->board.rpiboot[slot]->value;

	twin_sched_cancel(t, b);
	if (!on) {
		twin_node_power_off(t, slot);
		bcm_unplug(t, b);
		b->state = TWIN_BCM_OFF;
		return;
	}
	if (initial) {
		b->state = TWIN_BCM_OS;
		return;
	}
	if (!strap && (t->opt.cm4.faults & TWIN_CM4_NO_EEPROM)) {
		/* commissioning.md §5.2: no loader in the EEPROM sends the
		 * ROM to USB device boot, strap or not. */
		b->state = TWIN_BCM_WAIT_ROM;
		twin_sched_add(t, t->board.now_ns + (uint64_t)t->opt.cm4.rom_ms * TWIN_NS_PER_MS,
			       bcm_event_run, b, BCM_EV_NO_LOADER);
		return;
	}
	b->state = strap ? TWIN_BCM_WAIT_ROM : TWIN_BCM_BOOTING;
	twin_sched_add(t, t->board.now_ns + (uint64_t)(strap ? t->opt.cm4.rom_ms :
			t->opt.cm4.boot_ms) * TWIN_NS_PER_MS,
		       bcm_event_run, b, strap ? BCM_EV_ROM : BCM_EV_BOOT);
}

/* The node's USB reaches the BMC, or stops reaching it (hardware.md §6):
 * the function in use enumerates again when the link comes back. */
void twin_bcm2711_link(struct twin *t, unsigned slot, bool up)
{
	struct twin_bcm_node *b = bcm_node(t, slot);

	if (!up)
		bcm_unplug(t, b);
	else if (b->state == TWIN_BCM_ROM || b->state == TWIN_BCM_S2 || b->state == TWIN_BCM_MSD)
		twin_bcm2711_plug(t, b);
}

/* The firmware the node's second stage runs (twin_msd.c: the disk's
 * identity and rate follow it). */
bool twin_bcm2711_gadget(struct twin *t, unsigned slot)
{
	struct twin_bcm_node *b = t->usb->node[slot].module;

	return b && b->payload == TWIN_CM4_GADGET;
}

void twin_bcm2711_finish(struct twin *t, unsigned slot)
{
	struct twin_usb_node *nd = &t->usb->node[slot];

	if (nd->msd)
		twin_msd_finish(nd->msd);
}

void twin_bcm2711_free(struct twin *t, unsigned slot)
{
	struct twin_usb_node *nd = &t->usb->node[slot];
	struct twin_bcm_node *b = nd->module;

	if (!b)
		return;
	twin_sched_cancel(t, b);
	twin_msd_free(nd->msd);
	nd->msd = NULL;
	g_byte_array_free(b->content, TRUE);
	g_free(b);
	nd->module = NULL;
}
