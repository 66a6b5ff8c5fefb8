/* SPDX-License-Identifier: MIT */
/*
 * The eMMC → NVMe migration: the NVMe's partition layout, planned from the
 * eMMC's table (docs/node-helper.md §11; pure: the plan is an sfdisk script
 * that util-linux's sfdisk writes on the node), the pure file rewrites, and
 * the migration that runs them (§15).
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

/* ---- the migration itself (node/migrate.c; docs/node-helper.md §15) ---- */

struct tp_node_ctx;

/* The state file beside the journal: the GPT disk GUID the helper writes
 * to the NVMe and how far it got ("table", "ready", "reboot"; "" none). */
struct tp_migrate_state {
	char label_id[37];
	uint8_t label_bytes[16];  /* label_id as on disk */
	char stage[16];
	char root_uuid[37];       /* the NVMe root's file system, once made */
};

/* Read the state file (a missing one is all empty). 0 or -errno. */
int tp_migrate_state_read(struct tp_migrate_state *st);

/*
 * May the NVMe be written? 0: it is empty (no signature wipefs sees) or
 * holds the table an earlier run wrote. 1: it holds someone's data and
 * nvme=auto; why says so and nothing is written. -EEXIST with nvme=required
 * for the same; -EIO when a reboot into the NVMe was asked for and the node
 * still runs from the eMMC ("the NVMe did not boot; ...").
 */
int tp_migrate_check(struct tp_node_ctx *c, char *why, size_t size);

/*
 * Migrate the running root, root_src (its device, /dev/mmcblkNpN), to the
 * NVMe, reporting each sub-step as progress, then ask for a reboot:
 * TP_STEP_REBOOT, or -errno with a message (the command, its exit code and
 * stderr). The NVMe gets its boot configuration last.
 */
int tp_migrate_run(struct tp_node_ctx *c, const char *root_src);

/* ---- pure helpers (node/migrate_files.c) ---------------------------------- */

/* Append printf-style text to out (size bytes, *len used so far); -ENOSPC
 * "WHAT does not fit SIZE bytes" when it does not (node/migrate_plan.c). */
int tp_migrate_put(char *out, size_t size, size_t *len, const char *what, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/*
 * fstab for the NVMe's root: the line mounting "/" gets the source
 * UUID=root_uuid (its other fields kept as written), a line whose source is
 * one of seed_names (NULL-terminated; NULL: none) is commented out behind
 * "# " TP_MIGRATE_FSTAB_OFF " "; every other line is kept byte for byte.
 * 0, or -ENOSPC, -EINVAL (no line mounts "/") with a message.
 */
#define TP_MIGRATE_FSTAB_OFF "tpkit-node: the eMMC seed is blanked:"
int tp_migrate_fstab(const char *in, const char *root_uuid, const char *const *seed_names,
		     char *out, size_t size);

/* /etc/default/u-boot with U_BOOT_ROOT="root=UUID=root_uuid" (every
 * assignment replaced; one appended when none). 0 or -ENOSPC. */
int tp_migrate_uboot_default(const char *in, const char *root_uuid, char *out, size_t size);

/* A GUID's text (8-4-4-4-12, either case) as its on-disk bytes, the inverse
 * of tp_guid_format(). 0 or -EINVAL. */
int tp_guid_parse(const char *text, uint8_t g[16]);

/* The volume label of the ext4 superblock sb (the 1024 bytes at offset 1024
 * of the file system). 0, or -EINVAL when sb is not ext2/3/4's. */
int tp_ext4_label(const uint8_t sb[1024], char label[17]);

#endif
