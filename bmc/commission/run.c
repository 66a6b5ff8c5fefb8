// SPDX-License-Identifier: MIT
/*
 * The commissioning pipeline (docs/commission.md §6). One thread, the
 * caller's, follows every booted slot's console and owns every record;
 * one board job at a time (jobs.c: a flash with its seeds and power-on,
 * of as many slots as the board flashes at once, or a power cycle) runs
 * on a second thread, while the consoles must be read all the time (a
 * tty keeps only a few KiB). The job thread touches only its job; the two
 * meet in its mutex.
 */
#include "run.h"
#include "jobs.h"
#include "board/turingpi2/power.h"
#include "common/cancel.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/state.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* How long a console is looked at per round, in real time. */
#define POLL_MS 200
/* On the twin's clock, which only moves when someone sleeps on it: this
 * much real time without a console byte or a job, and the clock moves on
 * to the next deadline (as the twin's --peer-clock does, docs/twin.md). */
#define QUIET_MS 1500
/* The first jump after a slot is powered on goes at most this far: the
 * twin starts a node a few virtual seconds after power-on, and the node's
 * first lines then take real time to come (a process to start, on a busy
 * machine more than QUIET_MS); a jump straight to the deadline would
 * judge them missing after one quiet period (§6). */
#define FIRST_JUMP_MS 30000

enum wait { W_FLASH, W_CYCLE, W_LOOK, W_JOB, W_FOLLOW, W_END };

/* The board jobs, in the order they go first, and what a slot waiting for
 * each is waiting in. */
static const struct {
	enum tp_cjob_kind kind;
	enum wait w;
	const char *event;
} job_kinds[] = {
	{ TP_CJOB_LOOK, W_LOOK, "look" },
	{ TP_CJOB_CYCLE, W_CYCLE, "power" },
	{ TP_CJOB_FLASH, W_FLASH, "flash" },
};

struct slot {
	unsigned n;
	const struct tp_cplan_slot *p;
	struct tp_cslot rec;
	struct tp_cmon *mon;
	enum wait w;
	/* Followed again from an earlier run: its helper may have finished
	 * while nobody watched, so a timeout never re-flashes it (§4). */
	bool resumed;
	bool fresh;            /* powered on, no clock jump since (FIRST_JUMP_MS) */
};

struct run {
	struct tp_board *b;
	const struct tp_crun_opts *o;
	struct slot s[TP_SLOTS_MAX];
	size_t n;
	struct tp_cjob job;
};

static uint64_t wall(void)
{
	return (uint64_t)time(NULL);
}

static void emit(struct run *r, struct slot *s, const char *kind, const char *text)
{
	struct tp_cevent e = { s->n, kind, tp_cstate_name(s->rec.state), text };

	if (r->o->event)
		r->o->event(r->o->cookie, &e);
}

static int save(struct slot *s)
{
	int rc = tp_cslot_save(&s->rec);

	if (rc < 0)
		return tp_err_prefix(rc, "slot %u: cannot save its state: ", s->n);
	return 0;
}

/*
 * Start the next board job. A flash takes the first slot waiting for one
 * and, up to what the board flashes at once (tp_flash_at_once: one on
 * v2.4, all behind the v2.5 hub), the later ones waiting with the same
 * image: one decoded stream fanned out to them, so the memory stays one
 * flash's (§6). A power cycle is one slot's.
 */
static int job_start(struct run *r, size_t first, size_t k)
{
	enum tp_cjob_kind kind = job_kinds[k].kind;
	struct tp_flash_opts fo = r->o->flash;
	unsigned mask = 0, max = kind == TP_CJOB_FLASH ? tp_flash_at_once(r->b) : 1, n = 0;
	char text[320];
	int rc;

	fo.image = r->s[first].p->image;
	fo.seed = true;
	fo.wipe_nvme = r->s[first].p->wipe_nvme;
	fo.progress = NULL;
	fo.step = NULL;
	for (size_t i = first; i < r->n && n < max; i++) {
		struct slot *s = &r->s[i];

		if (s->w != job_kinds[k].w ||
		    strcmp(s->p->image, fo.image) != 0 || s->p->wipe_nvme != fo.wipe_nvme)
			continue;
		if (kind == TP_CJOB_FLASH) {
			tp_cslot_enter(&s->rec, TP_CS_FLASHING, wall());
			snprintf(text, sizeof(text), "flash %s and seed, then power on", s->p->image);
		} else if (kind == TP_CJOB_LOOK) {
			snprintf(text, sizeof(text), "no output at all on its console: its USB routed "
				 "to the BMC for a moment, to look for a boot ROM; then the node off");
		} else {
			snprintf(text, sizeof(text), "power off and on");
		}
		if ((rc = save(s)) < 0)
			return rc;
		emit(r, s, job_kinds[k].event, text);
		s->w = W_JOB;
		mask |= TP_SLOT_BIT(s->n);
		n++;
	}
	return tp_cjob_start(&r->job, r->b, kind, mask, &fo);
}

