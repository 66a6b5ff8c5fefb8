/* SPDX-License-Identifier: MIT */
/*
 * Slot power (hardware.md §4, §5): slot power through the regulator state
 * files, node enable through nodeN-en, spaced as bmcd spaces them.
 */
#ifndef TP_POWER_H
#define TP_POWER_H

#include "board.h"

enum tp_power_op { TP_POWER_OFF, TP_POWER_ON, TP_POWER_RESET };

struct tp_slot_power {
	int regulator;    /* 1 enabled, 0 disabled, -errno unreadable */
	int en;           /* nodeN-en logical value, or -1 if unknown */
	char holder[64];  /* who holds nodeN-en when it could not be read */
};

/* "on", "off", or "partial" (regulator and enable disagree), "unknown". */
const char *tp_power_word(const struct tp_slot_power *p);

struct tp_power_result {
	int rc;               /* 0 or -errno for this slot */
	char msg[512];
	bool changed;         /* anything was written */
	struct tp_slot_power after;
};

/* Read every slot in mask; lines held elsewhere read as unknown. */
int tp_power_status(struct tp_board *b, unsigned mask, struct tp_slot_power st[TP_BOARD_SLOTS]);

/*
 * Run op on each slot of mask, node 1 to node 4. A slot that fails is put
 * back into a safe state (off) and reported with the state every line is
 * left in; the other slots go on. Returns 0 if all slots succeeded, else the
 * first slot's error (with its message current).
 */
int tp_power_apply(struct tp_board *b, unsigned mask, enum tp_power_op op, unsigned stagger_ms,
		   struct tp_power_result res[TP_BOARD_SLOTS]);

struct tp_lines;

/* For callers that hold the lines themselves for longer (flash mode):
 * one slot's state, and one slot's on/off sequence with the same safe-state
 * and reporting rules as tp_power_apply(). nodeN-en must be in ls. */
void tp_power_slot_read(struct tp_lines *ls, unsigned slot, struct tp_slot_power *p);
int tp_power_slot_set(struct tp_lines *ls, unsigned slot, bool on, struct tp_power_result *r);

#endif
