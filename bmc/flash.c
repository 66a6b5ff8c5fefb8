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
 * The control steps run on this thread, one slot after another: they take
 * seconds against the write's minutes, their waits overlap as the steps
 * interleave, and on the board twin they stay deterministic. A job that fails is powered off at once and the others go
 * on; the summary says what happened to each.
 */
#include "flash_priv.h"
#include "board/turingpi2/flashmode.h"
#include "common/cancel.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/slots.h"
#include "common/state.h"
#ifdef CONFIG_TPKIT_SEED
#include "flash_seed.h"
#endif

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

struct job {
	const struct tp_flash_opts *o;
	unsigned slot;                   /* 0: --board none */
	struct tp_flash_result *r;
	const char *path;                /* USB path pattern, NULL: any */
	char pattern[32];
	const struct tp_flash_module *m; /* what enumerated */
	struct tp_flash_src *src;
	struct tp_sink *sink;
	void *mstate;                    /* between the module's start and finish */
	bool started;
	bool live;
	bool off_failed;                 /* powering it off early failed */
	int strap_rc;                    /* releasing the strap failed */
	uint64_t start;
	struct tp_image_target *t;       /* while writing */
#ifdef CONFIG_TPKIT_SEED
	struct tp_flash_seed seed;
#endif
};

struct mod {
	const struct tp_flash_module *m;
	void *ctx;
	struct tp_err_ctx err;           /* not ready: why */
};

struct run {
	struct tp_board *b;              /* NULL: --board none */
	const struct tp_flash_opts *o;
	struct mod *mods;
	size_t nmods;
	struct tp_flash_srcs *srcs;
	struct tp_flashmode fm;
	bool in_flash_mode;
	struct job job[TP_BOARD_SLOTS];
	size_t n;
	size_t probing[TP_BOARD_SLOTS];  /* enumerate: probe index -> job */
};

static void step(struct job *j, enum tp_flash_phase what)
{
	j->r->phase = what;
	if (j->o->step)
		j->o->step(j->o->step_cookie, j->r->slot, what);
}

