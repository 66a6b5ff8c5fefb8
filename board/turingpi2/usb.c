// SPDX-License-Identifier: MIT
#include "usb.h"
#include "gpio.h"
#include "common/err.h"
#include "common/log.h"
#include "common/path.h"

#include <stdio.h>
#include <string.h>

/*
 * v2.4 mux (hardware.md §6.2): bmcd drives [PG1 SEL1, PG2 OE1, PG0 SEL2, PG3 OE2] as one
 * set, bit i of the node's value driving member i. The values are the v1 C
 * firmware's g_usb_node table too.
 */
static const char *const mux_pins[4] = { "PG1", "PG2", "PG0", "PG3" };
static const unsigned mux_value[TP_BOARD_SLOTS] = { 0xC, 0xD, 0x3, 0x7 };

const char *tp_usb_mode_name(enum tp_usb_mode m)
{
	static const char *const n[] = { "host", "device", "flash" };
	return n[m];
}

const char *tp_usb_route_name(enum tp_usb_route r)
{
	static const char *const n[] = { "bmc", "usb-a", "usb-c" };
	return n[r];
}

const char *tp_usb_link_name(enum tp_usb_link l)
{
	static const char *const n[] = { "unknown", "none", "bmc", "usb-a", "usb-c" };
	return n[l];
}

int tp_usb_mode_parse(const char *s, enum tp_usb_mode *m)
{
	for (enum tp_usb_mode i = TP_USB_HOST; i <= TP_USB_FLASH; i++)
		if (!strcmp(s, tp_usb_mode_name(i))) {
			*m = i;
			return 0;
		}
	return tp_err_set(-EINVAL, "unknown USB mode \"%s\"; use host, device or flash", s);
}

int tp_usb_route_parse(const char *s, enum tp_usb_route *r)
{
	for (enum tp_usb_route i = TP_ROUTE_BMC; i <= TP_ROUTE_USB_C; i++)
		if (!strcmp(s, tp_usb_route_name(i))) {
			*r = i;
			return 0;
		}
	return tp_err_set(-EINVAL, "unknown USB route \"%s\"; use bmc, usb-a or usb-c", s);
}

static void add(struct tp_usb_plan *p, const char *name, bool regulator, int value)
{
	struct tp_usb_step *s = &p->step[p->n++];

	snprintf(s->name, sizeof(s->name), "%s", name);
	s->regulator = regulator;
	s->value = value;
}

static void add_straps(struct tp_usb_plan *p, unsigned slot, enum tp_usb_mode mode)
{
	/* Flash = device + this node's strap; every other mode clears all
	 * four straps, as bmcd's select_usb does (§6.4). */
	for (unsigned n = 1; n <= TP_BOARD_SLOTS; n++) {
		char line[32];

		tp_line_name(line, sizeof(line), n, "rpiboot");
		add(p, line, false, mode == TP_USB_FLASH && n == slot);
	}
}

static int plan_v24(const struct tp_board_desc *d, unsigned slot, enum tp_usb_mode mode,
		    enum tp_usb_route route, struct tp_usb_plan *p)
{
	if (route == TP_ROUTE_USB_C)
		return tp_err_set(-EOPNOTSUPP, "a %s board has no USB-C node port; use --route "
				  "bmc or usb-a",
				  d->name);
	/* Route first (§6.2 "Route"): PG5, then the USB-A VBUS, which is only
	 * powered when the port is in use. */
	add(p, "PG5", false, route == TP_ROUTE_BMC);
	add(p, d->usb_port_power, true, route == TP_ROUTE_USB_A);
	for (unsigned i = 0; i < 4; i++)
		add(p, mux_pins[i], false, (mux_value[slot - 1] >> i) & 1);
	/* usbotg-dev: host mode clears the selected node's bit and sets the
	 * others; device and flash set all four. */
	for (unsigned n = 1; n <= TP_BOARD_SLOTS; n++) {
		char line[32];

		tp_line_name(line, sizeof(line), n, "usbotg-dev");
		add(p, line, false, !(mode == TP_USB_HOST && n == slot));
	}
	add_straps(p, slot, mode);
	return 0;
}

