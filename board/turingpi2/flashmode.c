// SPDX-License-Identifier: MIT
#include "flashmode.h"
#include "power.h"
#include "common/err.h"
#include "common/log.h"
#include "common/path.h"
#include "common/slots.h"
#include "common/state.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The records' names in the state directory (docs/recovery.md): one per
 * flash mode, named after its lowest slot, so that flash modes of other
 * slots (tpkit serve's jobs) keep theirs; and the single name tpkit used
 * before, still read. */
#define RECORD "flashmode"

static const char *record_name(unsigned mask, char *buf, size_t size)
{
	snprintf(buf, size, RECORD "-%d", __builtin_ctz(mask) + 1);
	return buf;
}

/* Every name a record may have, for the loops that look for them. */
static const char *record_nth(unsigned i, char *buf, size_t size)
{
	if (i == 0)
		return RECORD;
	return i <= TP_BOARD_SLOTS ? record_name(TP_SLOT_BIT(i), buf, size) : NULL;
}

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

/* Each job: its word in the record, and what the recovery calls it. */
static const struct {
	const char *name, *what;
} jobs[] = {
	[TP_FLASHMODE_FLASH] = { "flash", "flash" },
	[TP_FLASHMODE_SEED] = { "seed", "seeding" },
	[TP_FLASHMODE_LOOK] = { "look", "look at the USB" },
	[TP_FLASHMODE_MSD] = { "msd", "bring-up of the eMMC as a USB disk" },
};

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
			  slots_name(fm->mask, name, sizeof(name)), why.msg,
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
static int claim(struct tp_flashmode *fm, const struct tp_usb_plan *plan, bool share_hub,
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

static int slot_line(struct tp_flashmode *fm, unsigned slot, const char *fn)
{
	char name[32];
	struct tp_line *l;

	tp_line_name(name, sizeof(name), slot, fn);
	l = tp_lines_find(&fm->ls, name);
	return l ? l->value : -1;
}

/* The record: the board before flash mode, one fact per line. */
static void record_save(struct tp_flashmode *fm)
{
	char text[4096], dir[256];
	size_t len = 0;
	int rc;

#define ADD(...) (len += (size_t)snprintf(text + len, len < sizeof(text) ? sizeof(text) - len : 0, \
					    __VA_ARGS__))
	char list[16];

	ADD("# tpkit: the board before flash mode (docs/recovery.md)\npid %d\nslots %s\n",
	    (int)getpid(), tp_slots_format(fm->mask, list, sizeof(list)));
	if (fm->job != TP_FLASHMODE_FLASH)
		ADD("job %s\n", jobs[fm->job].name);
	for (unsigned s = 1; s <= TP_BOARD_SLOTS; s++)
		if (fm->mask & TP_SLOT_BIT(s))
			ADD("power %u %s\n", s, fm->power_before & TP_SLOT_BIT(s) ? "on" : "off");
	for (size_t i = 0; i < fm->restore.n; i++)
		ADD("%s %s %d\n", fm->restore.step[i].regulator ? "regulator" : "line",
		    fm->restore.step[i].name, fm->restore.step[i].value);
#undef ADD
	record_name(fm->mask, fm->record, sizeof(fm->record));
	rc = len < sizeof(text) ? tp_state_save(fm->record, text) : -E2BIG;
	if (rc == 0) {
		fm->recorded = true;
		return;
	}
	/* Not a reason to refuse: the flash itself restores the board; only
	 * a run killed outright would leave it for the user to put back. */
	tp_state_dir(dir, sizeof(dir));
	TP_WARN("cannot record the board's state in %s (%s): if this run is killed outright, "
		"the next one cannot restore the USB routing by itself", dir, tp_err_msg());
}