static void end_failed(struct run *r, struct slot *s, const char *why)
{
	char lines[4096];

	tp_cslot_fail(&s->rec, wall(), why);
	lines[0] = '\0';
	if (s->mon) {
		tp_cmon_recent(s->mon, lines, sizeof(lines));
		tp_cmon_close(s->mon);
	}
	emit(r, s, "failed", why);
	if (lines[0]) {
		char name[48];

		/* The evidence, for tpkit status and whoever looks later. */
		snprintf(name, sizeof(name), "commission-slot%u.console", s->n);
		(void)tp_state_save(name, lines);
		emit(r, s, "console", lines);
	}
	s->w = W_END;
}

static int looked(struct run *r, struct slot *s);

/* A job ended for slot s: it boots (its console followed) or takes a retry. */
static int job_done(struct run *r, struct slot *s)
{
	const struct tp_cjob *j = &r->job;
	const struct tp_flash_result *fr = &j->fr[s->n - 1];
	int rc;

	if (j->rc[s->n - 1] == -ECANCELED || tp_cancelled())
		return -ECANCELED;
	if (j->kind == TP_CJOB_LOOK)
		return looked(r, s);
	if (j->rc[s->n - 1] < 0) {
		char why[TP_CSLOT_TEXT_MAX];

		snprintf(why, sizeof(why), "%s: %.200s", j->kind == TP_CJOB_FLASH ? "flash" : "power",
			 j->msg[s->n - 1]);
		if (j->kind == TP_CJOB_FLASH &&
		    tp_cslot_timeout(&s->rec, wall(), why) == TP_CRETRY_REFLASH) {
			emit(r, s, "retry", why);
			s->w = W_FLASH;
		} else {
			end_failed(r, s, why);
		}
		return save(s);
	}
	if (j->kind == TP_CJOB_FLASH) {
		s->rec.flashes++;
		snprintf(s->rec.module, sizeof(s->rec.module), "%s", fr->module);
		snprintf(s->rec.image, sizeof(s->rec.image), "%s",
			 fr->image[0] ? fr->image : s->p->image);
		snprintf(s->rec.sha256, sizeof(s->rec.sha256), "%s", fr->sha256);
		snprintf(s->rec.instance_id, sizeof(s->rec.instance_id), "%s", fr->instance_id);
		snprintf(s->rec.root_uuid, sizeof(s->rec.root_uuid), "%s", fr->root_uuid);
		/* A new flash: the NVMe root an earlier one moved to is now the
		 * old system's (commission.md §11). */
		s->rec.nvme_root_uuid[0] = '\0';
		snprintf(s->rec.wipe_nvme, sizeof(s->rec.wipe_nvme), "%s",
			 s->p->wipe_nvme ? "yes" : "");
		s->mon->old_boots = 0;
	}
	tp_cslot_enter(&s->rec, TP_CS_BOOTING, wall());
	if ((rc = save(s)) < 0)
		return rc;
	emit(r, s, "power", "on");
	tp_cmon_close(s->mon);
	/* Where the console is a file that appears with the node (the twin's
	 * pty), it may not be there yet: the round loop opens it later. */
	(void)tp_cmon_open(s->mon);
	tp_cmon_arm(s->mon);
	s->w = W_FOLLOW;
	s->fresh = true;
	return 0;
}

