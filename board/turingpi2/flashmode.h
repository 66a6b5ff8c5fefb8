/* SPDX-License-Identifier: MIT */
/*
 * Flash mode for one or more slots (hardware.md §7.2): power off, route the
 * nodes' USB to the BMC with their boot straps asserted, power on — and,
 * whatever happens after, leave them with the straps released, the nodes
 * powered off and the USB routing as it was. Every line involved is held from enter to
 * leave, so no other process can take one in between and make the restore
 * fail.
 */
#ifndef TP_FLASHMODE_H
#define TP_FLASHMODE_H

#include "board.h"
#include "gpio.h"
#include "usb.h"

/* What flash mode is entered for: the record keeps it, so that what a
 * killed run left is named for what it was (docs/recovery.md). */
enum tp_flashmode_job {
	TP_FLASHMODE_FLASH,         /* tpkit flash: the image written whole */
	TP_FLASHMODE_SEED,          /* tpkit seed: boot block blanked while seeding */
	/* A look at what a running node shows on USB (tpkit commission, for
	 * a node that prints nothing): routed to the BMC as a device, no
	 * strap, its power left as it is on enter; leave powers it off as
	 * for the others. */
	TP_FLASHMODE_LOOK,
	/* tpkit usb msd (node_to_msd): a node brought up to its eMMC as the
	 * BMC's USB disk, then handed over (tp_flashmode_handover()). */
	TP_FLASHMODE_MSD,
};

struct tp_flashmode {
	struct tp_board *b;
	unsigned mask;              /* slots in flash mode (TP_SLOT_BIT) */
	unsigned strapped;          /* slots whose strap is still asserted */
	unsigned live;              /* slots not yet left (tp_flashmode_slot_off) */
	struct tp_lines ls;
	struct tp_usb_plan restore; /* the routing as it was, straps released */
	bool held, routed;
	bool recorded;              /* the record is on the SD card */
	unsigned power_before;      /* slots that were on (TP_SLOT_BIT) */
	enum tp_flashmode_job job;  /* what the nodes are in flash mode for */
	bool hub;                   /* joined the process's hub upstream hold */
	char record[24];            /* the record's name in the state directory */
};

/*
 * Enter flash mode for every slot in mask (TP_SLOT_BIT()s) at once (for
 * TP_FLASHMODE_LOOK: route only, the nodes' power untouched): all
 * their lines are claimed together, once — the shared ones (the v2.5 hub's
 * upstream PG2, the straps) included — so no claim of one slot conflicts
 * with another's. On a board whose USB mux reaches one node at a time
 * (v2.4) mask holds one slot. On failure everything already done is undone
 * (leave runs) and the message says what each line was left at.
 */
int tp_flashmode_enter(struct tp_board *b, unsigned mask, enum tp_flashmode_job job,
		       struct tp_flashmode *fm);

/*
 * Flash mode records the board as it was (each slot's power, the USB
 * routing lines) in the state directory (common/state.h) before changing
 * anything, and removes the record when it has left. A record found later
 * is what a run killed outright (kill -9, the BMC losing power) left
 * behind, with the node on, the strap asserted and the USB routed to the
 * BMC: tp_flashmode_recover() puts the board back as the record says —
 * straps released, those nodes off, the routing as before — and removes
 * it. found gets a sentence for the user naming what was found and what
 * was done ("" if there was no record).
 * Returns 1 if it recovered, 0 if there was nothing to do (no record, or
 * one whose lines a live flash holds: its own), -errno (the record is
 * kept, a later run tries again). tp_flashmode_enter() does it
 * too, so a record is never overwritten before it was acted on.
 */
int tp_flashmode_recover(struct tp_board *b, char *found, size_t size);

/*
 * The tpkit in flash mode now: the pid its record names, if that process
 * is alive, with what it does ("flash", "seeding", "look at the USB") in
 * what; 0 when there is no record or its process is gone. For a message
 * that names who holds the lines rather than only "tpkit".
 */
int tp_flashmode_owner(char *what, size_t size);

/* Release slot's strap once its boot ROM has enumerated: it has made its
 * boot decision, and on Rockchip designs the strap may hide the eMMC from
 * the loader (§7.2, item 5). */
int tp_flashmode_release_strap(struct tp_flashmode *fm, unsigned slot);

/* Done with one slot (flashed or failed) while others go on: its strap
 * released and the node powered off. The routing is shared and stays
 * until tp_flashmode_leave(). */
int tp_flashmode_slot_off(struct tp_flashmode *fm, unsigned slot);

/* Leave flash mode: every strap released, every node off, the routing
 * restored, the lines released. Runs every step even if one fails;
 * returns the first error, message current. Safe to call twice. */
int tp_flashmode_leave(struct tp_flashmode *fm);

/*
 * Leave flash mode handing the nodes over as they are now: straps
 * released, the nodes on (booted into what they show the BMC's USB: a
 * loader, a USB disk) and the USB routed to the BMC, the lines released,
 * the record removed — the nodes are in a state they may stay in, not
 * half-way through a flash. For tpkit usb msd (node_to_msd); the USB route
 * is the next USB mode change's to undo. Returns 0 or the first error
 * (then the record is kept, as for leave).
 */
int tp_flashmode_handover(struct tp_flashmode *fm);

/*
 * The hub's upstream pin (a hub board's hub_upstream), held once per
 * process for all its flash modes (hubhold.c): flash modes entered apart
 * for different slots (tpkit serve's jobs) each join; the first claims the
 * pin, the last puts back the value the first found and releases it.
 */
/* Claim it or join its holders; *before gets its value before the first
 * joined. -EBUSY (message naming the holder) if another process holds it. */
int tp_hub_hold_join(struct tp_board *b, int *before);
/* Drive it (a joined caller). */
int tp_hub_hold_set(int value);
/* What it is driven to now becomes what the last one out puts back (a
 * node handed over to the BMC's USB: tp_flashmode_handover()). */
int tp_hub_hold_keep(void);
/* Leave; the last one out restores and releases it. */
int tp_hub_hold_leave(void);

/*
 * Where a slot's USB device shows up, as a bus-port path pattern for the
 * transports ("*-1.2": port path 1.2 on any bus), or NULL for "anywhere".
 * v2.5+: hub port N behind root port 1 (§6.1); v2.4: the mux shows one node
 * at a time, so any device on the bus is the selected slot's.
 */
const char *tp_board_usb_path(const struct tp_board_desc *d, unsigned slot, char *buf,
			      size_t size);

#endif