static int record_parse(char *text, struct tp_flashmode *fm, int *pid)
{
	char *save = NULL;

	*pid = 0;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char kind[16], name[64], on[8];
		unsigned u;
		int v;

		if (l[0] == '#')
			continue;
		if (sscanf(l, "pid %d", pid) == 1)
			continue;
		/* A record without one is a flash's (written before seeding). */
		if (!strncmp(l, "job ", 4)) {
			size_t k = 0;

			while (k < sizeof(jobs) / sizeof(jobs[0]) && strcmp(l + 4, jobs[k].name))
				k++;
			if (k == sizeof(jobs) / sizeof(jobs[0]))
				return -EINVAL;
			fm->job = (enum tp_flashmode_job)k;
			continue;
		}
		if (!strncmp(l, "slots ", 6) && tp_slots_parse(l + 6, TP_BOARD_SLOTS, &u) == 0 && u) {
			fm->mask = u;
			continue;
		}
		if (sscanf(l, "power %u %7s", &u, on) == 2 && u >= 1 && u <= TP_BOARD_SLOTS) {
			fm->power_before |= strcmp(on, "on") ? 0 : TP_SLOT_BIT(u);
			continue;
		}
		if (sscanf(l, "%15s %63s %d", kind, name, &v) == 3 &&
		    (!strcmp(kind, "line") || !strcmp(kind, "regulator")) &&
		    fm->restore.n < TP_USB_PLAN_MAX) {
			struct tp_usb_step *st = &fm->restore.step[fm->restore.n++];

			snprintf(st->name, sizeof(st->name), "%s", name);
			st->regulator = !strcmp(kind, "regulator");
			st->value = v;
			continue;
		}
		return -EINVAL;
	}
	return fm->mask ? 0 : -EINVAL;
}

int tp_flashmode_owner(char *what, size_t size)
{
	struct tp_flashmode fm;
	char text[4096], name[24];
	const char *rec;
	int pid;

	for (unsigned i = 0; (rec = record_nth(i, name, sizeof(name))); i++) {
		memset(&fm, 0, sizeof(fm));
		if (tp_state_load(rec, text, sizeof(text)) < 0 || record_parse(text, &fm, &pid) < 0 ||
		    pid <= 0 || (kill(pid, 0) < 0 && errno == ESRCH))
			continue;
		snprintf(what, size, "%s", jobs[fm.job].what);
		return pid;
	}
	return 0;
}

/* One record, as tp_flashmode_recover() says. */
static int recover_one(struct tp_board *b, const char *rec, char *found, size_t size)
{
	struct tp_flashmode fm;
	char text[4096], dir[256], list[16], what[512] = "", after[160] = "";
	size_t len = 0;
	int pid, rc;

	rc = tp_state_load(rec, text, sizeof(text));
	if (rc == -ENOENT)
		return 0;
	tp_state_dir(dir, sizeof(dir));
	if (rc < 0)
		return tp_err_prefix(rc, "the record of an interrupted flash: ");
	memset(&fm, 0, sizeof(fm));
	fm.b = b;
	if (record_parse(text, &fm, &pid) < 0)
		return tp_err_set(-EINVAL, "%s/%s is not a record this tpkit can read; check "
				  "the slots' power and USB routing (tpkit power status, tpkit usb "
				  "status) and remove it", dir, rec);
	/* Held by a tpkit still in flash mode: the record is that run's own,
	 * and what it holds is not ours to touch (a power change of another
	 * slot goes on; a flash finds the lines busy when it claims them).
	 * The hub's upstream is claimed as any line, so a record of this
	 * process's own live flash mode is passed over too. */
	rc = claim(&fm, &fm.restore, false, NULL);
	if (rc == -EBUSY)
		return 0;
	if (rc < 0)
		return rc;

#define ADD(...) (len += (size_t)snprintf(what + len, len < sizeof(what) ? sizeof(what) - len : 0, \
					    __VA_ARGS__))
	for (unsigned s = 1; s <= TP_BOARD_SLOTS; s++) {
		if (!(fm.mask & TP_SLOT_BIT(s)))
			continue;
		if (slot_line(&fm, s, "en") == 1)
			ADD("%snode %u on", len ? ", " : "", s);
		if (slot_line(&fm, s, "rpiboot") == 1)
			ADD("%snode %u's boot strap asserted", len ? ", " : "", s);
	}
	for (size_t i = 0; i < fm.restore.n; i++) {
		const struct tp_usb_step *st = &fm.restore.step[i];
		int now = st->regulator ? regulator_state(st->name) :
			  tp_lines_find(&fm.ls, st->name) ? tp_lines_find(&fm.ls, st->name)->value : -1;

		if (!strstr(st->name, "-rpiboot") && st->value >= 0 && now != st->value)
			ADD("%s%s %d (was %d)", len ? ", " : "",
			    st->regulator ? "a USB regulator" : st->name, now, st->value);
	}
