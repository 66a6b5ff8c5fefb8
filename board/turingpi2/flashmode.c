// SPDX-License-Identifier: MIT
/*
 * Flash mode (flashmode.h): entering it for a set of slots, a slot done,
 * leaving it or handing the nodes over. Its recovery record is
 * flashrec.c's.
 */
#include "flashmode.h"
#include "flashmode_priv.h"
#include "power.h"
#include "common/err.h"
#include "common/log.h"
#include "common/path.h"
#include "common/slots.h"
#include "common/state.h"

#include <pthread.h>
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
const char *tp_fm_slots_name(unsigned mask, char *buf, size_t size)
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
int tp_fm_regulator_state(const char *path)
{
	char buf[32];

	if (tp_file_read(path, buf, sizeof(buf)) < 0)
		return -1;
	if (!strncmp(buf, "enabled", 7))
		return 1;
	return strncmp(buf, "disabled", 8) ? -1 : 0;
}

/* Is this step the strap of a slot outside mask? */
static bool other_strap(const struct tp_usb_step *st, unsigned mask)
{
	for (unsigned s = 1; s <= TP_BOARD_SLOTS; s++) {
		char strap[32];

		strap_line(s, strap, sizeof(strap));
		if (!strcmp(st->name, strap))
			return !(mask & TP_SLOT_BIT(s));
	}
	return false;
}

/*
 * The routing for several slots: each slot's plan, merged in slot order.
 * A line in several plans (PG2) appears once. A plan clears the other
 * slots' straps, as bmcd's USB mode change does; flash mode leaves them
 * alone: they are not its slots', and may be another flash mode's (tpkit
 * serve flashing two slots at once).
 */
