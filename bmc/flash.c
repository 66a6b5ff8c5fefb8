// SPDX-License-Identifier: MIT
/*
 * The flash driver. A run is the slots that are in flash mode together —
 * every requested slot on a hub board (v2.5+), one slot on v2.4 — and goes
 * phase by phase over its jobs:
 *
 *   prepare    inputs checked before any node is touched: each module's own
 *              files, the image per module (flash_image.c), opened
 *   power      flash mode for all the run's slots at once (flashmode.h)
 *   enumerate  every slot's port polled together for either boot ROM;
 *              strap released once its boot ROM is on the bus
 *   bring-up   the module's steps up to a sink for its eMMC, each step for
 *              every slot before the next step for any (start, the
 *              module's mid steps, finish), so that the slots' loaders and
 *              USB disks come up side by side
 *   write      per image, one pipeline fanned out to its slots; several
 *              images (RK1 and CM4 slots with --image auto) in parallel
 *   leave      sinks closed, every node off, routing restored
 *
 * Enumerate and bring-up are flash_bringup.c's. The control steps run on
 * this thread, one slot after another: they take seconds against the
 * write's minutes, their waits overlap as the steps interleave, and on the
 * board twin they stay deterministic. A job that fails is powered off at
 * once and the others go on; the summary says what happened to each.
 */
#include "flash_run.h"
#include "board/turingpi2/gadget.h"
#include "common/cancel.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/slots.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void fl_job_step(struct fl_job *j, enum tp_flash_phase what)
{
	j->r->phase = what;
	if (j->o->step)
		j->o->step(j->o->step_cookie, j->r->slot, what);
}

/* Keep the current error as the slot's message, prefixed with the slot and
 * the step it stopped at, and leave it current for the caller. */
static void result_fail(struct tp_flash_result *r, int rc)
{
	if (r->slot)
		tp_err_prefix(rc, "slot %u: %s: ", r->slot, tp_flash_phase_name(r->phase));
	else
		tp_err_prefix(rc, "%s: ", tp_flash_phase_name(r->phase));
	snprintf(r->msg, sizeof(r->msg), "%s", tp_err_msg());
	r->rc = rc;
	r->cancelled = rc == -ECANCELED && tp_cancel_signal();
}

/* How long the job took, from its start to now. */
static void job_time(struct fl_job *j)
{
	uint64_t now = tp_clock_now_ns();

	/* A clock that failed (the twin gone) reads 0: no duration. */
	j->r->ns = now > j->start ? now - j->start : 0;
}

/* A job is over: its message recorded, its time taken, its device closed
 * and, while the others go on, its node off. */
void fl_job_fail(struct fl_run *ru, struct fl_job *j, int rc)
{
	result_fail(j->r, rc);
	job_time(j);
	j->live = false;
	tp_sink_close(j->sink);
	j->sink = NULL;
	if (ru->in_flash_mode && j->slot && tp_flashmode_slot_off(&ru->fm, j->slot) < 0) {
		j->off_failed = true;
		TP_ERR("%s", tp_err_msg());
	}
}

void fl_run_fail_all(struct fl_run *ru, int rc)
{
	struct tp_err_ctx e;

	tp_err_save(&e, rc);
	for (size_t i = 0; i < ru->n; i++)
		if (ru->job[i].live) {
			tp_err_restore(&e);
			fl_job_fail(ru, &ru->job[i], rc);
		}
}

struct fl_mod *fl_run_mod(struct fl_run *ru, const struct tp_flash_module *m)
{
	for (size_t i = 0; i < ru->nmods; i++)
		if (ru->mods[i].m == m)
			return &ru->mods[i];
	return NULL;
}

#ifdef CONFIG_TPKIT_SEED
/* Plan the slot's seed for module m, or for the module it most likely
 * holds (--module, the record of the last run, else the first this tpkit
 * knows) before any node is touched, so a bad config or a missing key
 * stops the slot before its node is powered. On the main thread: the plan
 * reads the config and may make the slot's secrets. */
