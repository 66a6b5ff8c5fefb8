/* SPDX-License-Identifier: MIT */
/*
 * Shared by flash mode (flashmode.c) and its recovery record (flashrec.c),
 * nothing else.
 */
#ifndef TP_FLASHMODE_PRIV_H
#define TP_FLASHMODE_PRIV_H

#include "flashmode.h"

#include <stdbool.h>
#include <stddef.h>

/* "slot 2", "slots 1-2,4": for messages. */
const char *tp_fm_slots_name(unsigned mask, char *buf, size_t size);

/* A regulator's state file: 1 enabled, 0 disabled, -1 unreadable. */
int tp_fm_regulator_state(const char *path);

/* Claim the lines of fm's slots and of plan (flashmode.c says how the
 * hub's upstream is shared). */
int tp_fm_claim(struct tp_flashmode *fm, const struct tp_usb_plan *plan, bool share_hub,
		int *hub_before);

/* The value of slot's line nodeN-fn among those claimed, -1 if not. */
int tp_fm_slot_line(struct tp_flashmode *fm, unsigned slot, const char *fn);

/* Write the record of the board before fm changes it (a warning, not an
 * error, when it cannot be written). */
void tp_fm_record_save(struct tp_flashmode *fm);

#endif