static int plan_slots(const struct tp_board_desc *d, unsigned mask, enum tp_usb_mode mode,
		      struct tp_usb_plan *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned s = 1; s <= TP_BOARD_SLOTS; s++) {
		struct tp_usb_plan p;
		int rc;

		if (!(mask & TP_SLOT_BIT(s)))
			continue;
		rc = tp_usb_plan(d, s, mode, TP_ROUTE_BMC, &p);
		if (rc < 0)
			return rc;
		for (size_t i = 0; i < p.n; i++) {
			size_t k;

			if (other_strap(&p.step[i], mask))
				continue;
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
	struct tp_err_ctx why;
	char name[32];

	tp_err_save(&why, rc);
	tp_flashmode_leave(fm);
	return tp_err_set(rc, "%s: entering flash mode failed: %s; %s powered off and the USB "
			  "routing restored",
			  tp_fm_slots_name(fm->mask, name, sizeof(name)), why.msg,
			  fm->mask & (fm->mask - 1) ? "the slots were" : "the slot was");
}

/* Is this step the hub's upstream, which the process's flash modes share? */
static bool hub_step(const struct tp_flashmode *fm, const struct tp_usb_step *st)
{
	const char *pin = fm->b->desc->hub_upstream;

	return pin && !st->regulator && !strcmp(st->name, pin);
}

/* The plan without the shared hub step (fm->hub): what fm->ls drives. */
static struct tp_usb_plan own_steps(const struct tp_flashmode *fm, const struct tp_usb_plan *p)
{
	struct tp_usb_plan o = *p;
	size_t k = 0;

	for (size_t i = 0; i < p->n; i++)
		if (!(fm->hub && hub_step(fm, &p->step[i])))
			o.step[k++] = p->step[i];
	o.n = k;
	return o;
}

/*
 * Claim the plan's lines and the slots' nodeN-en, all at once. With
 * share_hub, the hub's upstream is joined (hubhold.c) rather than
 * claimed, and *hub_before gets its value from before the first flash
 * mode of this process; a recovery claims it as any line.
 */
int tp_fm_claim(struct tp_flashmode *fm, const struct tp_usb_plan *plan, bool share_hub,
		 int *hub_before)
{
	const char *names[TP_LINES_MAX];
	char en[TP_BOARD_SLOTS][32];
	struct tp_usb_plan own;
	size_t n;
	int rc;

	for (size_t i = 0; i < plan->n && share_hub; i++)
		fm->hub |= hub_step(fm, &plan->step[i]);
	own = own_steps(fm, plan);
	n = tp_usb_plan_lines(&own, names);
	for (unsigned s = 1; s <= TP_BOARD_SLOTS; s++)
		if (fm->mask & TP_SLOT_BIT(s)) {
			tp_line_name(en[s - 1], sizeof(en[s - 1]), s, "en");
			names[n++] = en[s - 1];
		}
	if (fm->b->claim_lock)
		pthread_mutex_lock(fm->b->claim_lock);
	rc = tp_lines_claim(&fm->ls, fm->b->gpio, fm->b->desc, names, n, fm->b->consumer, 0);
	if (rc == 0 && fm->hub && (rc = tp_hub_hold_join(fm->b, hub_before)) < 0)
		tp_lines_release(&fm->ls);
	if (fm->b->claim_lock)
		pthread_mutex_unlock(fm->b->claim_lock);
	if (rc < 0) {
		fm->hub = false;
		return rc;
	}
	fm->held = true;
	fm->live = fm->mask;
	return 0;
}

/* Drive the routing of plan: the shared hub step through the hold, the
 * rest through fm's lines, in the plan's order (the hub step is first). */
static int route_apply(struct tp_flashmode *fm, const struct tp_usb_plan *plan)
{
	struct tp_usb_plan own = own_steps(fm, plan);

	for (size_t i = 0; i < plan->n && fm->hub; i++)
		if (hub_step(fm, &plan->step[i])) {
			int rc = tp_hub_hold_set(plan->step[i].value);

			if (rc < 0)
				return rc;
		}
	return tp_usb_apply_lines(&fm->ls, &own);
}

int tp_fm_slot_line(struct tp_flashmode *fm, unsigned slot, const char *fn)
{
	char name[32];
	struct tp_line *l;

	tp_line_name(name, sizeof(name), slot, fn);
	l = tp_lines_find(&fm->ls, name);
	return l ? l->value : -1;
}

int tp_flashmode_enter(struct tp_board *b, unsigned mask, enum tp_flashmode_job job,
		       struct tp_flashmode *fm)
{
	char name[32];
	struct tp_power_result r;
	struct tp_usb_plan plan;
	int rc, hub_before = -1;

	memset(fm, 0, sizeof(*fm));
	fm->b = b;
	fm->mask = mask;
	fm->job = job;
	if (!mask || mask >= TP_SLOT_BIT(TP_BOARD_SLOTS + 1))
		return tp_err_set(-EINVAL, "flash mode: no slot, or a slot beyond %d", TP_BOARD_SLOTS);
	if (b->desc->usb_bus == TP_USB_MUX && (mask & (mask - 1)))
		return tp_err_set(-EOPNOTSUPP, "a %s board's USB mux reaches one node at a time: "
				  "one slot in flash mode at once", b->desc->name);
	rc = plan_slots(b->desc, mask, job == TP_FLASHMODE_LOOK ? TP_USB_DEVICE : TP_USB_FLASH,
			&plan);
	if (rc < 0)
		return rc;
	/* A record left by a run killed outright is acted on before the
	 * board is read as "before": otherwise its leftovers would be. */
	rc = tp_flashmode_recover(b, NULL, 0);
	if (rc < 0)
		return rc;
	if ((rc = tp_fm_claim(fm, &plan, true, &hub_before)) < 0)
		return rc;
	for (unsigned s = 1; s <= TP_BOARD_SLOTS; s++)
		if ((mask & TP_SLOT_BIT(s)) && tp_fm_slot_line(fm, s, "en") == 1)
			fm->power_before |= TP_SLOT_BIT(s);

	/* What to put back: the routing lines as found, except that no strap
	 * is ever restored — a node must not come back in maskrom at its next
	 * power-on because flash mode was the state before (hardware.md §7.2, item 8). */
	fm->restore = plan;
	for (size_t i = 0; i < plan.n; i++) {
		struct tp_usb_step *s = &fm->restore.step[i];

		if (s->regulator)
			s->value = tp_fm_regulator_state(s->name);
		else if (strstr(s->name, "-rpiboot"))
			s->value = 0;
		else if (fm->hub && hub_step(fm, s))
			s->value = hub_before;
		else
			s->value = tp_lines_find(&fm->ls, s->name)->value;
	}

	/* Before anything changes (docs/recovery.md). */
	tp_fm_record_save(fm);
	if (job == TP_FLASHMODE_LOOK) {
		/* The node keeps running: what it shows is the point. */
		fm->routed = true;
		rc = route_apply(fm, &plan);
		return rc < 0 ? fail_enter(fm, rc) : 0;
	}
	TP_INFO("%s: entering flash mode", tp_fm_slots_name(mask, name, sizeof(name)));
	memset(&r, 0, sizeof(r));
	for (unsigned s = 1; s <= TP_BOARD_SLOTS; s++)
		if ((mask & TP_SLOT_BIT(s)) && (rc = tp_power_slot_set(&fm->ls, s, false, &r)) < 0)
			return fail_enter(fm, rc);
	fm->routed = true;
	rc = route_apply(fm, &plan);
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

/* Every strap still asserted, released; the first failure in first. */
static void straps_release(struct tp_flashmode *fm, struct tp_err_ctx *first)
{
	for (unsigned s = 1; s <= TP_BOARD_SLOTS; s++)
		if (fm->strapped & TP_SLOT_BIT(s))
			tp_err_save_first(first, tp_flashmode_release_strap(fm, s));
}

/* The end of leave and handover: lines and hub let go, the record gone
 * unless something failed. */
static int let_go(struct tp_flashmode *fm, struct tp_err_ctx *first)
{
	char name[32];

	tp_lines_release(&fm->ls);
	/* The shared hub upstream goes back when the process's last flash
	 * mode leaves (hubhold.c). */
	if (fm->hub)
		tp_err_save_first(first, tp_hub_hold_leave());
	fm->hub = false;
	fm->held = false;
	/* Put back: the record has done its job. Kept after a failure, so
	 * that a later run tries again. */
	if (!first->rc && fm->recorded && tp_state_remove(fm->record) < 0)
		TP_WARN("%s", tp_err_msg());
	fm->recorded = false;
	if (first->rc)
		return tp_err_set(first->rc, "%s: leaving flash mode: %s",
				  tp_fm_slots_name(fm->mask, name, sizeof(name)), first->msg);
	return 0;
}

int tp_flashmode_handover(struct tp_flashmode *fm)
{
	struct tp_err_ctx first = { 0 };
	char name[32];
	int rc;

	if (!fm->held)
		return 0;
	straps_release(fm, &first);
	fm->live = 0;
	fm->routed = false; /* the route stays: the node's USB is the BMC's now */
	if (fm->hub)
		tp_err_save_first(&first, tp_hub_hold_keep());
	if ((rc = let_go(fm, &first)) < 0)
		return rc;
	TP_INFO("%s: left flash mode: strap released, node on, USB routed to the BMC",
		tp_fm_slots_name(fm->mask, name, sizeof(name)));
	return 0;
}

int tp_flashmode_leave(struct tp_flashmode *fm)
{
	struct tp_err_ctx first = { 0 }; /* every step is tried; the first failure is told */
	char name[32];
	int rc;

	if (!fm->held)
		return 0;
	/* Straps first, then power, then routing. */
	straps_release(fm, &first);
	for (unsigned s = 1; s <= TP_BOARD_SLOTS; s++) {
		struct tp_power_result r;

		if (!(fm->mask & TP_SLOT_BIT(s)))
			continue;
		memset(&r, 0, sizeof(r));
		tp_err_save_first(&first, tp_power_slot_set(&fm->ls, s, false, &r));
	}
	fm->live = 0;
	if (fm->routed) {
		/* Regulator steps whose prior state could not be read stay as
		 * they are rather than being guessed. */
		struct tp_usb_plan p = own_steps(fm, &fm->restore);
		size_t k = 0;

		for (size_t i = 0; i < p.n; i++)
			if (!(p.step[i].regulator && p.step[i].value < 0))
				p.step[k++] = p.step[i];
		p.n = k;
		tp_err_save_first(&first, tp_usb_apply_lines(&fm->ls, &p));
		fm->routed = false;
	}
	if ((rc = let_go(fm, &first)) < 0)
		return rc;
	TP_INFO("%s: left flash mode: strap released, node off, USB routing restored",
		tp_fm_slots_name(fm->mask, name, sizeof(name)));
	return 0;
}
