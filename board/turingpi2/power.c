// SPDX-License-Identifier: MIT
#include "power.h"
#include "gpio.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/path.h"
#include "common/slots.h"

#include <stdio.h>
#include <string.h>

const char *tp_power_word(const struct tp_slot_power *p)
{
	if (p->regulator < 0 || p->en < 0)
		return p->regulator == 0 ? "off" : "unknown";
	if (p->regulator && p->en)
		return "on";
	if (!p->regulator && !p->en)
		return "off";
	return "partial";
}

static int regulator_read(unsigned slot)
{
	char path[128], buf[32];
	ssize_t n;

	tp_slot_regulator(path, sizeof(path), slot);
	n = tp_file_read(path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	if (!strncmp(buf, "enabled", 7))
		return 1;
	if (!strncmp(buf, "disabled", 8))
		return 0;
	return tp_err_set(-EPROTO, "%s reads \"%.*s\", expected enabled or disabled", path,
			  (int)strcspn(buf, "\n"), buf);
}

static int regulator_write(unsigned slot, bool on)
{
	char path[128];

	tp_slot_regulator(path, sizeof(path), slot);
	/* The kernel does the ATX and slot ramp-up inside this write (hardware.md §4). */
	return tp_file_write(path, on ? "enabled" : "disabled");
}

static void en_name(char *buf, size_t size, unsigned slot)
{
	tp_line_name(buf, size, slot, "en");
}

void tp_power_slot_read(struct tp_lines *ls, unsigned slot, struct tp_slot_power *p)
{
	char en[32];
	struct tp_line *l;

	en_name(en, sizeof(en), slot);
	memset(p, 0, sizeof(*p));
	p->regulator = regulator_read(slot);
	l = tp_lines_find(ls, en);
	p->en = l && l->held ? tp_lines_get(ls, en) : -1;
	if (l && !l->held)
		snprintf(p->holder, sizeof(p->holder), "%s", l->holder);
}

static int claim_en(struct tp_board *b, unsigned mask, struct tp_lines *ls, unsigned flags)
{
	char names[TP_BOARD_SLOTS][32];
	const char *v[TP_BOARD_SLOTS];
	size_t n = 0;

	for (unsigned s = 1; s <= TP_BOARD_SLOTS; s++)
		if (mask & TP_SLOT_BIT(s)) {
			en_name(names[n], sizeof(names[n]), s);
			v[n] = names[n];
			n++;
		}
	return tp_lines_claim(ls, b->gpio, b->desc, v, n, b->consumer, flags);
}

int tp_power_status(struct tp_board *b, unsigned mask, struct tp_slot_power st[TP_BOARD_SLOTS])
{
	struct tp_lines ls;
	int rc;

	rc = claim_en(b, mask, &ls, TP_LINES_TOLERATE_BUSY);
	if (rc < 0)
		return rc;
	for (unsigned s = 1; s <= TP_BOARD_SLOTS; s++)
		if (mask & TP_SLOT_BIT(s))
			tp_power_slot_read(&ls, s, &st[s - 1]);
	tp_lines_release(&ls);
	return 0;
}

/* One slot's on or off sequence (hardware.md §5.1): regulator, wait, enable. */
static int slot_sequence(struct tp_lines *ls, unsigned slot, bool on, int *step)
{
	char en[32];
	int rc;

	en_name(en, sizeof(en), slot);
	*step = 1;
	rc = regulator_write(slot, on);
	if (rc < 0)
		return rc;
	*step = 2;
	/* Not a poll: a cancel must not cut a slot's sequence in two (it
	 * would leave the regulator and nodeN-en disagreeing). */
	rc = tp_clock_delay_ms(CONFIG_TPKIT_POWER_EN_DELAY_MS);
	if (rc < 0)
		return rc;
	*step = 3;
	return tp_lines_set(ls, en, on);
}

static void describe_left(char *buf, size_t size, unsigned slot, const struct tp_slot_power *p)
{
	char reg[32], en[32];

	if (p->regulator < 0)
		snprintf(reg, sizeof(reg), "unreadable");
	else
		snprintf(reg, sizeof(reg), "%s", p->regulator ? "enabled" : "disabled");
	if (p->en < 0)
		snprintf(en, sizeof(en), "unknown");
	else
		snprintf(en, sizeof(en), "%d", p->en);
	snprintf(buf, size, "slot %u left with regulator %s, node%u-en %s (%s)", slot, reg, slot,
		 en, tp_power_word(p));
}

/* Make a failed slot safe: nothing half on. Best effort, errors are in the
 * report that follows (the state is read back, not assumed). */
static void slot_make_safe(struct tp_lines *ls, unsigned slot)
{
	char en[32];

	en_name(en, sizeof(en), slot);
	regulator_write(slot, false);
	tp_lines_set(ls, en, 0);
}

int tp_power_slot_set(struct tp_lines *ls, unsigned slot, bool on, struct tp_power_result *r)
{
	static const char *const step_name[] = { "", "regulator", "delay", "enable line" };
	struct tp_slot_power before;
	char left[160];
	int rc, step = 0;

	tp_power_slot_read(ls, slot, &before);
	if (before.regulator == (int)on && before.en == (int)on) {
		TP_INFO("slot %u is already %s", slot, on ? "on" : "off");
		r->after = before;
		return 0;
	}
	TP_INFO("slot %u: power %s", slot, on ? "on" : "off");
	r->changed = true;
	rc = slot_sequence(ls, slot, on, &step);
	if (rc < 0) {
		struct tp_err_ctx why;

		tp_err_save(&why, rc);
		slot_make_safe(ls, slot);
		tp_power_slot_read(ls, slot, &r->after);
		describe_left(left, sizeof(left), slot, &r->after);
		return tp_err_set(rc, "slot %u: power %s failed at the %s step: %s; %s", slot,
				  on ? "on" : "off", step_name[step], why.msg, left);
	}
	tp_power_slot_read(ls, slot, &r->after);
	return 0;
}

/* Check every regulator file before changing anything: a missing one is a
 * firmware or device-tree problem, found before any slot moves. */
static int check_regulators(unsigned mask)
{
	for (unsigned s = 1; s <= TP_BOARD_SLOTS; s++) {
		char path[128], full[TP_PATH_MAX];
		int rc;

		if (!(mask & TP_SLOT_BIT(s)))
			continue;
		rc = regulator_read(s);
		if (rc >= 0)
			continue;
		tp_slot_regulator(path, sizeof(path), s);
		tp_path(full, sizeof(full), "%s", path);
		return tp_err_set(rc, "slot %u: cannot read its regulator state file %s: %s; the "
				  "v2.1+ firmware's device tree provides node1-power ... "
				  "node4-power (hardware.md §4): check the firmware version. "
				  "Nothing was changed.",
				  s, full, strerror(-rc));
	}
	return 0;
}

int tp_power_apply(struct tp_board *b, unsigned mask, enum tp_power_op op, unsigned stagger_ms,
		   struct tp_power_result res[TP_BOARD_SLOTS])
{
	struct tp_lines ls;
	struct tp_err_ctx first_slot = { 0 }; /* the message to leave current */
	int rc, first = 0;
	bool any_on = false;

	memset(res, 0, sizeof(*res) * TP_BOARD_SLOTS);
	rc = check_regulators(mask);
	if (rc < 0)
		return rc;
	rc = claim_en(b, mask, &ls, 0);
	if (rc < 0)
		return rc;

	/* Reset is a power cycle, as bmcd does it (§5.1): every slot off, one
	 * off-time for all of them, then on again. */
	if (op == TP_POWER_OFF || op == TP_POWER_RESET) {
		for (unsigned s = 1; s <= TP_BOARD_SLOTS; s++) {
			struct tp_power_result *r = &res[s - 1];

			if (!(mask & TP_SLOT_BIT(s)))
				continue;
			r->rc = tp_power_slot_set(&ls, s, false, r);
			if (r->rc < 0) {
				snprintf(r->msg, sizeof(r->msg), "%s", tp_err_msg());
				tp_err_save_first(&first_slot, r->rc);
				first = first ? first : r->rc;
			}
		}
		if (op == TP_POWER_RESET) {
			rc = tp_clock_sleep_ms(CONFIG_TPKIT_POWER_RESET_OFF_MS);
			if (rc < 0) {
				first = rc;
				goto out;
			}
		}
	}
	if (op == TP_POWER_ON || op == TP_POWER_RESET) {
		for (unsigned s = 1; s <= TP_BOARD_SLOTS; s++) {
			struct tp_power_result *r = &res[s - 1];

			if (!(mask & TP_SLOT_BIT(s)) || r->rc < 0)
				continue;
			/* Stagger only between slots that really switch on, to
			 * limit inrush on the ATX supply (§5.3). */
			if (any_on && stagger_ms) {
				rc = tp_clock_sleep_ms(stagger_ms);
				if (rc < 0) {
					first = rc;
					goto out;
				}
			}
			r->rc = tp_power_slot_set(&ls, s, true, r);
			if (r->rc < 0) {
				snprintf(r->msg, sizeof(r->msg), "%s", tp_err_msg());
				tp_err_save_first(&first_slot, r->rc);
				first = first ? first : r->rc;
			}
			any_on |= r->changed;
		}
	}
out:
	tp_lines_release(&ls);
	/* Leave the first slot's message current for the caller. */
	if (first_slot.rc)
		tp_err_restore(&first_slot);
	return first;
}