int fl_job_seed_plan(struct fl_job *j, const struct tp_flash_module *m)
{
	if (!j->o->seed && !j->o->seed_only)
		return 0;
	if (!j->slot)
		return tp_err_set(-EINVAL, "seeding needs a slot (its name, keys and role "
				  "come from the slot's configuration): not with --board none");
	m = m ? m : j->o->module ? j->o->module : fl_slot_remembered(j->slot);
	j->seed.node_helper = j->o->node_helper;
	j->seed.wipe_nvme = j->o->wipe_nvme;
	return tp_flash_seed_plan(&j->seed, j->slot, (m ? m : tp_flash_modules[0])->name);
}

/* The seeding's outcome into the result, once the write is over. */
static void seed_result(struct fl_job *j)
{
	snprintf(j->r->instance_id, sizeof(j->r->instance_id), "%s", j->seed.res.instance_id);
	snprintf(j->r->root_uuid, sizeof(j->r->root_uuid), "%s", j->seed.res.root_uuid);
	j->r->seeded = true;
	tp_flash_seed_record(&j->seed, j->slot);
}

/* tpkit seed: the image already on each live slot's eMMC. */
static void seed_all(struct fl_run *ru)
{
	for (size_t i = 0; i < ru->n; i++) {
		struct fl_job *j = &ru->job[i];
		int rc;

		if (!j->live)
			continue;
		fl_job_step(j, TP_FLASH_PHASE_SEED);
		rc = tp_flash_seed_existing(&j->seed, j->sink);
		j->r->boot_blank = j->seed.boot_blank;
		if (rc < 0) {
			fl_job_fail(ru, j, rc);
			continue;
		}
		seed_result(j);
	}
}
#else
int fl_job_seed_plan(struct fl_job *j, const struct tp_flash_module *m)
{
	(void)m;
	return j->o->seed || j->o->seed_only ?
		tp_err_set(-ENOTSUP, "this tpkit was built without seeding (CONFIG_TPKIT_SEED)") : 0;
}
#endif

struct group {
	struct tp_flash_src *src;
	struct fl_job *job[TP_BOARD_SLOTS];
	struct tp_image_target t[TP_BOARD_SLOTS];
	size_t n;
	uint64_t ns; /* on tp_clock */
	pthread_t th;
	bool threaded;
};

static void *group_write(void *arg)
{
	struct group *g = arg;
	uint64_t start = tp_clock_now_ns();

	/* Timed on tp_clock, not by the pipeline: on the board twin that is
	 * the simulated USB time, on a BMC the same as wall time. */
	tp_image_write_multi(g->src->img, g->t, g->n);
	g->ns = tp_clock_now_ns() - start;
	return NULL;
}

/* A slot's own write and verify progress (tp_image_target.progress), from
 * its writer thread: serialised with the download's (flash_image.c), so
 * the caller's callback is never called twice at once. */
static void slot_progress(void *cookie, const struct tp_progress *p)
{
	struct fl_run *ru = cookie;

	pthread_mutex_lock(&ru->srcs->lock);
	ru->o->progress(ru->o->progress_cookie, p);
	pthread_mutex_unlock(&ru->srcs->lock);
}

