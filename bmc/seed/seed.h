/* SPDX-License-Identifier: MIT */
/*
 * Seeding a flashed image (docs/seeding.md §4-§6): what goes where. A plan
 * is made on the main thread from the cluster configuration and the slot's
 * secrets, every file rendered into memory; applying it writes the files
 * into the image's ext4 root through the sink that flashed it, then reads
 * them back.
 */
#ifndef TP_SEED_H
#define TP_SEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/sink.h"

struct tp_seed_req {
	unsigned slot;            /* 1..4 */
	const char *module;       /* "rk1" or "cm4" */
	const char *config_dir;   /* NULL: TPKIT_CONFIG_DIR or the Kconfig default */
	const char *state_dir;    /* NULL: tp_state_dir() */
	/* The node helper installed as /usr/local/sbin/tpkit-node (an ELF
	 * executable for the node): NULL for TP_SEED_HELPER_DEFAULT under the
	 * root prefix; else the file given with --node-helper. */
	const char *node_helper;
	/* node.conf's wipe_nvme=yes: an old NVMe system's guard wipes the NVMe
	 * (docs/commission.md §11). Refused for a CM4, which has no NVMe. */
	bool wipe_nvme;
};

/* Where `make install` puts the helper built for RK1 and CM4 (both aarch64). */
#define TP_SEED_HELPER_DEFAULT CONFIG_TPKIT_DATADIR "/node/tpkit-node-aarch64"

struct tp_seed_result {
	char root_uuid[37];       /* the seeded ext4 root's UUID */
	char instance_id[80];
	unsigned files;           /* files written */
	uint64_t bytes_written;   /* bytes the seeding wrote to the sink */
};

struct tp_seed_plan;

/* Main thread, before any sink is touched: load and check the config, ensure this slot's
 * secrets exist (tp_secrets_ensure), render every file into memory. 0 or -errno + tp_err. */
int tp_seed_plan_make(const struct tp_seed_req *req, struct tp_seed_plan **out);

/* Any thread (one call per sink; plans for different slots may run concurrently on different
 * sinks): find the root partition in head (the image's first bytes, holding the partition
 * table: GPT or MBR; for GPT the entries are within head), open the ext4 root via seedfs on s,
 * write every file, close (flushing), then read the seeded blocks back and compare
 * (a fresh open + read of every file is fine), fill res. 0 or -errno + tp_err. */
int tp_seed_apply(const struct tp_seed_plan *p, struct tp_sink *s, const void *head,
		  size_t head_len, struct tp_seed_result *res);

/* The ext4 root tp_seed_apply() would seed, read through s without writing
 * anything: its byte range and, for messages, which partition and why
 * ("p2 (ext4 labelled writable) of the image's MBR"). 0 or -errno with a
 * message naming the partition table as read. */
int tp_seed_find_root(struct tp_sink *s, const void *head, size_t head_len, uint64_t *base,
		      uint64_t *size, char *where, size_t where_size);

/* Why the plan puts no k3s bundle into a k3s node's image (nothing cached
 * for its version and arch, ...): the node will download k3s and needs
 * internet. NULL when a bundle goes in, or the slot is no k3s node. */
const char *tp_seed_plan_note(const struct tp_seed_plan *p);

void tp_seed_plan_free(struct tp_seed_plan *p);

#endif
