// SPDX-License-Identifier: MIT
#include "flashmode.h"
#include "power.h"
#include "common/err.h"
#include "common/log.h"
#include "common/path.h"
#include "common/slots.h"

#include <stdio.h>
#include <string.h>

const char *tp_board_usb_path(const struct tp_board_desc *d, unsigned slot, char *buf,
			      size_t size)
{
	if (d->usb_bus == TP_USB_MUX)
		return NULL;
	snprintf(buf, size, "*-1.%u", slot);
	return buf;
}

/* "slot 2", "slots 1-2,4": for messages. */
static const char *slots_name(unsigned mask, char *buf, size_t size)
{
	char list[16];

	snprintf(buf, size, "slot%s %s", mask & (mask - 1) ? "s" : "",
		 tp_slots_format(mask, list, sizeof(list)));
	return buf;
}

static void strap_line(unsigned slot, char *buf, size_t size)
{
	tp_line_name(buf, size, slot, "rpiboot");
}

/* 1 enabled, 0 disabled, -1 unreadable. */
static int regulator_state(const char *path)
{
	char buf[32];

	if (tp_file_read(path, buf, sizeof(buf)) < 0)
		return -1;
	if (!strncmp(buf, "enabled", 7))
		return 1;
	return strncmp(buf, "disabled", 8) ? -1 : 0;
}

/*
 * The routing for several slots: each slot's plan, merged in slot order.
 * A line in several plans (PG2, the straps) appears once; a strap is
 * asserted if any slot asserts it, since each plan asserts only its own.
 */
static int plan_slots(const struct tp_board_desc *d, unsigned mask, struct tp_usb_plan *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned s = 1; s <= TP_BOARD_SLOTS; s++) {
		struct tp_usb_plan p;
		int rc;

		if (!(mask & TP_SLOT_BIT(s)))
			continue;
		rc = tp_usb_plan(d, s, TP_USB_FLASH, TP_ROUTE_BMC, &p);
		if (rc < 0)
			return rc;
		for (size_t i = 0; i < p.n; i++) {
			size_t k;

			for (k = 0; k < out->n; k++)
				if (!strcmp(out->step[k].name, p.step[i].name))
					break;
			if (k == out->n) {
				if (out->n == TP_USB_PLAN_MAX)
					return tp_err_set(-E2BIG, "USB routing for slots %#x: too many "
							  "steps", mask);
				out->step[out->n++] = p.step[i];
			} else if (strstr(p.step[i].name, "-rpiboot")) {
				out->step[k].value |= p.step[i].value;
			} else if (out->step[k].value != p.step[i].value) {
				return tp_err_set(-EINVAL, "USB routing: slots %#x need %s both %d "
						  "and %d", mask, p.step[i].name,
						  out->step[k].value, p.step[i].value);
			}
		}
	}
	return 0;
}

static int fail_enter(struct tp_flashmode *fm, int rc)
{
	char why[TP_ERR_MAX], name[32];

	snprintf(why, sizeof(why), "%s", tp_err_msg());
	tp_flashmode_leave(fm);
	return tp_err_set(rc, "%s: entering flash mode failed: %s; %s powered off and the USB "
			  "routing restored",
			  slots_name(fm->mask, name, sizeof(name)), why,
			  fm->mask & (fm->mask - 1) ? "the slots were" : "the slot was");
}

