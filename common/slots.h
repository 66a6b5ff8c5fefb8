/* SPDX-License-Identifier: MIT */
/* Slot lists as users write them: "2", "1-4", "1,3", "1-2,4". */
#ifndef TP_SLOTS_H
#define TP_SLOTS_H

#include <stddef.h>

#define TP_SLOTS_MAX 4
#define TP_SLOTS_ALL ((1u << TP_SLOTS_MAX) - 1)
#define TP_SLOT_BIT(n) (1u << ((n)-1))

/*
 * Parse a list into a bit mask (bit 0 = slot 1). Slots run 1..nslots.
 * Returns 0 or -EINVAL with a message that quotes the bad part.
 */
int tp_slots_parse(const char *list, unsigned nslots, unsigned *mask);

/* Format a mask as a list ("1-2,4"); returns buf. */
char *tp_slots_format(unsigned mask, char *buf, size_t size);

/* Number of slots in a mask. */
unsigned tp_slots_count(unsigned mask);

#endif