/* The job finished: each of its slots, in slot order. */
static int jobs_done(struct run *r)
{
	int rc;

	for (size_t i = 0; i < r->n; i++)
		if (r->s[i].w == W_JOB && (r->job.mask & TP_SLOT_BIT(r->s[i].n)) &&
		    (rc = job_done(r, &r->s[i])) < 0)
			return rc;
	return 0;
}

/* Act on the retry the record took for a timeout whose verdict is why. */
static int retry(struct run *r, struct slot *s, const char *why, enum tp_cretry rt)
{
	switch (rt) {
	case TP_CRETRY_POWER_CYCLE:
		emit(r, s, "retry", "power cycle");
		tp_cmon_close(s->mon);
		s->w = W_CYCLE;
		break;
	case TP_CRETRY_REFLASH:
		if (s->resumed) {
			char why2[sizeof(s->rec.reason) + 80];

			snprintf(why2, sizeof(why2), "%.200s; not flashed again behind a node that may "
				 "be done (--reflash does)", why);
			end_failed(r, s, why2);
			break;
		}
		emit(r, s, "retry", "flash again");
		tp_cmon_close(s->mon);
		s->w = W_FLASH;
		break;
	case TP_CRETRY_NONE:
		end_failed(r, s, why);
		break;
	}
	return save(s);
}

/* The state's time ran out: the table's next retry, or failed. A node
 * that said nothing at all gets a look at its USB first (looked()). */
static int timed_out(struct run *r, struct slot *s)
{
	char why[sizeof(s->rec.reason)];

	tp_cmon_verdict(s->mon, why, sizeof(why));
	/* The old NVMe system: a power cycle or a flash boots it again. */
	if (tp_cmon_fatal(s->mon)) {
		end_failed(r, s, why);
		return save(s);
	}
	if (tp_cmon_silent(s->mon)) {
		tp_cmon_close(s->mon);
		s->w = W_LOOK;
		return 0;
	}
	emit(r, s, "timeout", why);
	return retry(r, s, why, tp_cslot_timeout(&s->rec, wall(), why));
}

/*
 * The look at a silent slot's USB ended (the node is off now). A boot ROM
 * there is the verdict (docs/commission.md §5), and the module says what
 * mends it: an RK1 whose eMMC holds no ID block falls back to maskrom,
 * which prints nothing, and a flash mends that; a CM4's ROM falls back to
 * USB only without a loader in its EEPROM, which no flash of the eMMC
 * mends, so that slot fails at once. Nothing there, or no look possible
 * (lines held by another program), leaves the silence as the verdict and
 * the usual retry.
 */
static int looked(struct run *r, struct slot *s)
{
	const struct tp_cjob *j = &r->job;
	const struct tp_flash_module *m = j->rom[s->n - 1];
	char why[sizeof(s->rec.reason)];
	size_t n;

	if (m) {
		snprintf(why, sizeof(why), "stuck in its boot ROM: no output at all on its console, "
			 "and its USB shows %s boot ROM, %s: %s", m->a_title, m->usb_id, m->rom_why);
		emit(r, s, "timeout", why);
		return retry(r, s, why, m->rom_flash_mends ?
						tp_cslot_timeout_flash(&s->rec, wall(), why) :
						TP_CRETRY_NONE);
	}
	tp_cmon_verdict(s->mon, why, sizeof(why));
	n = strlen(why);
	if (j->rc[s->n - 1] < 0)
		snprintf(why + n, sizeof(why) - n, "; its USB could not be looked at: %.160s",
			 j->msg[s->n - 1]);
	else
		snprintf(why + n, sizeof(why) - n, "; no boot ROM on its USB either");
	emit(r, s, "timeout", why);
	return retry(r, s, why, tp_cslot_timeout(&s->rec, wall(), why));
}

/*
 * What the run cannot go on without (the clock, a console that hung up) is
 * lost: it stops with each slot's record saved as it stands and its node
 * left as it is, so a run started again follows each from there
 * (docs/commission.md §4), as after a kill.
 */
static int stopped(int rc)
{
	char why[TP_ERR_MAX];

	snprintf(why, sizeof(why), "%s", tp_err_msg());
	return tp_err_set(rc, "%s; stopped with each slot's state kept: `tpkit commission` "
			  "again resumes", why);
}

/* One round over the followed consoles: reports, ends, and with expire
 * the timeouts. Sets *any when a byte came; 0 or -errno. */