static int plan_v25(const struct tp_board_desc *d, unsigned slot, enum tp_usb_mode mode,
		    enum tp_usb_route route, struct tp_usb_plan *p)
{
	if (mode == TP_USB_HOST)
		return tp_err_set(-EOPNOTSUPP, "a %s board cannot make a node USB host: its nodes "
				  "sit behind a USB hub as devices (hardware.md §6.3)",
				  d->name);
	if (route == TP_ROUTE_USB_A && slot != 1)
		return tp_err_set(-EOPNOTSUPP, "on a %s board only node 1 reaches the USB-A port; "
				  "use --route usb-c for the 4XNODE_USB_OTG port",
				  d->name);
	if (route == TP_ROUTE_USB_A) {
		add(p, "PG0", false, 1);
		add(p, "PG1", false, 1);
	} else {
		/* The hub upstream moves every node at once. */
		add(p, d->hub_upstream, false, route == TP_ROUTE_BMC);
		if (slot == 1) {
			add(p, "PG0", false, 0);
			add(p, "PG1", false, 0);
		}
	}
	add_straps(p, slot, mode);
	return 0;
}

int tp_usb_plan(const struct tp_board_desc *d, unsigned slot, enum tp_usb_mode mode,
		enum tp_usb_route route, struct tp_usb_plan *plan)
{
	memset(plan, 0, sizeof(*plan));
	if (slot < 1 || slot > TP_BOARD_SLOTS)
		return tp_err_set(-EINVAL, "slot %u is not within 1-%d", slot, TP_BOARD_SLOTS);
	if (d->usb_bus == TP_USB_MUX)
		return plan_v24(d, slot, mode, route, plan);
	return plan_v25(d, slot, mode, route, plan);
}

static int reg_get(const char *path)
{
	char buf[32];

	if (tp_file_read(path, buf, sizeof(buf)) < 0)
		return -1;
	return !strncmp(buf, "enabled", 7);
}

static int reg_set(const char *path, int on)
{
	return tp_file_write(path, on ? "enabled" : "disabled");
}

size_t tp_usb_plan_lines(const struct tp_usb_plan *plan, const char **names)
{
	size_t n = 0;

	for (size_t i = 0; i < plan->n; i++)
		if (!plan->step[i].regulator)
			names[n++] = plan->step[i].name;
	return n;
}

int tp_usb_apply_lines(struct tp_lines *ls, const struct tp_usb_plan *plan)
{
	int before[TP_USB_PLAN_MAX];
	size_t done;
	int rc = 0;

	for (size_t i = 0; i < plan->n; i++) {
		const struct tp_usb_step *s = &plan->step[i];
		struct tp_line *l = s->regulator ? NULL : tp_lines_find(ls, s->name);

		if (!s->regulator && (!l || !l->held))
			return tp_err_set(-EPERM, "USB routing: GPIO line %s is not held", s->name);
		before[i] = s->regulator ? reg_get(s->name) : l->value;
	}
	for (done = 0; done < plan->n; done++) {
		const struct tp_usb_step *s = &plan->step[done];

		rc = s->regulator ? reg_set(s->name, s->value) : tp_lines_set(ls, s->name, s->value);
		if (rc < 0)
			break;
	}
	if (rc < 0) {
		struct tp_err_ctx why;
		char left[512] = "";
		size_t len = 0;

		tp_err_save(&why, rc);
		/* Undo in reverse, then report what each line really is. */
		for (size_t i = done; i-- > 0;) {
			const struct tp_usb_step *s = &plan->step[i];

			if (before[i] < 0)
				continue;
			if (s->regulator)
				reg_set(s->name, before[i]);
			else
				tp_lines_set(ls, s->name, before[i]);
		}
		for (size_t i = 0; i < plan->n && len < sizeof(left); i++) {
			const struct tp_usb_step *s = &plan->step[i];

			if (s->regulator)
				continue;
			len += (size_t)snprintf(left + len, sizeof(left) - len, "%s%s=%d",
						len ? " " : "", s->name, tp_lines_get(ls, s->name));
		}
		rc = tp_err_set(rc, "USB routing failed: %s; the steps made were undone; lines "
				"now: %s", why.msg, left);
	}
	return rc;
}

