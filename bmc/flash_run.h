/* SPDX-License-Identifier: MIT */
/*
 * Internal to flash.c and flash_bringup.c: a flash run, its jobs (one per
 * slot) and the helpers both use. flash.c drives a run phase by phase and
 * writes; flash_bringup.c finds each slot's module and brings it up to a
 * sink for its eMMC.
 */
#ifndef TP_FLASH_RUN_H
#define TP_FLASH_RUN_H

#include "flash_priv.h"
#include "board/turingpi2/flashmode.h"
#ifdef CONFIG_TPKIT_SEED
#include "flash_seed.h"
#endif

struct fl_job {
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

struct fl_mod {
	const struct tp_flash_module *m;
	void *ctx;
	struct tp_err_ctx err;           /* not ready: why */
};

struct fl_run {
	struct tp_board *b;              /* NULL: --board none */
	const struct tp_flash_opts *o;
	struct fl_mod *mods;
	size_t nmods;
	struct tp_flash_srcs *srcs;
	struct tp_flashmode fm;
	bool in_flash_mode;
	struct fl_job job[TP_BOARD_SLOTS];
	size_t n;
	size_t probing[TP_BOARD_SLOTS];  /* enumerate: probe index -> job */
};

/* The job's phase is now WHAT: into its result, and to the caller's step. */
void fl_job_step(struct fl_job *j, enum tp_flash_phase what);

/* A job is over: its message recorded (the current error), its time taken,
 * its device closed and, while the others go on, its node off. */
void fl_job_fail(struct fl_run *ru, struct fl_job *j, int rc);

/* Every live job fails with rc (the current error). */
void fl_run_fail_all(struct fl_run *ru, int rc);

/* The run's entry for module m, NULL if this tpkit has none. */
struct fl_mod *fl_run_mod(struct fl_run *ru, const struct tp_flash_module *m);

/* Plan the slot's seed for module m (NULL: the likeliest) before its node
 * is touched; 0, or -errno with a message. */
int fl_job_seed_plan(struct fl_job *j, const struct tp_flash_module *m);

/* The module the state record says slot held when last flashed, or NULL. */
const struct tp_flash_module *fl_slot_remembered(unsigned slot);

/* Before any node is touched: fail a slot that held a module whose files
 * are not ready (--module says otherwise, and wins). */
void fl_run_check_remembered(struct fl_run *ru, struct fl_job *j);

/* Enumerate every live job's port, then bring each found module up to a
 * sink for its eMMC, a step for every slot before the next for any. */
void fl_run_bring_up(struct fl_run *ru);

#endif