#undef ADD
	fm.routed = true;
	fm.strapped = fm.mask;
	fm.recorded = true;
	snprintf(fm.record, sizeof(fm.record), "%s", rec);
	rc = tp_flashmode_leave(&fm);
	/* tpkit seed blanks the boot block while it writes and puts it back
	 * last (seeding.md §7): killed in between, the node has none. */
	if (fm.job == TP_FLASHMODE_SEED)
		snprintf(after, sizeof(after), ". Its boot block may be blank: the node does not "
			 "boot until it is flashed again (tpkit flash --slot %s --seed)",
			 tp_slots_format(fm.mask, list, sizeof(list)));
	if (found && size)
		snprintf(found, size, "a %s of %s (pid %d) was interrupted and left %s; %s%s",
			 jobs[fm.job].what,
			 slots_name(fm.mask, list, sizeof(list)), pid,
			 what[0] ? what : "nothing out of place",
			 rc < 0 ? "putting it back failed" :
				  "put back as before it: strap released, node off, USB routing "
				  "restored", after);
	return rc < 0 ? rc : 1;
}

int tp_flashmode_recover(struct tp_board *b, char *found, size_t size)
{
	struct tp_err_ctx first = { 0 };
	char name[24], one[1024];
	const char *rec;
	size_t len = 0;
	int n = 0;

	if (found && size)
		found[0] = '\0';
	for (unsigned i = 0; (rec = record_nth(i, name, sizeof(name))); i++) {
		int rc = recover_one(b, rec, one, sizeof(one));

		tp_err_save_first(&first, rc < 0 ? rc : 0);
		if (rc <= 0)
			continue;
		n++;
		if (found && len < size)
			len += (size_t)snprintf(found + len, size - len, "%s%s", len ? "; " : "",
						one);
	}
	if (first.rc)
		return tp_err_set(first.rc, "%s", first.msg);
	return n > 0;
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
	if ((rc = claim(fm, &plan, true, &hub_before)) < 0)
		return rc;
	for (unsigned s = 1; s <= TP_BOARD_SLOTS; s++)
		if ((mask & TP_SLOT_BIT(s)) && slot_line(fm, s, "en") == 1)
			fm->power_before |= TP_SLOT_BIT(s);

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
		else if (fm->hub && hub_step(fm, s))
			s->value = hub_before;
		else
			s->value = tp_lines_find(&fm->ls, s->name)->value;
	}

	/* Before anything changes (docs/recovery.md). */
	record_save(fm);
	if (job == TP_FLASHMODE_LOOK) {
		/* The node keeps running: what it shows is the point. */
		fm->routed = true;
		rc = route_apply(fm, &plan);
		return rc < 0 ? fail_enter(fm, rc) : 0;
	}
	TP_INFO("%s: entering flash mode", slots_name(mask, name, sizeof(name)));
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
				  slots_name(fm->mask, name, sizeof(name)), first->msg);
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
		slots_name(fm->mask, name, sizeof(name)));
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
		slots_name(fm->mask, name, sizeof(name)));
	return 0;
}
