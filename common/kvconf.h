/* SPDX-License-Identifier: MIT */
/*
 * key=value files: the node's /etc/tpkit/node.conf (docs/seeding.md,
 * docs/node-helper.md §3). The BMC's configuration is a tree of one-value
 * files (config.h); node.conf is a single file that seeding writes whole, so
 * it gets this small reader instead: one "key=value" a line, '#' comments
 * and blank lines skipped, no quoting, no continuation.
 */
#ifndef TP_KVCONF_H
#define TP_KVCONF_H

#include <stddef.h>

#define TP_KVCONF_MAX_KEYS 32
#define TP_KVCONF_MAX_BYTES 16384   /* node.conf is a few hundred bytes */

struct tp_kv {
	char *key;
	char *value;
	unsigned line;
};

struct tp_kvconf {
	char *text;             /* the file, split in place */
	size_t len;             /* its size, to wipe it */
	size_t n;
	struct tp_kv kv[TP_KVCONF_MAX_KEYS];
};

/*
 * Parse text (NUL-terminated) into c; name is used in messages. Keys are
 * [a-z0-9_]+; a line without '=', a bad key, a carriage return or a key
 * given twice is -EINVAL with a message naming name and the line. c->text
 * is a malloc'ed copy; call tp_kvconf_free().
 */
int tp_kvconf_parse(struct tp_kvconf *c, const char *text, const char *name);

/* Read file (at most TP_KVCONF_MAX_BYTES) and parse it. 0, -ENOENT, -EFBIG,
 * -EINVAL or -errno, with a message naming file. */
int tp_kvconf_read(struct tp_kvconf *c, const char *file);

/* The value of key, or NULL when the file does not have it. */
const char *tp_kvconf_get(const struct tp_kvconf *c, const char *key);

/* Wipe (the file may hold a secret) and free. */
void tp_kvconf_free(struct tp_kvconf *c);

#endif
