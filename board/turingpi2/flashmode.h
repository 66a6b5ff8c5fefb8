/* SPDX-License-Identifier: MIT */
/*
 * Flash mode for one slot (hardware.md §7.2): power off, route the node's
 * USB to the BMC with its boot strap asserted, power on — and, whatever
 * happens after, leave it with the strap released, the node powered off and
 * the USB routing as it was. Every line involved is held from enter to
 * leave, so no other process can take one in between and make the restore
 * fail.
 */
#ifndef TP_FLASHMODE_H
#define TP_FLASHMODE_H

#include "board.h"
#include "gpio.h"
#include "usb.h"

struct tp_flashmode {
	struct tp_board *b;
	unsigned slot;
	struct tp_lines ls;
	struct tp_usb_plan restore; /* the routing as it was, straps released */
	bool held, routed, strapped;
};

/* Enter flash mode. On failure everything already done is undone (leave
 * runs) and the message says what each line was left at. */
int tp_flashmode_enter(struct tp_board *b, unsigned slot, struct tp_flashmode *fm);

/* Release the strap once the boot ROM has enumerated: it has made its boot
 * decision, and on Rockchip designs the strap may hide the eMMC from the
 * loader (§7.2, item 5). */
int tp_flashmode_release_strap(struct tp_flashmode *fm);

/* Leave flash mode: strap released, node off, routing restored. Runs every
 * step even if one fails; returns the first error, message current. Safe to
 * call twice. */
int tp_flashmode_leave(struct tp_flashmode *fm);

/*
 * Where a slot's USB device shows up, as a bus-port path pattern for the
 * transports ("*-1.2": port path 1.2 on any bus), or NULL for "anywhere".
 * v2.5+: hub port N behind root port 1 (§6.1); v2.4: the mux shows one node
 * at a time, so any device on the bus is the selected slot's.
 */
const char *tp_board_usb_path(const struct tp_board_desc *d, unsigned slot, char *buf,
			      size_t size);

#endif
