/* SPDX-License-Identifier: MIT */
/*
 * The cloud-init NoCloud seed of one node as text (docs/seeding.md §5, §6):
 * meta-data, user-data and network-config for /var/lib/cloud/seed/nocloud,
 * and the cloud.cfg.d drop-in that makes that seed the only one cloud-init
 * reads. Pure functions: seed.c decides where the text goes.
 */
#ifndef TP_SEED_CLOUDINIT_H
#define TP_SEED_CLOUDINIT_H

#include <stddef.h>

/* The drop-in: after the images' 99-fake-cloud.cfg / 99-fake_cloud.cfg in
 * cloud-init's order (docs/seeding.md §5). */
#define TP_CI_DROPIN_PATH "/etc/cloud/cloud.cfg.d/99_tpkit.cfg"
extern const char tp_ci_dropin[];

/* "tpkit-" + cluster (cut to 48) + "-slotN-" + 16 hex digits, NUL: < 80. */
#define TP_CI_INSTANCE_ID_MAX 80

struct tp_ci_node {
	const char *instance_id;
	const char *hostname;
	const char *admin_user;
	const char *admin_keys; /* authorized_keys text: one key a line, # comments */
	const char *address;    /* "dhcp" or ADDRESS/PREFIX */
	const char *gateway;    /* "" for none */
	const char *dns;        /* "" or IP[,IP...] */
};

/* A fresh instance id for one seeding (OpenSSL's RNG): a new id is what
 * makes cloud-init treat the next boot as a first boot. 0 or -errno. */
int tp_ci_instance_id(const char *cluster, unsigned slot, char out[TP_CI_INSTANCE_ID_MAX]);

/* Each renders one file into *out (malloc'ed, NUL-terminated, *len bytes).
 * 0 or -errno with a message (-EILSEQ: a value that is not UTF-8). */
int tp_ci_meta_data(const struct tp_ci_node *n, char **out, size_t *len);
int tp_ci_user_data(const struct tp_ci_node *n, char **out, size_t *len);
int tp_ci_network_config(const struct tp_ci_node *n, char **out, size_t *len);

#endif