int tp_flashmode_enter(struct tp_board *b, unsigned mask, struct tp_flashmode *fm)
{
	const char *names[TP_LINES_MAX];
	char en[TP_BOARD_SLOTS][32], name[32];
	struct tp_power_result r;
	struct tp_usb_plan plan;
	size_t n;
	int rc;

	memset(fm, 0, sizeof(*fm));
	fm->b = b;
	fm->mask = mask;
	if (!mask || mask >= TP_SLOT_BIT(TP_BOARD_SLOTS + 1))
		return tp_err_set(-EINVAL, "flash mode: no slot, or a slot beyond %d", TP_BOARD_SLOTS);
	if (b->desc->usb_bus == TP_USB_MUX && (mask & (mask - 1)))
		return tp_err_set(-EOPNOTSUPP, "a %s board's USB mux reaches one node at a time: "
				  "one slot in flash mode at once", b->desc->name);
	rc = plan_slots(b->desc, mask, &plan);
	if (rc < 0)
		return rc;
	n = tp_usb_plan_lines(&plan, names);
	for (unsigned s = 1; s <= TP_BOARD_SLOTS; s++)
		if (mask & TP_SLOT_BIT(s)) {
			tp_line_name(en[s - 1], sizeof(en[s - 1]), s, "en");
			names[n++] = en[s - 1];
		}
	rc = tp_lines_claim(&fm->ls, b->gpio, b->desc, names, n, b->consumer, 0);
	if (rc < 0)
		return rc;
	fm->held = true;
	fm->live = mask;

	/* What to put back: the routing lines as found, except that no strap
	 * is ever restored — a node must not come back in maskrom at its next
	 * power-on because flash mode was the state before (hardware.md §7.2, item 8). */
	fm->restore = plan;
	for (size_t i = 0; i < plan.n; i++) {
		struct tp_usb_step *s = &fm->restore.step[i];

		if (s->regulator)
			s->value = regulator_state(s->name);
		else if (strstr(s->name, "-rpiboot"))
			s->value = 0;
		else
			s->value = tp_lines_find(&fm->ls, s->name)->value;
	}

	TP_INFO("%s: entering flash mode", slots_name(mask, name, sizeof(name)));
	memset(&r, 0, sizeof(r));
	for (unsigned s = 1; s <= TP_BOARD_SLOTS; s++)
		if ((mask & TP_SLOT_BIT(s)) && (rc = tp_power_slot_set(&fm->ls, s, false, &r)) < 0)
			return fail_enter(fm, rc);
	fm->routed = true;
	rc = tp_usb_apply_lines(&fm->ls, &plan);
	if (rc < 0)
		return fail_enter(fm, rc);
	fm->strapped = mask;
	for (unsigned s = 1; s <= TP_BOARD_SLOTS; s++)
		if ((mask & TP_SLOT_BIT(s)) && (rc = tp_power_slot_set(&fm->ls, s, true, &r)) < 0)
			return fail_enter(fm, rc);
	return 0;
}

int tp_flashmode_release_strap(struct tp_flashmode *fm, unsigned slot)
{
	char strap[32];
	int rc;

	if (!(fm->strapped & TP_SLOT_BIT(slot)))
		return 0;
	strap_line(slot, strap, sizeof(strap));
	rc = tp_lines_set(&fm->ls, strap, 0);
	if (rc == 0)
		fm->strapped &= ~TP_SLOT_BIT(slot);
	return rc;
}

int tp_flashmode_slot_off(struct tp_flashmode *fm, unsigned slot)
{
	struct tp_power_result r;
	int rc, rc2;

	if (!fm->held || !(fm->live & TP_SLOT_BIT(slot)))
		return 0;
	/* Strap first: whatever else fails, the node must not boot into its
	 * boot ROM again. */
	rc = tp_flashmode_release_strap(fm, slot);
	memset(&r, 0, sizeof(r));
	rc2 = tp_power_slot_set(&fm->ls, slot, false, &r);
	if (rc2 < 0)
		return rc2;
	if (rc < 0)
		return tp_err_set(rc, "slot %u: releasing the strap failed", slot);
	fm->live &= ~TP_SLOT_BIT(slot);
	return 0;
}

int tp_flashmode_leave(struct tp_flashmode *fm)
{
	int rc, first = 0;
	char first_msg[TP_ERR_MAX] = "", name[32];

#define NOTE(expr)                                                                           \
	do {                                                                                 \
		rc = (expr);                                                                 \
		if (rc < 0 && !first) {                                                      \
			first = rc;                                                          \
			snprintf(first_msg, sizeof(first_msg), "%s", tp_err_msg());          \
		}                                                                            \
	} while (0)

	if (!fm->held)
		return 0;
	/* Straps first, then power, then routing. */
	for (unsigned s = 1; s <= TP_BOARD_SLOTS; s++)
		if (fm->strapped & TP_SLOT_BIT(s))
			NOTE(tp_flashmode_release_strap(fm, s));
	for (unsigned s = 1; s <= TP_BOARD_SLOTS; s++) {
		struct tp_power_result r;

		if (!(fm->mask & TP_SLOT_BIT(s)))
			continue;
		memset(&r, 0, sizeof(r));
		NOTE(tp_power_slot_set(&fm->ls, s, false, &r));
	}
	fm->live = 0;
	if (fm->routed) {
		/* Regulator steps whose prior state could not be read stay as
		 * they are rather than being guessed. */
		struct tp_usb_plan p = fm->restore;
		size_t k = 0;

		for (size_t i = 0; i < p.n; i++)
			if (!(p.step[i].regulator && p.step[i].value < 0))
				p.step[k++] = p.step[i];
		p.n = k;
		NOTE(tp_usb_apply_lines(&fm->ls, &p));
		fm->routed = false;
	}
	tp_lines_release(&fm->ls);
	fm->held = false;
#undef NOTE
	if (first)
		return tp_err_set(first, "%s: leaving flash mode: %s",
				  slots_name(fm->mask, name, sizeof(name)), first_msg);
	TP_INFO("%s: left flash mode: strap released, node off, USB routing restored",
		slots_name(fm->mask, name, sizeof(name)));
	return 0;
}