/* One pipeline per image, all at once; results into each job. */
static void write_all(struct fl_run *ru)
{
	struct group g[TP_FLASH_MODULES] = { 0 };
	size_t ng = 0;

	for (size_t s = 0; s < ru->srcs->n; s++) {
		struct group *gr = &g[ng];

		gr->src = &ru->srcs->s[s];
		for (size_t i = 0; i < ru->n; i++) {
			struct fl_job *j = &ru->job[i];

			if (!j->live || j->src != gr->src)
				continue;
			fl_job_step(j, TP_FLASH_PHASE_WRITE);
			gr->t[gr->n] = (struct tp_image_target){ .sink = j->sink, .id = j->slot };
			/* Each slot its own figures; --board none has one target,
			 * and the image's are its. */
			if (ru->o->progress && j->slot) {
				gr->t[gr->n].progress = slot_progress;
				gr->t[gr->n].progress_cookie = ru;
			}
#ifdef CONFIG_TPKIT_SEED
			if (j->seed.plan) {
				gr->t[gr->n].before_head = tp_flash_seed_before_head;
				gr->t[gr->n].before_head_cookie = &j->seed;
			}
#endif
			gr->job[gr->n++] = j;
		}
		if (gr->n)
			ng++;
	}
	/* Every image but the last on a thread of its own, the last on this
	 * one (with one module kind built, there is only that one). */
	for (size_t k = 0; k + 1 < ng; k++)
		g[k].threaded = tp_cancel_thread_create(&g[k].th, group_write, &g[k]) == 0;
	for (size_t k = 0; k < ng; k++)
		if (!g[k].threaded)
			group_write(&g[k]);
	for (size_t k = 0; k + 1 < ng; k++)
		if (g[k].threaded)
			pthread_join(g[k].th, NULL);

	for (size_t k = 0; k < ng; k++)
		for (size_t i = 0; i < g[k].n; i++) {
			struct fl_job *j = g[k].job[i];
			const struct tp_image_target *t = &g[k].t[i];
			struct tp_flash_result *r = j->r;

			r->write_ns = g[k].ns;
			r->bytes = t->res.raw_bytes;
			r->verified = t->res.verified;
			r->sum_checked = t->res.sum_checked;
			r->shared = g[k].n > 1;
			snprintf(r->sha256, sizeof(r->sha256), "%s", t->res.sha256);
			r->head_blank_failed = t->res.head_blank_failed;
#ifdef CONFIG_TPKIT_SEED
			if (!t->rc && j->seed.plan)
				seed_result(j);
#endif
			if (!t->rc)
				continue;
			if (t->res.before_head_failed)
				fl_job_step(j, TP_FLASH_PHASE_SEED);
			else if (t->res.fail_phase == TP_PHASE_VERIFY)
				fl_job_step(j, TP_FLASH_PHASE_VERIFY);
			tp_err_set(t->rc, "%s", t->msg);
			fl_job_fail(ru, j, t->rc);
		}
}

/* One run: the jobs set up by the caller, all in flash mode together. */
static void run_jobs_in(struct fl_run *ru)
{
	unsigned mask = 0;
	int rc;

	for (size_t i = 0; i < ru->n; i++) {
		struct fl_job *j = &ru->job[i];

		j->live = true;
		j->r->restored = true; /* until a node is touched */
		fl_job_step(j, TP_FLASH_PHASE_PREPARE);
		fl_run_check_remembered(ru, j);
		if (j->live && (rc = fl_job_seed_plan(j, NULL)) < 0)
			fl_job_fail(ru, j, rc);
		mask |= j->live && j->slot ? TP_SLOT_BIT(j->slot) : 0;
	}
	if (ru->b && !mask)
		return;
	/* A file or URL: opened before any node is touched, so a missing
	 * file, a 404 or an unknown format never reaches a node. A catalogue
	 * image per module was resolved (its cached copy hashed) already, and
	 * is opened once a slot is found to hold that module. */
	if (ru->srcs && tp_flash_srcs_single(ru->srcs) &&
	    (rc = tp_flash_src_open(&ru->srcs->s[0])) < 0)
		return fl_run_fail_all(ru, rc);
	if (ru->b) {
		/* Cancelled while the image was being opened (tpkit serve's
		 * cancel of a job still waiting): no node touched yet, none is. */
		if ((rc = tp_cancel_check()) < 0)
			return fl_run_fail_all(ru, rc);
		for (size_t i = 0; i < ru->n; i++)
			fl_job_step(&ru->job[i], TP_FLASH_PHASE_POWER);
		rc = tp_flashmode_enter(ru->b, mask,
					ru->o->seed_only ? TP_FLASHMODE_SEED :
					ru->o->msd       ? TP_FLASHMODE_MSD :
							   TP_FLASHMODE_FLASH,
					&ru->fm);
		if (rc < 0) /* enter undoes itself */
			return fl_run_fail_all(ru, rc);
		ru->in_flash_mode = true;
		for (size_t i = 0; i < ru->n; i++)
			ru->job[i].r->restored = false;
	}
	fl_run_bring_up(ru);
#ifdef CONFIG_TPKIT_SEED
	if (ru->o->seed_only)
		seed_all(ru);
	else
#endif
	if (!ru->o->msd)
		write_all(ru);
	/* Close the devices before the nodes lose power under them. */
	for (size_t i = 0; i < ru->n; i++) {
		tp_sink_close(ru->job[i].sink);
		ru->job[i].sink = NULL;
	}
	if (ru->in_flash_mode) {
		struct tp_err_ctx why;
		/* msd's one node, up: handed over as it is; else put back. */
		bool keep = ru->o->msd && ru->n == 1 && ru->job[0].live;
		int rc2 = tp_err_save(&why, keep ? tp_flashmode_handover(&ru->fm) :
						   tp_flashmode_leave(&ru->fm));

		ru->in_flash_mode = false;
		for (size_t i = 0; i < ru->n; i++) {
			struct fl_job *j = &ru->job[i];

			j->r->restored = rc2 == 0 && !j->off_failed;
			if (rc2 < 0 && j->live) {
				fl_job_step(j, TP_FLASH_PHASE_RESTORE);
				tp_err_restore(&why);
				fl_job_fail(ru, j, rc2);
			}
		}
		if (rc2 < 0)
			TP_ERR("%s", why.msg);
	}
	for (size_t i = 0; i < ru->n; i++) {
		struct fl_job *j = &ru->job[i];

		if (j->live) {
			job_time(j);
			fl_job_step(j, TP_FLASH_PHASE_DONE);
		}
	}
	if (ru->srcs)
		tp_flash_srcs_close(ru->srcs);
}

