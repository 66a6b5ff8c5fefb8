// SPDX-License-Identifier: MIT
/*
 * The bring-up of a flash run (flash_run.h): which module each slot holds
 * (its boot ROM on the bus, every slot's port polled at once), checks that
 * need the module (its files, the image's family), and the module's steps
 * up to a sink for its eMMC — start, the module's mid steps, finish — each
 * for every slot before the next for any, so that the slots' loaders and
 * USB disks come up side by side, each slot's waits overlapping the
 * others' work. On the caller's thread, one slot after another: on the
 * board twin the steps stay deterministic.
 */
#include "flash_run.h"
#include "common/family.h"
#include "common/log.h"
#include "common/state.h"
#include "usbdisk.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* The state record of the module a slot held when last seen. */
static void record_name(unsigned slot, char *name, size_t size)
{
	snprintf(name, size, "slot%u.module", slot);
}

/* A slot whose module was seen: remembered for the next run, so that its
 * files can be checked before its node is touched. Only a convenience:
 * a record that cannot be written costs nothing but that check. */
static void remember(const struct fl_job *j)
{
	char name[32], text[16];

	if (!j->slot)
		return;
	record_name(j->slot, name, sizeof(name));
	snprintf(text, sizeof(text), "%s\n", j->m->name);
	if (tp_state_save(name, text) < 0)
		TP_INFO("slot %u: %s", j->slot, tp_err_msg());
}

/* The module the state record says slot held, NULL if none (or unknown). */
const struct tp_flash_module *fl_slot_remembered(unsigned slot)
{
	char name[32], text[16];

	record_name(slot, name, sizeof(name));
	if (tp_state_load(name, text, sizeof(text)) <= 0)
		return NULL;
	text[strcspn(text, "\n")] = '\0';
	return tp_flash_module_find(text);
}

/*
 * Before any node is touched: a slot that held a module whose files are
 * not ready fails now, not after its node was powered up and its boot ROM
 * seen (--module says what the slots hold instead, and wins).
 */
void fl_run_check_remembered(struct fl_run *ru, struct fl_job *j)
{
	const struct tp_flash_module *m;
	struct fl_mod *md;
	char name[32], dir[256];

	if (!ru->b || !j->slot || ru->o->module)
		return;
	m = fl_slot_remembered(j->slot);
	md = m ? fl_run_mod(ru, m) : NULL;
	if (!md || !md->err.rc)
		return;
	if (tp_state_dir(dir, sizeof(dir)) < 0)
		snprintf(dir, sizeof(dir), "the state directory");
	record_name(j->slot, name, sizeof(name));
	tp_err_set(md->err.rc, "this slot held %s when tpkit last flashed it (%s/%s), and %s: %s. Put "
		   "them in place, or pass --module NAME if the slot now holds another module",
		   m->a_title, dir, name, "that module's files are not ready", md->err.msg);
	fl_job_fail(ru, j, md->err.rc);
}

/* --image names a file for the other module? Told from the image's own
 * head, decoded ahead, before the module is brought up and long before
 * anything is written (commissioning.md §3.4). An image of unknown layout
 * goes through. */
static int check_family(struct fl_job *j)
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
	struct fl_run *ru = cookie;
	struct fl_job *j = &ru->job[ru->probing[i]];
	int rc;

	if (ru->in_flash_mode && (rc = tp_flashmode_release_strap(&ru->fm, j->slot)) < 0)
		j->strap_rc = rc;
}

/* Enumerate: every live job's port at once. */
static void enumerate(struct fl_run *ru)
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
		fl_job_step(&ru->job[i], TP_FLASH_PHASE_ENUMERATE);
		ru->probing[n] = i;
		paths[n++] = ru->job[i].path;
	}
	if (!n)
		return;
	rc = tp_flash_probe(paths, n, ru->o->enum_timeout_ms, which, on_found, ru);
	if (rc < 0 && rc != -ETIMEDOUT) {
		fl_run_fail_all(ru, rc);
		return;
	}
	for (size_t k = 0; k < n; k++) {
		struct fl_job *j = &ru->job[ru->probing[k]];

		j->m = which[k];
		if (!j->m) {
			tp_err_set(-ETIMEDOUT, "no %s appeared at USB path %s within %u ms", looked,
				   j->path ? j->path : "(any)", ru->o->enum_timeout_ms);
			j->r->empty = true; /* or a module that never answers: the same to us */
			fl_job_fail(ru, j, -ETIMEDOUT);
			continue;
		}
		snprintf(j->r->module, sizeof(j->r->module), "%s", j->m->name);
		remember(j);
		if (j->o->module && j->m != j->o->module) {
			tp_err_set(-EMEDIUMTYPE, "this slot holds %s (%s), not %s as --module "
				   "says; nothing was written", j->m->a_title, j->m->usb_id,
				   j->o->module->a_title);
			fl_job_fail(ru, j, -EMEDIUMTYPE);
			continue;
		}
		if (j->strap_rc < 0) {
			tp_err_set(j->strap_rc, "releasing the strap: %s", tp_err_msg());
			fl_job_fail(ru, j, j->strap_rc);
		}
	}
}

