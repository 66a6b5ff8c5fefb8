/* SPDX-License-Identifier: MIT */
/*
 * The node's own files that seeding writes besides the cloud-init seed
 * (docs/seeding.md §6): /etc/tpkit/node.conf, the k3s configuration and
 * the node helper's systemd unit. Pure text.
 */
#ifndef TP_SEED_NODE_FILES_H
#define TP_SEED_NODE_FILES_H

#include <stdbool.h>
#include <stddef.h>

struct tp_node_facts {
	unsigned slot;
	const char *module;      /* "rk1", "cm4" */
	const char *role;        /* "server", "agent", "none" */
	const char *hostname;
	const char *node_ip;     /* "" unless the address is static */
	const char *server_url;  /* agents, joining servers: the API, https://HOST:6443 */
	bool has_agents;         /* server: keep workloads off it */
	/* A server's part in the cluster (docs/commission.md §14): "single" (the
	 * one server, SQLite), "init" (starts the etcd cluster: cluster-init),
	 * "join" (joins through server_url). NULL: "single". */
	const char *cluster;
	const char *api_address; /* cluster/api_address: a name in every server's tls-san */
	const char *token;       /* the cluster token (secret) */
	const char *report_key;  /* 64 hex digits (secret) */
	const char *instance_id;
	const char *nvme;        /* slot/N/nvme: auto, never, required (NULL: auto) */
	bool wipe_nvme;          /* wipe_nvme=yes (docs/commission.md §11) */
	const char *k3s_version; /* k3s/version; not written for role none */
	const char *k3s_bundle;  /* where seeding put the k3s bundle, NULL if it did not */
	const char *argocd_repo; /* server only, and only when not empty */
	const char *argocd_path;
	const char *argocd_revision;
};

/* Each renders into *out (malloc'ed, NUL-terminated, *len bytes); 0 or
 * -errno with a message. Secrets in the text are wiped on failure. */
int tp_node_conf(const struct tp_node_facts *f, char **out, size_t *len);
int tp_node_k3s_config(const struct tp_node_facts *f, char **out, size_t *len);

/* A value of node.conf's text (the node helper reads it so): 0 with buf
 * filled, -ENOENT if the key is missing, -ENOSPC if buf is too small. */
int tp_node_conf_value(const char *text, const char *key, char *buf, size_t size);

#define TP_NODE_UNIT_NAME "tpkit-node.service"
extern const char tp_node_unit[];
/* The guard (docs/node-helper.md §16): enabled for sysinit.target, never
 * disabled, so a node's NVMe copy carries it too. */
#define TP_NODE_GUARD_UNIT_NAME "tpkit-node-guard.service"
extern const char tp_node_guard_unit[];

#endif
