// SPDX-License-Identifier: MIT
/*
 * The commissioning pipeline's board jobs (docs/commission.md §6). One
 * job at a time uses the board: a flash of the slots the board can take
 * at once (one through the v2.4 mux, every slot with the same image
 * behind the v2.5 hub, one decoded stream fanned out to them), then their
 * power-on; or one slot's power cycle, never beside a flash, which holds
 * the power lines of its slots while in flash mode.
 */
#include "jobs.h"
#include "live.h"
#include "board/turingpi2/flashmode.h"
#include "board/turingpi2/power.h"
#include "common/err.h"
#include "common/image.h"
#include "common/slots.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void tp_cjob_init(struct tp_cjob *j)
{
	memset(j, 0, sizeof(*j));
	pthread_mutex_init(&j->mu, NULL);
}

void tp_cjob_destroy(struct tp_cjob *j)
{
	tp_cjob_wait(j);
	pthread_mutex_destroy(&j->mu);
}

static void set_all(struct tp_cjob *j, unsigned mask, int rc, const char *msg)
{
	for (unsigned s = 1; s <= TP_BOARD_SLOTS; s++)
		if (mask & TP_SLOT_BIT(s)) {
			j->rc[s - 1] = rc;
			snprintf(j->msg[s - 1], sizeof(j->msg[0]), "%s", msg);
		}
}

/* The flash's progress, as a note for the live table (docs/commission.md
 * §12) of each of the job's slots: only when the whole percent or the
 * phase changes. The flash sums its slots' progress, so slots flashed
 * together show the same figure. */
static void job_progress(void *cookie, const struct tp_progress *p)
{
	struct tp_cjob *j = cookie;
	int pct = p->total ? (int)(p->done * 100 / p->total) : -1;
	char text[64];

	if (pct == j->pct && (int)p->phase == j->phase)
		return;
	j->pct = pct;
	j->phase = (int)p->phase;
	if (pct >= 0)
		snprintf(text, sizeof(text), "%s %d%%\n", tp_phase_name(p->phase), pct);
	else
		snprintf(text, sizeof(text), "%s\n", tp_phase_name(p->phase));
	for (unsigned s = 1; s <= TP_BOARD_SLOTS; s++)
		if (j->mask & TP_SLOT_BIT(s))
			(void)tp_clive_progress_write(s, text);
}

/*
 * How long a silent node's boot ROM may take to show once its USB reaches
 * the BMC. It is powered and waiting already, so this is one enumeration
 * (a few hundred ms; the flash polls 10 s from power-on, hardware.md
 * §7.2, item 4); UNVERIFIED on hardware, a starting point.
 */
#define LOOK_MS 2000

/* Route the slot's USB to the BMC, no strap, and look for any module's
 * boot ROM there; then the node goes off and the routing back (flash
 * mode's leave, with its record against a kill). */
static int job_look(struct tp_cjob *j, unsigned slot)
{
	const struct tp_flash_module *m = NULL;
	struct tp_flashmode fm;
	const char *path;
	char buf[32];
	int rc, rc2;

	rc = tp_flashmode_enter(j->b, TP_SLOT_BIT(slot), TP_FLASHMODE_LOOK, &fm);
	if (rc < 0)
		return rc;
	path = tp_board_usb_path(j->b->desc, slot, buf, sizeof(buf));
	rc = tp_flash_probe(&path, 1, LOOK_MS, &m, NULL, NULL);
	if (rc == 0)
		j->rom[slot - 1] = m;
	else if (rc == -ETIMEDOUT)
		rc = 0;	/* nothing there is an answer too */
	rc2 = tp_flashmode_leave(&fm);
	return rc < 0 ? rc : rc2;
}

/* The job's thread: flash (with seeds) and power on what was flashed,
 * power off and on, or look. */
static void *job_main(void *arg)
{
	struct tp_cjob *j = arg;
	struct tp_power_result pr[TP_BOARD_SLOTS];
	struct tp_flash_result fr[TP_BOARD_SLOTS];
	unsigned on = j->mask;
	int rc;

	tp_err_clear();
	if (j->kind == TP_CJOB_FLASH) {
		size_t n = tp_flash_slots(j->b, j->mask, &j->fo, fr);

		on = 0;
		for (size_t i = 0; i < n; i++) {
			unsigned s = fr[i].slot;

			if (s < 1 || s > TP_BOARD_SLOTS || !(j->mask & TP_SLOT_BIT(s)))
				continue;
			j->fr[s - 1] = fr[i];
			if (fr[i].rc < 0) {
				set_all(j, TP_SLOT_BIT(s), fr[i].rc, fr[i].msg);
				continue;
			}
			on |= TP_SLOT_BIT(s);
		}
		/* A slot the flash gave no result for did not get flashed. */
		for (unsigned s = 1; s <= TP_BOARD_SLOTS; s++)
			if ((j->mask & TP_SLOT_BIT(s)) && !(on & TP_SLOT_BIT(s)) && !j->rc[s - 1])
				set_all(j, TP_SLOT_BIT(s), -EIO, "no result from the flash");
		for (unsigned s = 1; s <= TP_BOARD_SLOTS; s++)
			if (j->mask & TP_SLOT_BIT(s))
				tp_clive_progress_remove(s);
	} else if (j->kind == TP_CJOB_LOOK) {
		for (unsigned s = 1; s <= TP_BOARD_SLOTS; s++)
			if ((j->mask & TP_SLOT_BIT(s)) && (rc = job_look(j, s)) < 0)
				set_all(j, TP_SLOT_BIT(s), rc, tp_err_msg());
		on = 0;
	} else if ((rc = tp_power_apply(j->b, j->mask, TP_POWER_OFF, 0, pr)) < 0) {
		set_all(j, j->mask, rc, tp_err_msg());
		on = 0;
	}
	if (on && (rc = tp_power_apply(j->b, on, TP_POWER_ON, 0, pr)) < 0)
		set_all(j, on, rc, tp_err_msg());
	pthread_mutex_lock(&j->mu);
	j->finished = true;
	pthread_mutex_unlock(&j->mu);
	return NULL;
}

int tp_cjob_start(struct tp_cjob *j, struct tp_board *b, enum tp_cjob_kind kind, unsigned mask,
		  const struct tp_flash_opts *fo)
{
	int rc;

	j->kind = kind;
	j->b = b;
	j->mask = mask;
	j->finished = false;
	memset(j->fr, 0, sizeof(j->fr));
	memset(j->rc, 0, sizeof(j->rc));
	memset(j->msg, 0, sizeof(j->msg));
	memset(j->rom, 0, sizeof(j->rom));
	if (fo)
		j->fo = *fo;
	if (kind == TP_CJOB_FLASH) {
		j->fo.progress = job_progress;
		j->fo.progress_cookie = j;
		j->pct = -2;
		j->phase = -1;
	}
	rc = pthread_create(&j->th, NULL, job_main, j);
	if (rc)
		return tp_err_set(-rc, "cannot start a thread: %s", strerror(rc));
	j->running = true;
	return 0;
}

bool tp_cjob_reap(struct tp_cjob *j)
{
	bool fin;

	if (!j->running)
		return false;
	pthread_mutex_lock(&j->mu);
	fin = j->finished;
	pthread_mutex_unlock(&j->mu);
	if (fin) {
		pthread_join(j->th, NULL);
		j->running = false;
	}
	return fin;
}

void tp_cjob_wait(struct tp_cjob *j)
{
	if (j->running) {
		pthread_join(j->th, NULL);
		j->running = false;
	}
}
