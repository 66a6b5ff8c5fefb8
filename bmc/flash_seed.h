/* SPDX-License-Identifier: MIT */
/* The seeding step of a flash run and of `tpkit seed` (flash_seed.c). */
#ifndef TP_FLASH_SEED_H
#define TP_FLASH_SEED_H

#include <stdbool.h>

#include "common/sink.h"
#include "seed/seed.h"

/* One slot's seeding: planned on the main thread, applied on its own. */
struct tp_flash_seed {
	struct tp_seed_plan *plan;   /* NULL: not planned */
	unsigned slot;
	char module[8];              /* what it was planned for */
	const char *node_helper;     /* --node-helper FILE, NULL: the installed one */
	bool wipe_nvme;              /* node.conf's wipe_nvme=yes */
	bool noted;                  /* the no-k3s-bundle note was given */
	struct tp_seed_result res;
	bool boot_blank;             /* seed: the boot block was left blank */
};

/* Plan slot's seed for module ("rk1", "cm4"): the config read and checked,
 * the slot's secrets made if new, every file rendered. Again for another
 * module replaces the plan. 0 or -errno with a message. */
int tp_flash_seed_plan(struct tp_flash_seed *fs, unsigned slot, const char *module);

/* The pipeline's before_head step (struct tp_image_target); cookie is the
 * struct tp_flash_seed. */
int tp_flash_seed_before_head(void *cookie, struct tp_sink *s, const void *head, size_t len);

/* Seed the image already on s: the boot block blanked first and put back
 * last (flash_seed.c says why). On failure fs->boot_blank says whether the
 * node was left without one. 0 or -errno with a message. */
int tp_flash_seed_existing(struct tp_flash_seed *fs, struct tp_sink *s);

/* Keep the seeded root's UUID in the state record slotN.root_uuid. */
void tp_flash_seed_record(const struct tp_flash_seed *fs, unsigned slot);

void tp_flash_seed_free(struct tp_flash_seed *fs);

#endif
