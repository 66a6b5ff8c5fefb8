/* SPDX-License-Identifier: MIT */
/*
 * The live table of commissioning (docs/commission.md §12), for tpkit
 * status --watch and tpkit commission on a terminal: one line per slot
 * (slot, module, state, phase, age) redrawn in place with ANSI codes on a
 * terminal; elsewhere a plain line (or a JSON object) per change. It reads
 * the records and notes (bmc/commission/live.h), never the lock.
 */
#ifndef TP_STATUS_WATCH_H
#define TP_STATUS_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/slots.h"

struct tp_watch {
	FILE *f;
	unsigned mask;
	bool tty, json;
	unsigned drawn;                      /* lines on the terminal now */
	char last[TP_SLOTS_MAX + 1][480];    /* each slot's line as last shown, no age */
};

void tp_watch_init(struct tp_watch *w, FILE *f, unsigned mask, bool tty, bool json);

/* Read every slot's row and show what changed. *ended: at least one slot
 * has a record, and every slot that has one is done or failed. 0 or
 * -errno with a message. */
int tp_watch_update(struct tp_watch *w, bool *ended);

/* Erase the table from the terminal (before other output), so the next
 * update draws it whole below that output. */
void tp_watch_erase(struct tp_watch *w);

/* "42s", "5m", "3h", "2d": how long ago t (Unix seconds) was; "-" for 0. */
void tp_watch_age(uint64_t t, char *buf, size_t size);

#endif