static int follow(struct run *r, bool *any, bool expire)
{
	struct pollfd pfd[TP_SLOTS_MAX];
	nfds_t np = 0, nf = 0;
	struct tp_err_ctx lost;
	uint64_t now;
	int rc;

	*any = false;
	for (size_t i = 0; i < r->n; i++) {
		struct slot *s = &r->s[i];

		if (s->w != W_FOLLOW)
			continue;
		nf++;
		if (!s->mon->open)
			(void)tp_cmon_open(s->mon); /* kept for the verdict; tried each round */
		if (s->mon->open && s->mon->con.fd >= 0)
			pfd[np++] = (struct pollfd){ .fd = s->mon->con.fd, .events = POLLIN };
	}
	if (np)
		(void)poll(pfd, np, POLL_MS); /* what matters is read below */
	else if (nf || r->job.running)
		(void)poll(NULL, 0, POLL_MS); /* a job, or a console not there yet */
	/* Nothing is judged by a clock that could not be read: it reads 0, so
	 * no deadline would ever pass (the twin gone, say). */
	now = tp_clock_now_ns();
	if ((rc = tp_clock_error()) < 0)
		return stopped(rc);
	for (size_t i = 0; i < r->n; i++) {
		struct slot *s = &r->s[i];
		int rd;

		if (s->w != W_FOLLOW)
			continue;
		while ((rd = tp_cmon_read(s->mon)) > 0)
			*any = true;
		/* A UART never hangs up; a pty whose other end is gone does,
		 * and poll() would then return at once, every round. What was
		 * read before is saved first. */
		if (rd < 0)
			(void)tp_err_save(&lost, rd);
		if (s->mon->dirty) {
			s->mon->dirty = false;
			if ((rc = save(s)) < 0)
				return rc;
		}
		if (rd < 0)
			return stopped(tp_err_restore(&lost));
		if (s->rec.state == TP_CS_DONE) {
			emit(r, s, "done", s->rec.text);
			tp_cmon_close(s->mon);
			s->w = W_END;
		} else if (s->rec.state == TP_CS_FAILED) {
			end_failed(r, s, s->rec.reason);
			if ((rc = save(s)) < 0)
				return rc;
		} else if (s->mon->fatal ||
			   (expire && tp_cmon_expired(s->mon, now))) {
			if ((rc = timed_out(r, s)) < 0)
				return rc;
		}
	}
	return 0;
}

/* The twin's clock: nothing happened for a while, so jump to the next
 * deadline instead of waiting for it forever. */
static int move_clock(struct run *r)
{
	uint64_t now = tp_clock_now_ns(), next = 0;
	bool fresh = false;

	for (size_t i = 0; i < r->n; i++) {
		struct slot *s = &r->s[i];

		if (s->w == W_FOLLOW && s->mon->deadline_ns &&
		    (!next || s->mon->deadline_ns < next))
			next = s->mon->deadline_ns;
		fresh = fresh || (s->w == W_FOLLOW && s->fresh);
		s->fresh = false;
	}
	if (!next || next <= now)
		return 0;
	if (fresh && next - now > (uint64_t)FIRST_JUMP_MS * 1000000)
		next = now + (uint64_t)FIRST_JUMP_MS * 1000000;
	return tp_clock_sleep_ms((unsigned)((next - now + 999999) / 1000000));
}

static uint64_t real_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * Rounds until every slot has ended. On the system clock a timeout is
 * checked every round. On the twin's clock, which moves only when someone
 * sleeps on it, the nodes' consoles still run in real time: so timeouts
 * are checked only once the consoles and the USB path have been quiet for
 * QUIET_MS of real time, and if none has expired the clock jumps to the
 * next deadline; what a node says because of the jump (the twin boots it
 * a virtual moment after power-on) then has another quiet period to
 * arrive before that deadline is judged.
 */
