/* SPDX-License-Identifier: MIT */
/*
 * The cluster configuration (docs/config.md): a tree of flat files, one value
 * per file, under /etc/tpkit (CONFIG_TPKIT_CONFIG_DIR under TPKIT_ROOT, or
 * TPKIT_CONFIG_DIR as given). A key "slot/2/hostname" is the file
 * <dir>/slot/2/hostname. A key with no file has its default, so an empty
 * tree is a working cluster: slot 1 the k3s server, the others agents,
 * hostnames from the cluster name, the admin's keys from the BMC root's
 * authorized_keys.
 *
 * Every key is defined once, in the table of config_keys.c (name, type,
 * default, doc); `tpkit config --help` prints it and a test checks
 * docs/config.md against it. The node reads its node.conf with the same
 * reader (tp_config_read_value).
 */
#ifndef TP_CONFIG_H
#define TP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "slots.h"

#ifndef CONFIG_TPKIT_CONFIG_DIR
#define CONFIG_TPKIT_CONFIG_DIR "/etc/tpkit"
#endif

/* The BMC root's authorized_keys, default of admin/keys (under TPKIT_ROOT). */
#define TP_CONFIG_ROOT_KEYS "/root/.ssh/authorized_keys"

#define TP_CONFIG_KEY_MAX 64        /* "net/slot/4/address" */
#define TP_CONFIG_VALUE_MAX 4096    /* one-line values */
#define TP_CONFIG_TEXT_MAX 65536    /* multi-line values (admin/keys) */

/* What a value may be; each type has one validator (config_check.c). */
enum tp_config_type {
	TP_CT_LABEL,       /* RFC 1123 label: hostnames, the cluster name */
	TP_CT_ROLE,        /* server | agent | none */
	TP_CT_IMAGE,       /* auto | catalogue name | /absolute/file | http(s) URL */
	TP_CT_NVME,        /* auto | never | required */
	TP_CT_USER,        /* a Linux user name, not a system one */
	TP_CT_SSH_KEYS,    /* authorized_keys lines (multi-line) */
	TP_CT_K3S_VERSION, /* vX.Y.Z+k3sN (optionally -rcN before +) */
	TP_CT_GIT_URL,     /* empty, http(s)://, ssh://, git:// or user@host:path */
	TP_CT_GIT_REV,     /* a branch, tag, HEAD or commit */
	TP_CT_REL_PATH,    /* a path inside a repository: "." or a/b */
	TP_CT_ADDRESS,     /* dhcp | IPv4 or IPv6 CIDR */
	TP_CT_IP_OPT,      /* empty | IPv4 or IPv6 address */
	TP_CT_IP_LIST,     /* empty | IP[,IP...] */
	TP_CT_HOST,        /* empty | an IP address or a DNS name (the API address) */
	TP_CT_INIT_SLOT,   /* auto | 1-4 (the server that starts with cluster-init) */
	TP_CT_COUNT
};

struct tp_config;

/* One row of the key table. Per-slot keys have "%u" where the slot goes. */
struct tp_config_key {
	const char *name;      /* "cluster/name", "slot/%u/hostname" */
	enum tp_config_type type;
	bool per_slot;
	const char *def;       /* the default as users read it (docs, --help) */
	/* Computes the default for one key (slot 0 for cluster-wide keys) into
	 * buf; NULL means def is the value. 0 or -errno. */
	int (*def_fn)(const struct tp_config *c, unsigned slot, char *buf, size_t size);
	const char *doc;
	const char *example;   /* a valid value, used by docs and tests */
};

struct tp_config_type_info {
	const char *name;      /* "hostname", "role", ... as docs/config.md says */
	const char *doc;
};

/* The key table and the type table (config_keys.c). */
extern const struct tp_config_key tp_config_keys[];
extern const size_t tp_config_nkeys;
extern const struct tp_config_type_info tp_config_types[TP_CT_COUNT];

/* A key instance: a table row and, for per-slot rows, the slot (1..4). */
struct tp_config_item {
	const struct tp_config_key *key;
	unsigned slot;
	char name[TP_CONFIG_KEY_MAX];   /* "slot/2/hostname" */
	char *value;                    /* what the file says; NULL: no file */
	char *file;                     /* where it lives (malloc'ed) */
};

#define TP_CONFIG_MAX_ITEMS 64

