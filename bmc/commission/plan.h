/* SPDX-License-Identifier: MIT */
/*
 * What `tpkit commission` would do with each slot, and why
 * (docs/commission.md §4): from the configuration and the slot's record,
 * touching nothing. The runner follows the same plan, so --plan and a run
 * never disagree.
 */
#ifndef TP_COMMISSION_PLAN_H
#define TP_COMMISSION_PLAN_H

#include <stdbool.h>

#include "common/config.h"
#include "common/slots.h"
#include "state.h"

enum tp_cplan_action {
	TP_CPLAN_SKIP,   /* role none, or a damaged record: not touched */
	TP_CPLAN_LEAVE,  /* already done: left alone */
	TP_CPLAN_FLASH,  /* flash, seed, power on, follow */
	TP_CPLAN_BOOT,   /* flashed before: power on, follow */
	TP_CPLAN_FOLLOW, /* was running: follow its console again */
};

struct tp_cplan_opts {
	bool reflash;    /* flash even a slot that is done or running */
	bool wipe_nvme;  /* flash, seeding wipe_nvme=yes: the old NVMe system's
			  * guard wipes the NVMe (docs/commission.md §11) */
	bool unattended; /* a boot-time run: a failed slot waits for a person
			  * (docs/commission.md §12) */
};

struct tp_cplan_slot {
	unsigned slot;
	enum tp_cplan_action action;
	bool wipe_nvme;           /* its flash seeds wipe_nvme=yes */
	struct tp_cslot rec;      /* the record as loaded (NEW if none) */
	int rec_rc;               /* 0, -ENOENT (none), -EBADMSG (damaged) */
	char rec_err[160];        /* the damage, for -EBADMSG */
	char role[8], hostname[64], image[256], nvme[12];
	char migrate[192];        /* what happens about the NVMe */
	char why[256];            /* why this action */
};

/* The action's word in --json and text: "skip", "leave", ... */
const char *tp_cplan_action_name(enum tp_cplan_action a);

/*
 * Plan the slots in mask (TP_SLOT_BIT()s) from cfg (loaded and checked)
 * and their records; out[] gets one entry per slot, in slot order.
 * Returns how many, or -errno with a message (an unreadable record;
 * -EINVAL for --wipe-nvme on a slot whose last flash found a CM4).
 */
int tp_cplan_make(const struct tp_config *cfg, unsigned mask, const struct tp_cplan_opts *o,
		  struct tp_cplan_slot *out);

#endif