static void run_jobs(struct fl_run *ru)
{
	run_jobs_in(ru);
#ifdef CONFIG_TPKIT_SEED
	for (size_t i = 0; i < ru->n; i++)
		tp_flash_seed_free(&ru->job[i].seed);
#endif
}

static void job_init(struct fl_run *ru, struct tp_flash_result *r, unsigned slot, const char *path)
{
	struct fl_job *j = &ru->job[ru->n++];

	memset(j, 0, sizeof(*j));
	memset(r, 0, sizeof(*r));
	j->o = ru->o;
	j->slot = r->slot = slot;
	j->r = r;
	j->start = tp_clock_now_ns();
	if (ru->b)
		j->path = tp_board_usb_path(ru->b->desc, slot, j->pattern, sizeof(j->pattern));
	else if (path)
		j->path = snprintf(j->pattern, sizeof(j->pattern), "%s", path) ? j->pattern : NULL;
}

/*
 * Before anything is touched: which modules' files are ready, and what
 * --image is for each. A module's files are needed only once its boot ROM
 * shows up, so a module that is not ready is fine — unless the user named
 * its files or said the slots hold it (--module): then they must be ready
 * now, before a node is powered. With no module ready nothing could be
 * flashed, and the error says what each one needs and where it was looked
 * for. Returns 0 or the error.
 */
static int prepare(struct fl_run *ru, struct fl_mod *mods, struct tp_flash_srcs *srcs)
{
	const struct tp_flash_module *ready[TP_FLASH_MODULES];
	const struct tp_flash_module *want = ru->o->module;
	char all[TP_ERR_MAX];
	size_t nready = 0, len = 0;

	ru->mods = mods;
	ru->nmods = TP_FLASH_MODULES;
	for (size_t i = 0; i < TP_FLASH_MODULES; i++) {
		struct fl_mod *md = &mods[i];

		md->m = tp_flash_modules[i];
		if (tp_err_save(&md->err, md->m->ready(ru->o, &md->ctx)) < 0) {
			if (md->m == want)
				return tp_err_prefix(md->err.rc, "--module %s: ", want->name);
			if (tp_flash_files_named(ru->o, md->m))
				return md->err.rc;
			continue;
		}
		if (!want || md->m == want)
			ready[nready++] = md->m;
	}
	if (nready && (ru->o->seed_only || ru->o->msd))
		return 0; /* no image */
	if (nready) {
		ru->srcs = srcs;
		return tp_flash_srcs_init(srcs, ru->o, ready, nready);
	}
	if (TP_FLASH_MODULES == 1)
		return tp_err_restore(&mods[0].err);
	for (size_t i = 0; i < TP_FLASH_MODULES && len < sizeof(all) - 1; i++) {
		len += (size_t)snprintf(all + len, sizeof(all) - len, "%s%s: %s", i ? "; " : "",
					mods[i].m->a_title, mods[i].err.msg);
		len = len < sizeof(all) - 1 ? len : sizeof(all) - 1;
	}
	return tp_err_set(mods[0].err.rc, "no module can be flashed, each one's files are missing "
			  "(%s)", all);
}