static int loop(struct run *r)
{
	uint64_t quiet_since = real_ms();
	int rc = 0;

	for (;;) {
		bool any, open = false, virt = tp_clock_virtual(), quiet;

		if (tp_cancelled())
			return -ECANCELED;
		if (r->o->tick)
			r->o->tick(r->o->cookie);
		if (tp_cjob_reap(&r->job) && (rc = jobs_done(r)) < 0)
			return rc;
		/* The next job in slot order: a look, then a power cycle,
		 * then a flash (job_kinds). */
		for (size_t k = 0; k < sizeof(job_kinds) / sizeof(job_kinds[0]) &&
				   !r->job.running; k++)
			for (size_t i = 0; i < r->n && !r->job.running; i++)
				if (r->s[i].w == job_kinds[k].w && (rc = job_start(r, i, k)) < 0)
					return rc;
		for (size_t i = 0; i < r->n; i++)
			open = open || r->s[i].w != W_END;
		if (!open)
			return 0;
		if (r->job.running)
			quiet_since = real_ms();
		quiet = virt && !r->job.running && real_ms() - quiet_since >= QUIET_MS;
		if ((rc = follow(r, &any, !virt || quiet)) < 0)
			return rc;
		if (any) {
			quiet_since = real_ms();
		} else if (quiet) {
			quiet_since = real_ms();
			/* The twin's clock: its sleep fails when the twin is gone. */
			if ((rc = move_clock(r)) < 0)
				return rc == -ECANCELED ? rc : stopped(rc);
		}
	}
}

/*
 * A slot followed again whose node is off: the board lost power with the
 * BMC, or a person switched it off. Waiting for the state's timeout would
 * only lose its length; the node is powered on at once, and its helper
 * resumes from its journal (docs/commission.md §4). Lines held elsewhere
 * read as unknown: then the console is followed as before.
 */
static bool slot_off(struct tp_board *b, unsigned n)
{
	struct tp_slot_power st[TP_BOARD_SLOTS];

	return tp_power_status(b, TP_SLOT_BIT(n), st) == 0 &&
	       !strcmp(tp_power_word(&st[n - 1]), "off");
}

int tp_crun(struct tp_board *b, const struct tp_cplan_slot *plan, size_t n,
	    const struct tp_crun_opts *o, struct tp_crun_result *res)
{
	struct run *r = calloc(1, sizeof(*r));
	int rc = 0, failed = 0;

	if (!r)
		return tp_err_set(-ENOMEM, "out of memory");
	r->b = b;
	r->o = o;
	r->n = n;
	tp_cjob_init(&r->job);
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct slot *s = &r->s[i];

		s->n = plan[i].slot;
		s->p = &plan[i];
		s->rec = plan[i].rec;
		if (plan[i].rec_rc == -EBADMSG)
			tp_cslot_init(&s->rec, s->n);
		s->mon = malloc(sizeof(*s->mon)); /* a console's ring is 33 KiB */
		if (!s->mon) {
			rc = tp_err_set(-ENOMEM, "out of memory");
			break;
		}
		tp_cmon_init(s->mon, s->n, &s->rec, o->event, o->cookie);
		switch (plan[i].action) {
		case TP_CPLAN_FLASH:
			s->rec.attempts = 0;
			s->w = W_FLASH;
			break;
		case TP_CPLAN_BOOT:
			s->w = W_CYCLE; /* off, then on: from a known state */
			break;
		case TP_CPLAN_FOLLOW:
			s->resumed = true;
			if (slot_off(b, s->n)) {
				emit(r, s, "power", "its node is off (the board lost power, or "
				     "someone switched it off): powered on again");
				s->w = W_CYCLE;
				break;
			}
			s->w = W_FOLLOW;
			(void)tp_cmon_open(s->mon);
			tp_cmon_arm(s->mon);
			break;
		default:
			s->w = W_END;
		}
	}
	if (rc == 0)
		rc = loop(r);
	/* A cancel: the flash puts its slots back itself; wait for it. */
	tp_cjob_wait(&r->job);
	for (size_t i = 0; i < n; i++) {
		struct slot *s = &r->s[i];

		if (s->mon) {
			tp_cmon_close(s->mon);
			free(s->mon);
		}
		res[i].slot = s->n;
		res[i].rec = s->rec;
		failed += s->rec.state == TP_CS_FAILED && plan[i].action != TP_CPLAN_SKIP &&
			  plan[i].action != TP_CPLAN_LEAVE;
	}
	tp_cjob_destroy(&r->job);
	free(r);
	return rc < 0 ? rc : failed;
}