struct tp_config {
	char dir[4096];
	size_t n;
	struct tp_config_item item[TP_CONFIG_MAX_ITEMS];
};

/*
 * Prepare c for dir (NULL: TPKIT_CONFIG_DIR, else <root>CONFIG_TPKIT_CONFIG_DIR).
 * Nothing is read yet. 0 or -errno.
 */
int tp_config_init(struct tp_config *c, const char *dir);

/*
 * Read every key's file and validate it, and refuse files in the tree that
 * are no key (a typo would otherwise be silently ignored). 0, or -EINVAL /
 * -errno with a message naming the key and the file.
 */
int tp_config_load(struct tp_config *c);

/* Read and validate only the named item's file (get/set/unset of one key
 * still work in a tree that holds a stray file). */
int tp_config_load_item(struct tp_config *c, struct tp_config_item *it);

void tp_config_free(struct tp_config *c);

/* The item called name ("slot/2/role"), or NULL with a message. */
struct tp_config_item *tp_config_find(struct tp_config *c, const char *name);

/* An item by table row and slot (0 for cluster-wide keys). */
struct tp_config_item *tp_config_item_of(const struct tp_config *c, const char *key_name,
					 unsigned slot);

/*
 * The effective value of an item: the file's, or its default. is_default
 * (may be NULL) tells which. Returns 0 or -errno.
 */
int tp_config_value(const struct tp_config *c, const struct tp_config_item *it, char *buf,
		    size_t size, bool *is_default);

/* The same by name, for code that needs one value ("k3s/version"). */
int tp_config_get(const struct tp_config *c, const char *name, char *buf, size_t size);

/* Validate value for it (message names the key and, if given, file). */
int tp_config_validate(const struct tp_config_item *it, const char *value, const char *file);

/* Validate and write atomically (mode 0644, parents created). */
int tp_config_set(struct tp_config *c, struct tp_config_item *it, const char *value);

/* Remove the item's file, so its default applies again. */
int tp_config_unset(struct tp_config *c, struct tp_config_item *it);

/*
 * Checks across keys (a gateway with DHCP, two slots with one hostname, an
 * agent with no server, ...). Needs tp_config_load(). 0 or -EINVAL.
 */
int tp_config_check(const struct tp_config *c);

/*
 * The k3s servers and the address everyone else dials (config_ha.c,
 * docs/commission.md §14). Needs tp_config_load().
 */
#define TP_CONFIG_HOST_MAX 256
struct tp_config_ha {
	unsigned nservers;                 /* slots whose role is server */
	unsigned server[TP_SLOTS_MAX];     /* their slots, in slot order */
	unsigned init;                     /* the server that starts the cluster */
	bool cluster_init;                 /* several servers: init runs cluster-init */
	char api_address[TP_CONFIG_HOST_MAX]; /* cluster/api_address, "" when unset */
	char api_host[TP_CONFIG_HOST_MAX]; /* what agents and joining servers dial */
	char api_url[TP_CONFIG_HOST_MAX + 16]; /* https://HOST:6443 ("" without a server) */
};

/* Fill ha from the configuration. 0 or -errno. */
int tp_config_ha(const struct tp_config *c, struct tp_config_ha *ha);

/* The HA rules that are errors (part of tp_config_check). 0 or -EINVAL. */
int tp_config_ha_check(const struct tp_config *c);

/* What is allowed but unwise (two servers, ...): one line each, '\n'-ended,
 * into buf; returns how many. -errno if the configuration cannot be read. */
int tp_config_warnings(const struct tp_config *c, char *buf, size_t size);

/*
 * Read one value file: at most max-1 bytes, trailing white space removed.
 * *out is malloc'ed. 0, -ENOENT (no file; no message), -EFBIG, -errno.
 */
int tp_config_read_value(const char *file, size_t max, char **out);

/* Key lines in an authorized_keys text (not blank, not a comment). */
unsigned tp_config_count_keys(const char *text);

/* Validators (config_check.c), exposed for unit tests and for the node:
 * 0 when valid, else -EINVAL with the reason in why. */
int tp_config_check_type(enum tp_config_type t, const char *value, char *why, size_t size);
int tp_config_check_cidr(const char *s, int *family, char *why, size_t size);
int tp_config_check_ip(const char *s, int *family, char *why, size_t size);
int tp_config_check_ssh_key_line(const char *line, char *why, size_t size);

#endif