static void release(struct fl_run *ru)
{
	for (size_t i = 0; i < ru->nmods; i++)
		if (!ru->mods[i].err.rc && ru->mods[i].ctx)
			ru->mods[i].m->release(ru->mods[i].ctx);
	if (ru->srcs)
		tp_flash_srcs_free(ru->srcs);
}

/* Every slot fails in prepare (the current error): nothing was touched. */
static size_t fail_prepare(struct fl_run *ru, int rc, unsigned mask, struct tp_flash_result *res)
{
	struct tp_err_ctx e;
	size_t n = 0;

	tp_err_save(&e, rc);
	release(ru);
	for (unsigned s = 0; s <= TP_BOARD_SLOTS; s++) {
		if (s ? !(mask & TP_SLOT_BIT(s)) : !!mask)
			continue; /* slot 0: --board none, for mask 0 */
		ru->n = 0;
		job_init(ru, &res[n], s, NULL);
		fl_job_step(&ru->job[0], TP_FLASH_PHASE_PREPARE);
		res[n].restored = true;
		tp_err_restore(&e);
		result_fail(&res[n], rc);
		n++;
	}
	return n;
}

unsigned tp_flash_at_once(const struct tp_board *b)
{
	return b->desc->usb_bus == TP_USB_MUX ? 1 : TP_BOARD_SLOTS;
}

size_t tp_flash_slots(struct tp_board *b, unsigned mask, const struct tp_flash_opts *o,
		      struct tp_flash_result *res)
{
	struct fl_run ru = { .b = b, .o = o };
	struct fl_mod mods[TP_FLASH_MODULES] = { 0 };
	struct tp_flash_srcs srcs;
	size_t n = 0;
	int rc;

	rc = prepare(&ru, mods, &srcs);
	if (rc < 0)
		return fail_prepare(&ru, rc, mask, res);
	if (tp_flash_at_once(b) > 1) {
		/* A hub: every slot at once. */
		for (unsigned s = 1; s <= TP_BOARD_SLOTS; s++)
			if (mask & TP_SLOT_BIT(s))
				job_init(&ru, &res[n++], s, NULL);
		run_jobs(&ru);
	} else {
		for (unsigned s = 1; s <= TP_BOARD_SLOTS; s++) {
			if (!(mask & TP_SLOT_BIT(s)))
				continue;
			ru.n = 0;
			/* A failed slot does not stop the others, but a cancel
			 * does: the slots not begun say so, untouched. */
			if (tp_cancelled()) {
				job_init(&ru, &res[n++], s, NULL);
				fl_job_step(&ru.job[0], TP_FLASH_PHASE_PREPARE);
				res[n - 1].restored = true;
				result_fail(&res[n - 1], tp_cancel_check());
				continue;
			}
			job_init(&ru, &res[n++], s, NULL);
			run_jobs(&ru);
		}
	}
	release(&ru);
	return n;
}

int tp_flash_msd(struct tp_board *b, unsigned slot, struct tp_flash_opts *o,
		 struct tp_flash_result *res)
{
	struct tp_flash_result all[TP_BOARD_SLOTS];
	int rc;

	o->msd = true;
	if (tp_flash_slots(b, TP_SLOT_BIT(slot), o, all) != 1)
		return res->rc = tp_err_set(-EIO, "slot %u: no result", slot);
	*res = all[0];
	if (res->rc < 0)
		return tp_err_set(res->rc, "%s", res->msg);
	rc = tp_gadget_msd_export(res->disk);
	return rc < 0 ? tp_err_prefix(rc, "the node is on and its eMMC is %s on the BMC, but ",
				      res->disk) : 0;
}

int tp_flash_usb(const char *usb_path, const struct tp_flash_opts *o, struct tp_flash_result *r)
{
	struct fl_run ru = { .o = o };
	struct fl_mod mods[TP_FLASH_MODULES] = { 0 };
	struct tp_flash_srcs srcs;
	int rc;

	rc = prepare(&ru, mods, &srcs);
	if (rc < 0) {
		fail_prepare(&ru, rc, 0, r);
		return rc;
	}
	job_init(&ru, r, 0, usb_path);
	run_jobs(&ru);
	release(&ru);
	return r->rc;
}
