// SPDX-License-Identifier: MIT
#include "flashmode.h"
#include "power.h"
#include "common/err.h"
#include "common/log.h"
#include "common/path.h"

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

static void strap_line(const struct tp_flashmode *fm, char *buf, size_t size)
{
	tp_line_name(buf, size, fm->slot, "rpiboot");
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

static int fail_enter(struct tp_flashmode *fm, int rc)
{
	char why[TP_ERR_MAX];

	snprintf(why, sizeof(why), "%s", tp_err_msg());
	tp_flashmode_leave(fm);
	return tp_err_set(rc, "slot %u: entering flash mode failed: %s; the slot was powered "
			  "off and its USB routing restored",
			  fm->slot, why);
}

int tp_flashmode_enter(struct tp_board *b, unsigned slot, struct tp_flashmode *fm)
{
	const char *names[TP_LINES_MAX];
	struct tp_power_result r;
	struct tp_usb_plan plan;
	char en[32];
	size_t n;
	int rc;

	memset(fm, 0, sizeof(*fm));
	fm->b = b;
	fm->slot = slot;
	rc = tp_usb_plan(b->desc, slot, TP_USB_FLASH, TP_ROUTE_BMC, &plan);
	if (rc < 0)
		return rc;
	n = tp_usb_plan_lines(&plan, names);
	tp_line_name(en, sizeof(en), slot, "en");
	names[n++] = en;
	rc = tp_lines_claim(&fm->ls, b->gpio, b->desc, names, n, b->consumer, 0);
	if (rc < 0)
		return rc;
	fm->held = true;

	/* What to put back: the routing lines as found, except that no strap
	 * is ever restored — a node must not come back in maskrom at its next
	 * power-on because flash mode was the state before (§7.2, item 8). */
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

	TP_INFO("slot %u: entering flash mode", slot);
	memset(&r, 0, sizeof(r));
	rc = tp_power_slot_set(&fm->ls, slot, false, &r);
	if (rc < 0)
		return fail_enter(fm, rc);
	fm->routed = true;
	rc = tp_usb_apply_lines(&fm->ls, &plan);
	if (rc < 0)
		return fail_enter(fm, rc);
	fm->strapped = true;
	rc = tp_power_slot_set(&fm->ls, slot, true, &r);
	if (rc < 0)
		return fail_enter(fm, rc);
	return 0;
}

int tp_flashmode_release_strap(struct tp_flashmode *fm)
{
	char strap[32];
	int rc;

	if (!fm->strapped)
		return 0;
	strap_line(fm, strap, sizeof(strap));
	rc = tp_lines_set(&fm->ls, strap, 0);
	if (rc == 0)
		fm->strapped = false;
	return rc;
}

int tp_flashmode_leave(struct tp_flashmode *fm)
{
	struct tp_power_result r;
	int rc, first = 0;
	char first_msg[TP_ERR_MAX] = "";

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
	/* Strap first: whatever else fails, the node must not boot into its
	 * boot ROM again. Then power, then routing. */
	if (fm->strapped)
		NOTE(tp_flashmode_release_strap(fm));
	memset(&r, 0, sizeof(r));
	NOTE(tp_power_slot_set(&fm->ls, fm->slot, false, &r));
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
		return tp_err_set(first, "slot %u: leaving flash mode: %s", fm->slot, first_msg);
	TP_INFO("slot %u: left flash mode: strap released, node off, USB routing restored",
		fm->slot);
	return 0;
}