static void module_step(void *cookie, enum tp_flash_phase what)
{
	step(cookie, what);
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
static void job_time(struct job *j)
{
	uint64_t now = tp_clock_now_ns();

	/* A clock that failed (the twin gone) reads 0: no duration. */
	j->r->ns = now > j->start ? now - j->start : 0;
}

/* A job is over: its message recorded, its time taken, its device closed
 * and, while the others go on, its node off. */
static void job_fail(struct run *ru, struct job *j, int rc)
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

static void fail_all(struct run *ru, int rc)
{
	struct tp_err_ctx e;

	tp_err_save(&e, rc);
	for (size_t i = 0; i < ru->n; i++)
		if (ru->job[i].live) {
			tp_err_restore(&e);
			job_fail(ru, &ru->job[i], rc);
		}
}

static struct mod *mod_of(struct run *ru, const struct tp_flash_module *m)
{
	for (size_t i = 0; i < ru->nmods; i++)
		if (ru->mods[i].m == m)
			return &ru->mods[i];
	return NULL;
}

/* The state record of the module a slot held when last seen. */
static void record_name(unsigned slot, char *name, size_t size)
{
	snprintf(name, size, "slot%u.module", slot);
}

/* A slot whose module was seen: remembered for the next run, so that its
 * files can be checked before its node is touched. Only a convenience:
 * a record that cannot be written costs nothing but that check. */
static void remember(const struct job *j)
{
	char name[32], text[16];

	if (!j->slot)
		return;
	record_name(j->slot, name, sizeof(name));
	snprintf(text, sizeof(text), "%s\n", j->m->name);
	if (tp_state_save(name, text) < 0)
		TP_INFO("slot %u: %s", j->slot, tp_err_msg());
}

/*
 * Before any node is touched: a slot that held a module whose files are
 * not ready fails now, not after its node was powered up and its boot ROM
 * seen (--module says what the slots hold instead, and wins).
 */
/* The module the state record says slot held, NULL if none (or unknown). */
static const struct tp_flash_module *remembered(unsigned slot)
{
	char name[32], text[16];

	record_name(slot, name, sizeof(name));
	if (tp_state_load(name, text, sizeof(text)) <= 0)
		return NULL;
	text[strcspn(text, "\n")] = '\0';
	return tp_flash_module_find(text);
}

static void check_remembered(struct run *ru, struct job *j)
{
	const struct tp_flash_module *m;
	struct mod *md;
	char name[32], dir[256];

	if (!ru->b || !j->slot || ru->o->module)
		return;
	m = remembered(j->slot);
	md = m ? mod_of(ru, m) : NULL;
	if (!md || !md->err.rc)
		return;
	if (tp_state_dir(dir, sizeof(dir)) < 0)
		snprintf(dir, sizeof(dir), "the state directory");
	record_name(j->slot, name, sizeof(name));
	tp_err_set(md->err.rc, "this slot held %s when tpkit last flashed it (%s/%s), and %s: %s. Put "
		   "them in place, or pass --module NAME if the slot now holds another module",
		   m->a_title, dir, name, "that module's files are not ready", md->err.msg);
	job_fail(ru, j, md->err.rc);
}

/* --image names a file for the other module? Told from the image's own
 * head, decoded ahead, before the module is brought up and long before
 * anything is written (commissioning.md §3.4). An image of unknown layout
 * goes through. */
static int check_family(struct job *j)
{
	const void *head;
	size_t len;
	char why[160];
	enum tp_family f;
	int rc = tp_image_head(j->src->img, &head, &len);

	if (rc < 0)
		return rc;
	f = tp_family_detect(head, len, why, sizeof(why));
	if (f == TP_FAMILY_UNKNOWN || f == j->m->family)
		return 0;
	if (j->o->force) {
		TP_WARN("slot %u: the image looks like one for a %s (%s); writing it to the %s "
			"anyway, as --force says", j->slot, tp_family_name(f), why, j->m->title);
		return 0;
	}
	return tp_err_set(-EMEDIUMTYPE, "this slot holds %s, but %s looks like an image for a "
			  "%s (%s); nothing was written. Pick an image for the %s (tpkit images "
			  "list), or add --force if it is right",
			  j->m->a_title, j->o->image, tp_family_name(f), why, j->m->title);
}

/* A boot ROM is on the bus: it has made its boot decision, so its strap
 * goes now, before the loader runs (hardware.md §7.2, item 5). */
static void on_found(void *cookie, size_t i)
{
	struct run *ru = cookie;
	struct job *j = &ru->job[ru->probing[i]];
	int rc;

	if (ru->in_flash_mode && (rc = tp_flashmode_release_strap(&ru->fm, j->slot)) < 0)
		j->strap_rc = rc;
}

/* Enumerate: every live job's port at once. */
static void enumerate(struct run *ru)
{
	const struct tp_flash_module *which[TP_BOARD_SLOTS];
	const char *paths[TP_BOARD_SLOTS];
	char looked[96] = "";
	size_t n = 0, len = 0;
	int rc;

	for (size_t i = 0; i < ru->nmods; i++)
		if (!ru->mods[i].err.rc)
			len += (size_t)snprintf(looked + len, sizeof(looked) - len, "%s%s",
						len ? " or " : "", ru->mods[i].m->usb_id);
	for (size_t i = 0; i < ru->n; i++) {
		if (!ru->job[i].live)
			continue;
		step(&ru->job[i], TP_FLASH_PHASE_ENUMERATE);
		ru->probing[n] = i;
		paths[n++] = ru->job[i].path;
	}
	if (!n)
		return;
	rc = tp_flash_probe(paths, n, ru->o->enum_timeout_ms, which, on_found, ru);
	if (rc < 0 && rc != -ETIMEDOUT) {
		fail_all(ru, rc);
		return;
	}
	for (size_t k = 0; k < n; k++) {
		struct job *j = &ru->job[ru->probing[k]];

		j->m = which[k];
		if (!j->m) {
			tp_err_set(-ETIMEDOUT, "no %s appeared at USB path %s within %u ms", looked,
				   j->path ? j->path : "(any)", ru->o->enum_timeout_ms);
			j->r->empty = true; /* or a module that never answers: the same to us */
			job_fail(ru, j, -ETIMEDOUT);
			continue;
		}
		snprintf(j->r->module, sizeof(j->r->module), "%s", j->m->name);
		remember(j);
		if (j->o->module && j->m != j->o->module) {
			tp_err_set(-EMEDIUMTYPE, "this slot holds %s (%s), not %s as --module "
				   "says; nothing was written", j->m->a_title, j->m->usb_id,
				   j->o->module->a_title);
			job_fail(ru, j, -EMEDIUMTYPE);
			continue;
		}
		if (j->strap_rc < 0) {
			tp_err_set(j->strap_rc, "releasing the strap: %s", tp_err_msg());
			job_fail(ru, j, j->strap_rc);
		}
	}
}

#ifdef CONFIG_TPKIT_SEED
/* Plan the slot's seed for module m, or for the module it most likely
 * holds (--module, the record of the last run, else the first this tpkit
 * knows) before any node is touched, so a bad config or a missing key
 * stops the slot before its node is powered. On the main thread: the plan
 * reads the config and may make the slot's secrets. */
static int seed_plan(struct job *j, const struct tp_flash_module *m)
{
	if (!j->o->seed && !j->o->seed_only)
		return 0;
	if (!j->slot)
		return tp_err_set(-EINVAL, "seeding needs a slot (its name, keys and role "
				  "come from the slot's configuration): not with --board none");
	m = m ? m : j->o->module ? j->o->module : remembered(j->slot);
	j->seed.node_helper = j->o->node_helper;
	j->seed.wipe_nvme = j->o->wipe_nvme;
	return tp_flash_seed_plan(&j->seed, j->slot, (m ? m : tp_flash_modules[0])->name);
}

/* The seeding's outcome into the result, once the write is over. */
static void seed_result(struct job *j)
{
	snprintf(j->r->instance_id, sizeof(j->r->instance_id), "%s", j->seed.res.instance_id);
	snprintf(j->r->root_uuid, sizeof(j->r->root_uuid), "%s", j->seed.res.root_uuid);
	j->r->seeded = true;
	tp_flash_seed_record(&j->seed, j->slot);
}

/* tpkit seed: the image already on each live slot's eMMC. */
static void seed_all(struct run *ru)
{
	for (size_t i = 0; i < ru->n; i++) {
		struct job *j = &ru->job[i];
		int rc;

		if (!j->live)
			continue;
		step(j, TP_FLASH_PHASE_SEED);
		rc = tp_flash_seed_existing(&j->seed, j->sink);
		j->r->boot_blank = j->seed.boot_blank;
		if (rc < 0) {
			job_fail(ru, j, rc);
			continue;
		}
		seed_result(j);
	}
}
#else
static int seed_plan(struct job *j, const struct tp_flash_module *m)
{
	(void)m;
	return j->o->seed || j->o->seed_only ?
		tp_err_set(-ENOTSUP, "this tpkit was built without seeding (CONFIG_TPKIT_SEED)") : 0;
}
#endif

/* The first step of bring-up: what the job's module needs of the host first.
 * The slot's boot ROM is on the bus. */
static void bring_up_start(struct run *ru, struct job *j)
{
	struct mod *md = mod_of(ru, j->m);
	int rc;

	if (!md || md->err.rc) {
		tp_err_set(-ENODEV, "this slot holds %s (%s), but it cannot be flashed: %s",
			   j->m->a_title, j->m->usb_id,
			   md ? md->err.msg : "this tpkit was built without support for it");
		return job_fail(ru, j, -ENODEV);
	}
	if ((rc = seed_plan(j, j->m)) < 0) {
		step(j, TP_FLASH_PHASE_SEED);
		return job_fail(ru, j, rc);
	}
	if (j->o->seed_only)
		goto start;
	j->src = tp_flash_src_for(ru->srcs, j->m);
	if (!j->src) {
		tp_err_set(-ENOENT, "--image %s has no image for %s", j->o->image, j->m->a_title);
		return job_fail(ru, j, -ENOENT);
	}
	snprintf(j->r->image, sizeof(j->r->image), "%s",
		 j->src->pick.name[0]         ? j->src->pick.name :
		 !strcmp(j->o->image, "-") ? "stdin" :
						 j->o->image);
	if ((rc = tp_flash_src_open(j->src)) < 0 || (rc = check_family(j)) < 0) {
		j->r->phase = TP_FLASH_PHASE_IMAGE;
		return job_fail(ru, j, rc);
	}
start:
	rc = j->m->start(md->ctx, j->o, j->r, j->path, module_step, j, &j->mstate);
	if (rc < 0)
		return job_fail(ru, j, rc);
	j->started = true;
}

/* The module's step K between start and finish (tp_flash_module.mid). */
static void bring_up_mid(struct run *ru, struct job *j, size_t k)
{
	struct mod *md = mod_of(ru, j->m);
	int rc = j->m->mid[k](md->ctx, j->o, j->r, &j->mstate);

	if (rc < 0) {
		j->started = false; /* the step freed the state */
		job_fail(ru, j, rc);
	}
}

/* The last step: the module back on the bus, a sink for its eMMC. */
static void bring_up_finish(struct run *ru, struct job *j)
{
	struct mod *md = mod_of(ru, j->m);
	uint64_t need;
	int rc;

	j->started = false; /* finish frees the state, whatever happens */
	rc = j->m->finish(md->ctx, j->o, j->r, j->mstate, module_step, j, &j->sink);
	j->mstate = NULL;
	if (rc < 0)
		return job_fail(ru, j, rc);
	j->r->capacity = j->sink->size;
	need = j->src ? tp_image_raw_size(j->src->img) : 0;
	if (need && j->sink->size && need > j->sink->size) {
		/* The error belongs to the write, not to the step before it;
		 * no step event, as nothing is written. */
		j->r->phase = TP_FLASH_PHASE_WRITE;
		tp_err_set(-EFBIG, "the image is %" PRIu64 " bytes but the eMMC holds only %" PRIu64
			   "; nothing was written", need, j->sink->size);
		return job_fail(ru, j, -EFBIG);
	}
}

struct group {
	struct tp_flash_src *src;
	struct job *job[TP_BOARD_SLOTS];
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
	struct run *ru = cookie;

	pthread_mutex_lock(&ru->srcs->lock);
	ru->o->progress(ru->o->progress_cookie, p);
	pthread_mutex_unlock(&ru->srcs->lock);
}

/* One pipeline per image, all at once; results into each job. */
static void write_all(struct run *ru)
{
	struct group g[TP_FLASH_MODULES] = { 0 };
	size_t ng = 0;

	for (size_t s = 0; s < ru->srcs->n; s++) {
		struct group *gr = &g[ng];

		gr->src = &ru->srcs->s[s];
		for (size_t i = 0; i < ru->n; i++) {
			struct job *j = &ru->job[i];

			if (!j->live || j->src != gr->src)
				continue;
			step(j, TP_FLASH_PHASE_WRITE);
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
		g[k].threaded = pthread_create(&g[k].th, NULL, group_write, &g[k]) == 0;
	for (size_t k = 0; k < ng; k++)
		if (!g[k].threaded)
			group_write(&g[k]);
	for (size_t k = 0; k + 1 < ng; k++)
		if (g[k].threaded)
			pthread_join(g[k].th, NULL);

	for (size_t k = 0; k < ng; k++)
		for (size_t i = 0; i < g[k].n; i++) {
			struct job *j = g[k].job[i];
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
				step(j, TP_FLASH_PHASE_SEED);
			else if (t->res.fail_phase == TP_PHASE_VERIFY)
				step(j, TP_FLASH_PHASE_VERIFY);
			tp_err_set(t->rc, "%s", t->msg);
			job_fail(ru, j, t->rc);
		}
}

/* One run: the jobs set up by the caller, all in flash mode together. */
static void run_jobs_in(struct run *ru)
{
	unsigned mask = 0;
	int rc;

	for (size_t i = 0; i < ru->n; i++) {
		struct job *j = &ru->job[i];

		j->live = true;
		j->r->restored = true; /* until a node is touched */
		step(j, TP_FLASH_PHASE_PREPARE);
		check_remembered(ru, j);
		if (j->live && (rc = seed_plan(j, NULL)) < 0)
			job_fail(ru, j, rc);
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
		return fail_all(ru, rc);
	if (ru->b) {
		for (size_t i = 0; i < ru->n; i++)
			step(&ru->job[i], TP_FLASH_PHASE_POWER);
		rc = tp_flashmode_enter(ru->b, mask,
					ru->o->seed_only ? TP_FLASHMODE_SEED : TP_FLASHMODE_FLASH, &ru->fm);
		if (rc < 0) /* enter undoes itself */
			return fail_all(ru, rc);
		ru->in_flash_mode = true;
		for (size_t i = 0; i < ru->n; i++)
			ru->job[i].r->restored = false;
	}
	enumerate(ru);
	/* Every slot's first step, then every slot's next, and so on: the
	 * loaders and USB disks come up side by side rather than one after
	 * another, each slot's waits overlapping the others' work. */
	for (size_t i = 0; i < ru->n; i++)
		if (ru->job[i].live)
			bring_up_start(ru, &ru->job[i]);
	for (size_t k = 0, more = 1; more; k++) {
		more = 0;
		for (size_t i = 0; i < ru->n; i++) {
			struct job *j = &ru->job[i];

			if (j->live && j->started && k < j->m->nmid) {
				bring_up_mid(ru, j, k);
				more = 1;
			}
		}
	}
	for (size_t i = 0; i < ru->n; i++)
		if (ru->job[i].live && ru->job[i].started)
			bring_up_finish(ru, &ru->job[i]);
#ifdef CONFIG_TPKIT_SEED
	if (ru->o->seed_only)
		seed_all(ru);
	else
#endif
		write_all(ru);
	/* Close the devices before the nodes lose power under them. */
	for (size_t i = 0; i < ru->n; i++) {
		tp_sink_close(ru->job[i].sink);
		ru->job[i].sink = NULL;
	}
	if (ru->in_flash_mode) {
		struct tp_err_ctx why;
		int rc2 = tp_err_save(&why, tp_flashmode_leave(&ru->fm));

		ru->in_flash_mode = false;
		for (size_t i = 0; i < ru->n; i++) {
			struct job *j = &ru->job[i];

			j->r->restored = rc2 == 0 && !j->off_failed;
			if (rc2 < 0 && j->live) {
				step(j, TP_FLASH_PHASE_RESTORE);
				tp_err_restore(&why);
				job_fail(ru, j, rc2);
			}
		}
		if (rc2 < 0)
			TP_ERR("%s", why.msg);
	}
	for (size_t i = 0; i < ru->n; i++) {
		struct job *j = &ru->job[i];

		if (j->live) {
			job_time(j);
			step(j, TP_FLASH_PHASE_DONE);
		}
	}
	if (ru->srcs)
		tp_flash_srcs_close(ru->srcs);
}

static void run_jobs(struct run *ru)
{
	run_jobs_in(ru);
#ifdef CONFIG_TPKIT_SEED
	for (size_t i = 0; i < ru->n; i++)
		tp_flash_seed_free(&ru->job[i].seed);
#endif
}

static void job_init(struct run *ru, struct tp_flash_result *r, unsigned slot, const char *path)
{
	struct job *j = &ru->job[ru->n++];

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
static int prepare(struct run *ru, struct mod *mods, struct tp_flash_srcs *srcs)
{
	const struct tp_flash_module *ready[TP_FLASH_MODULES];
	const struct tp_flash_module *want = ru->o->module;
	char all[TP_ERR_MAX];
	size_t nready = 0, len = 0;

	ru->mods = mods;
	ru->nmods = TP_FLASH_MODULES;
	for (size_t i = 0; i < TP_FLASH_MODULES; i++) {
		struct mod *md = &mods[i];

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
	if (nready && ru->o->seed_only)
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

static void release(struct run *ru)
{
	for (size_t i = 0; i < ru->nmods; i++)
		if (!ru->mods[i].err.rc && ru->mods[i].ctx)
			ru->mods[i].m->release(ru->mods[i].ctx);
	if (ru->srcs)
		tp_flash_srcs_free(ru->srcs);
}

/* Every slot fails in prepare (the current error): nothing was touched. */
static size_t fail_prepare(struct run *ru, int rc, unsigned mask, struct tp_flash_result *res)
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
		step(&ru->job[0], TP_FLASH_PHASE_PREPARE);
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
	struct run ru = { .b = b, .o = o };
	struct mod mods[TP_FLASH_MODULES] = { 0 };
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
				step(&ru.job[0], TP_FLASH_PHASE_PREPARE);
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

int tp_flash_usb(const char *usb_path, const struct tp_flash_opts *o, struct tp_flash_result *r)
{
	struct run ru = { .o = o };
	struct mod mods[TP_FLASH_MODULES] = { 0 };
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
