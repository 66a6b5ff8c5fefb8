/* SPDX-License-Identifier: MIT */
/*
 * The commissioning pipeline (docs/commission.md §6): the slots of a plan
 * taken through flash + seed → power on → follow the console until the
 * node helper reports `helper done`, the USB path used by one slot at a
 * time while the others' consoles are followed, each state's timeout
 * answered by the retries of states.def, every change saved to the
 * slot's record at once.
 */
#ifndef TP_COMMISSION_RUN_H
#define TP_COMMISSION_RUN_H

#include "bmc/flash.h"
#include "monitor.h"
#include "plan.h"

struct tp_crun_opts {
	/* Module options (--loader, ...) and the node helper; the runner
	 * sets image, seed, progress and step per slot. */
	struct tp_flash_opts flash;
	tp_cevent_fn event;
	void *cookie;
	/* Called every round (about 5 times a second) on the caller's
	 * thread, with cookie: for a live table (docs/commission.md §12). */
	void (*tick)(void *cookie);
};

struct tp_crun_result {
	unsigned slot;
	struct tp_cslot rec;   /* the record at the end */
};

/*
 * Run the plan's n slots on board b. res[] gets each slot's final record,
 * in plan order. Returns how many slots ended FAILED (0: all done or left
 * alone), or -errno with a message (the records could not be saved, a
 * cancel: -ECANCELED).
 */
int tp_crun(struct tp_board *b, const struct tp_cplan_slot *plan, size_t n,
	    const struct tp_crun_opts *o, struct tp_crun_result *res);

#endif