static void module_step(void *cookie, enum tp_flash_phase what)
{
	fl_job_step(cookie, what);
}

/* The first step of bring-up: what the job's module needs of the host first.
 * The slot's boot ROM is on the bus. */
static void bring_up_start(struct fl_run *ru, struct fl_job *j)
{
	struct fl_mod *md = fl_run_mod(ru, j->m);
	int rc;

	if (!md || md->err.rc) {
		tp_err_set(-ENODEV, "this slot holds %s (%s), but it cannot be flashed: %s",
			   j->m->a_title, j->m->usb_id,
			   md ? md->err.msg : "this tpkit was built without support for it");
		return fl_job_fail(ru, j, -ENODEV);
	}
	if ((rc = fl_job_seed_plan(j, j->m)) < 0) {
		fl_job_step(j, TP_FLASH_PHASE_SEED);
		return fl_job_fail(ru, j, rc);
	}
	if (j->o->seed_only || j->o->msd)
		goto start;
	j->src = tp_flash_src_for(ru->srcs, j->m);
	if (!j->src) {
		tp_err_set(-ENOENT, "--image %s has no image for %s", j->o->image, j->m->a_title);
		return fl_job_fail(ru, j, -ENOENT);
	}
	snprintf(j->r->image, sizeof(j->r->image), "%s",
		 j->src->pick.name[0]         ? j->src->pick.name :
		 !strcmp(j->o->image, "-") ? "stdin" :
						 j->o->image);
	if ((rc = tp_flash_src_open(j->src)) < 0 || (rc = check_family(j)) < 0) {
		j->r->phase = TP_FLASH_PHASE_IMAGE;
		return fl_job_fail(ru, j, rc);
	}
start:
	rc = j->m->start(md->ctx, j->o, j->r, j->path, module_step, j, &j->mstate);
	if (rc < 0)
		return fl_job_fail(ru, j, rc);
	j->started = true;
}

/* The module's step K between start and finish (tp_flash_module.mid). */
static void bring_up_mid(struct fl_run *ru, struct fl_job *j, size_t k)
{
	struct fl_mod *md = fl_run_mod(ru, j->m);
	int rc = j->m->mid[k](md->ctx, j->o, j->r, &j->mstate);

	if (rc < 0) {
		j->started = false; /* the step freed the state */
		fl_job_fail(ru, j, rc);
	}
}

/* msd's last step: the module's eMMC a disk of the BMC's kernel. */
static void bring_up_disk(struct fl_run *ru, struct fl_job *j)
{
	struct fl_mod *md = fl_run_mod(ru, j->m);
	struct tp_usbdisk disk;
	int rc;

	j->started = false; /* disk frees the state, whatever happens */
	rc = j->m->disk(md->ctx, j->o, j->r, j->mstate, module_step, j, &disk);
	j->mstate = NULL;
	if (rc < 0)
		return fl_job_fail(ru, j, rc);
	j->r->capacity = disk.size;
	snprintf(j->r->disk, sizeof(j->r->disk), "%s", disk.dev);
}

/* The last step: the module back on the bus, a sink for its eMMC. */
static void bring_up_finish(struct fl_run *ru, struct fl_job *j)
{
	struct fl_mod *md = fl_run_mod(ru, j->m);
	uint64_t need;
	int rc;

	if (j->o->msd)
		return bring_up_disk(ru, j);
	j->started = false; /* finish frees the state, whatever happens */
	rc = j->m->finish(md->ctx, j->o, j->r, j->mstate, module_step, j, &j->sink);
	j->mstate = NULL;
	if (rc < 0)
		return fl_job_fail(ru, j, rc);
	j->r->capacity = j->sink->size;
	need = j->src ? tp_image_raw_size(j->src->img) : 0;
	if (need && j->sink->size && need > j->sink->size) {
		/* The error belongs to the write, not to the step before it;
		 * no step event, as nothing is written. */
		j->r->phase = TP_FLASH_PHASE_WRITE;
		tp_err_set(-EFBIG, "the image is %" PRIu64 " bytes but the eMMC holds only %" PRIu64
			   "; nothing was written", need, j->sink->size);
		return fl_job_fail(ru, j, -EFBIG);
	}
}

void fl_run_bring_up(struct fl_run *ru)
{
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
			struct fl_job *j = &ru->job[i];

			if (j->live && j->started && k < j->m->nmid) {
				bring_up_mid(ru, j, k);
				more = 1;
			}
		}
	}
	for (size_t i = 0; i < ru->n; i++)
		if (ru->job[i].live && ru->job[i].started)
			bring_up_finish(ru, &ru->job[i]);
}
