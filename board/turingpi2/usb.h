/* SPDX-License-Identifier: MIT */
/*
 * USB routing of the nodes (hardware.md §6). A request becomes a plan — the
 * ordered line and regulator changes — which is pure data and unit-tested
 * per revision, then applied on the board with every line claimed first.
 */
#ifndef TP_USB_H
#define TP_USB_H

#include "board.h"

enum tp_usb_mode { TP_USB_HOST, TP_USB_DEVICE, TP_USB_FLASH };
enum tp_usb_route { TP_ROUTE_BMC, TP_ROUTE_USB_A, TP_ROUTE_USB_C };
enum tp_usb_link { TP_LINK_UNKNOWN, TP_LINK_NONE, TP_LINK_BMC, TP_LINK_USB_A, TP_LINK_USB_C };

#define TP_USB_PLAN_MAX 16

struct tp_usb_step {
	char name[64];  /* a line or SoC pin name, or a regulator state file */
	bool regulator; /* name is a state file; value 1 = enabled */
	int value;
};

struct tp_usb_plan {
	size_t n;
	struct tp_usb_step step[TP_USB_PLAN_MAX];
};

const char *tp_usb_mode_name(enum tp_usb_mode m);
const char *tp_usb_route_name(enum tp_usb_route r);
const char *tp_usb_link_name(enum tp_usb_link l);
int tp_usb_mode_parse(const char *s, enum tp_usb_mode *m);
int tp_usb_route_parse(const char *s, enum tp_usb_route *r);

/* Work out the changes; -EOPNOTSUPP (with the reason) for what the revision
 * cannot do, such as host mode on v2.5. */
int tp_usb_plan(const struct tp_board_desc *d, unsigned slot, enum tp_usb_mode mode,
		enum tp_usb_route route, struct tp_usb_plan *plan);

/* Apply a plan. If a step fails, the steps already made are undone in
 * reverse order, and the message says what each line is left at. */
int tp_usb_apply(struct tp_board *b, const struct tp_usb_plan *plan);

struct tp_lines;

/* The plan's GPIO line names (regulators left out), for claiming them. */
size_t tp_usb_plan_lines(const struct tp_usb_plan *plan, const char **names);

/* Apply with the lines already held (flash mode holds them throughout). */
int tp_usb_apply_lines(struct tp_lines *ls, const struct tp_usb_plan *plan);

struct tp_usb_slot {
	enum tp_usb_link link;
	enum tp_usb_mode mode;
	int strap;   /* nodeN-rpiboot, -1 unknown */
};

struct tp_usb_state {
	bool known;                /* every routing line could be read */
	char holder[96];           /* "PG5 held by bmcd" when not */
	int route_pin;             /* v2.4 PG5 / v2.5 PG2 */
	int selected;              /* v2.4: the slot the mux selects, 0 none */
	bool node1_usb_a;          /* v2.5: node 1 on the USB-A port */
	struct tp_usb_slot slot[TP_BOARD_SLOTS];
};

int tp_usb_status(struct tp_board *b, struct tp_usb_state *st);

#endif
