// SPDX-License-Identifier: MIT
/*
 * A seeding plan's items, shared by the file that makes plans (seed.c) and
 * the one that applies them (seed_apply.c); nothing outside bmc/seed/ sees
 * them (seed.h keeps the plan opaque).
 */
#ifndef TP_SEED_PLAN_H
#define TP_SEED_PLAN_H

#include "cloudinit.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* TP_SEED_STREAM: a host file too large to hold (the k3s bundle), copied in
 * chunks at apply time and checked by its SHA-256 (docs/seeding.md §9). */
enum tp_seed_kind { TP_SEED_DIR, TP_SEED_FILE, TP_SEED_LINK, TP_SEED_STREAM };

struct tp_seed_item {
	enum tp_seed_kind kind;
	char path[96];
	char *data;    /* file content, link target or TP_SEED_STREAM's host path (malloc'ed) */
	size_t len;
	mode_t mode;
	bool secret;   /* wiped when the plan is freed */
	char sha256[65];  /* TP_SEED_STREAM: what the file must hash to */
	uint64_t size;    /* TP_SEED_STREAM: its size when verified */
};

#define TP_SEED_MAX_ITEMS 48

struct tp_seed_plan {
	unsigned slot;
	char instance_id[TP_CI_INSTANCE_ID_MAX];
	unsigned helper_machine; /* the node helper's ELF e_machine: the node's arch */
	char note[512];          /* why no k3s bundle went in ("" if one did or none was due) */
	unsigned n;
	struct tp_seed_item it[TP_SEED_MAX_ITEMS];
};

#endif
