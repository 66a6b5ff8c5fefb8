/* SPDX-License-Identifier: MIT */
/*
 * The NVMe's partition layout for the eMMC → NVMe migration, planned from
 * the eMMC's table (docs/node-helper.md §11). Pure: no disk is read or
 * written here; the plan is an sfdisk script that util-linux's sfdisk
 * writes on the node.
 */
#ifndef TP_NODE_MIGRATE_H
#define TP_NODE_MIGRATE_H

#include <stddef.h>
#include <stdint.h>

#include "common/parttable.h"

#define TP_MIGRATE_MAX_PARTS 4

/* Fills out with 16 random bytes; ctx is the caller's. A test passes a
 * fixed sequence, the node reads getrandom(). */
typedef void (*tp_migrate_rand_fn)(void *ctx, uint8_t out[16]);

/*
 * The sfdisk script (label, label-id, unit, first-lba, one line per
 * partition) for an NVMe of nvme_bytes with logical sectors of sector
 * bytes (512 or 4096), from emmc (a GPT parsed by tp_parttable_parse, its
 * sectors 512 bytes), into out[0..size). Fresh GUIDs come from rnd.
 * root_part is the number of the partition the running root is on (the
 * node reads it from /proc/self/mountinfo), which is what the helper
 * migrates whatever its type says; 0 finds it by type or name instead.
 * 0, or -EINVAL (bad table, sector size, name), -ENOSPC (NVMe too small,
 * out too small) with a message naming the sizes.
 */
int tp_migrate_plan(const struct tp_parttable *emmc, unsigned root_part, uint64_t nvme_bytes,
		    unsigned sector, tp_migrate_rand_fn rnd, void *ctx, char *out, size_t size);

#endif
