// SPDX-License-Identifier: MIT
/*
 * Flash mode's recovery record (docs/recovery.md): written before flash
 * mode changes anything, removed when it has left, and, found later, the
 * board put back as it says: what a run killed outright (kill -9, the BMC
 * losing power) left behind.
 */
#include "flashmode.h"
#include "flashmode_priv.h"
#include "common/err.h"
#include "common/log.h"
#include "common/slots.h"
#include "common/state.h"

#include <errno.h>
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

/* Each job: its word in the record, and what the recovery calls it. */
static const struct {
	const char *name, *what;
} jobs[] = {
	[TP_FLASHMODE_FLASH] = { "flash", "flash" },
	[TP_FLASHMODE_SEED] = { "seed", "seeding" },
	[TP_FLASHMODE_LOOK] = { "look", "look at the USB" },
	[TP_FLASHMODE_MSD] = { "msd", "bring-up of the eMMC as a USB disk" },
};

/* The record: the board before flash mode, one fact per line. */
void tp_fm_record_save(struct tp_flashmode *fm)
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
	rc = tp_fm_claim(&fm, &fm.restore, false, NULL);
	if (rc == -EBUSY)
		return 0;
	if (rc < 0)
		return rc;

#define ADD(...) (len += (size_t)snprintf(what + len, len < sizeof(what) ? sizeof(what) - len : 0, \
					    __VA_ARGS__))
	for (unsigned s = 1; s <= TP_BOARD_SLOTS; s++) {
		if (!(fm.mask & TP_SLOT_BIT(s)))
			continue;
		if (tp_fm_slot_line(&fm, s, "en") == 1)
			ADD("%snode %u on", len ? ", " : "", s);
		if (tp_fm_slot_line(&fm, s, "rpiboot") == 1)
			ADD("%snode %u's boot strap asserted", len ? ", " : "", s);
	}
	for (size_t i = 0; i < fm.restore.n; i++) {
		const struct tp_usb_step *st = &fm.restore.step[i];
		int now = st->regulator ? tp_fm_regulator_state(st->name) :
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
			 tp_fm_slots_name(fm.mask, list, sizeof(list)), pid,
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