int tp_usb_apply(struct tp_board *b, const struct tp_usb_plan *plan)
{
	const char *names[TP_USB_PLAN_MAX];
	struct tp_lines ls;
	size_t n = tp_usb_plan_lines(plan, names);
	int rc;

	rc = tp_lines_claim(&ls, b->gpio, b->desc, names, n, b->consumer, 0);
	if (rc < 0)
		return rc;
	rc = tp_usb_apply_lines(&ls, plan);
	tp_lines_release(&ls);
	return rc;
}

static enum tp_usb_mode mode_of(int strap, int device)
{
	if (strap == 1)
		return TP_USB_FLASH;
	return device ? TP_USB_DEVICE : TP_USB_HOST;
}

int tp_usb_status(struct tp_board *b, struct tp_usb_state *st)
{
	const struct tp_board_desc *d = b->desc;
	const char *names[TP_LINES_MAX];
	char lines[2 * TP_BOARD_SLOTS][32];
	struct tp_lines ls;
	size_t n = 0;
	int rc;

	memset(st, 0, sizeof(*st));
	for (size_t i = 0; i < d->npins; i++)
		names[n++] = d->pins[i].name;
	for (unsigned s = 1; s <= TP_BOARD_SLOTS; s++) {
		tp_line_name(lines[s - 1], sizeof(lines[0]), s, "rpiboot");
		names[n++] = lines[s - 1];
		if (d->usbotg_all) {
			tp_line_name(lines[TP_BOARD_SLOTS + s - 1], sizeof(lines[0]), s,
				     "usbotg-dev");
			names[n++] = lines[TP_BOARD_SLOTS + s - 1];
		}
	}
	rc = tp_lines_claim(&ls, b->gpio, d, names, n, b->consumer, TP_LINES_TOLERATE_BUSY);
	if (rc < 0)
		return rc;
	st->known = true;
	for (size_t i = 0; i < ls.n; i++)
		if (!ls.l[i].held) {
			st->known = false;
			snprintf(st->holder, sizeof(st->holder), "%s held by %s", ls.l[i].name,
				 ls.l[i].holder);
		}
	if (!st->known) {
		for (unsigned s = 0; s < TP_BOARD_SLOTS; s++)
			st->slot[s].link = TP_LINK_UNKNOWN, st->slot[s].strap = -1;
		goto out;
	}
#define V(name) (tp_lines_find(&ls, (name))->value)
	for (unsigned s = 1; s <= TP_BOARD_SLOTS; s++)
		st->slot[s - 1].strap = V(lines[s - 1]);
	if (d->usb_bus == TP_USB_MUX) {
		unsigned v = 0;

		for (unsigned i = 0; i < 4; i++)
			v |= (unsigned)V(mux_pins[i]) << i;
		st->route_pin = V("PG5");
		for (unsigned s = 1; s <= TP_BOARD_SLOTS; s++)
			if (mux_value[s - 1] == v)
				st->selected = (int)s;
		for (unsigned s = 1; s <= TP_BOARD_SLOTS; s++) {
			struct tp_usb_slot *u = &st->slot[s - 1];

			u->link = (int)s != st->selected ? TP_LINK_NONE :
				  st->route_pin	 ? TP_LINK_BMC :
						   TP_LINK_USB_A;
			u->mode = mode_of(u->strap, V(lines[TP_BOARD_SLOTS + s - 1]));
		}
	} else {
		st->route_pin = V(d->hub_upstream);
		st->node1_usb_a = V("PG0") && V("PG1");
		for (unsigned s = 1; s <= TP_BOARD_SLOTS; s++) {
			struct tp_usb_slot *u = &st->slot[s - 1];

			u->link = (s == 1 && st->node1_usb_a) ? TP_LINK_USB_A :
				  st->route_pin		    ? TP_LINK_BMC :
							      TP_LINK_USB_C;
			u->mode = mode_of(u->strap, 1);
		}
	}
#undef V
out:
	tp_lines_release(&ls);
	return 0;
}
