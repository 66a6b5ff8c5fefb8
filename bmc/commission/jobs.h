/* SPDX-License-Identifier: MIT */
/*
 * The commissioning pipeline's board jobs (docs/commission.md §6): a
 * flash of one or more slots with their seeds and the power-on after it,
 * one slot's power cycle, or a look at one slot's USB, on a thread of its
 * own. The job touches only
 * itself and the board; the caller reads its results once it finished
 * and keeps every record itself.
 */
#ifndef TP_COMMISSION_JOBS_H
#define TP_COMMISSION_JOBS_H

#include "bmc/flash.h"

#include <pthread.h>
#include <stdbool.h>

/* A look routes one silent slot's USB to the BMC for a moment and sees
 * whether a boot ROM is there (docs/commission.md §5); it ends with the
 * node off, as the first half of a power cycle. */
enum tp_cjob_kind { TP_CJOB_FLASH, TP_CJOB_CYCLE, TP_CJOB_LOOK };

struct tp_cjob {
	pthread_t th;
	pthread_mutex_t mu;
	bool running;          /* the caller's thread only */
	bool finished;         /* under mu */
	enum tp_cjob_kind kind;
	struct tp_board *b;
	unsigned mask;         /* the job's slots, TP_SLOT_BIT()s */
	struct tp_flash_opts fo;
	int pct, phase;        /* the last progress note written (job thread) */
	/* Once finished: per slot (index slot - 1), its flash result and its
	 * outcome, 0 or -errno with msg. */
	struct tp_flash_result fr[TP_BOARD_SLOTS];
	int rc[TP_BOARD_SLOTS];
	char msg[TP_BOARD_SLOTS][TP_ERR_MAX];
	/* A look's finding: the module whose boot ROM showed, or NULL. */
	const struct tp_flash_module *rom[TP_BOARD_SLOTS];
};

void tp_cjob_init(struct tp_cjob *j);
void tp_cjob_destroy(struct tp_cjob *j);

/* Start job kind on the slots in mask of board b (a flash with options
 * fo; fo is copied). 0, or -errno with a message. */
int tp_cjob_start(struct tp_cjob *j, struct tp_board *b, enum tp_cjob_kind kind, unsigned mask,
		  const struct tp_flash_opts *fo);

/* Has the running job finished? Then it is joined and not running any
 * more; its results stay until the next start. */
bool tp_cjob_reap(struct tp_cjob *j);

/* Wait for a running job (a cancel: the flash puts its slots back). */
void tp_cjob_wait(struct tp_cjob *j);

#endif
