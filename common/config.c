// SPDX-License-Identifier: MIT
/*
 * The configuration tree: reading, writing and cross-checking the keys of
 * config_keys.c (docs/config.md). Values are validated where they enter (set)
 * and again where they are read, since anyone may edit the files by hand.
 */
#include "atomic.h"
#include "config.h"
#include "err.h"
#include "path.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Files that live in the same directory but are no keys: the user's image
 * catalogue (common/catalogue.h) and the node helper's own file. */
static const char *const foreign_files[] = { "images.conf", "node.conf", NULL };

/* Longest cluster name that still leaves room for "-N" in a hostname. */
#define CLUSTER_NAME_MAX 61

int tp_config_init(struct tp_config *c, const char *dir)
{
	const char *env = getenv("TPKIT_CONFIG_DIR");
	int rc;

	memset(c, 0, sizeof(*c));
	if (dir)
		snprintf(c->dir, sizeof(c->dir), "%s", dir);
	else if (env && *env)
		snprintf(c->dir, sizeof(c->dir), "%s", env);
	else if ((rc = tp_path(c->dir, sizeof(c->dir), "%s", CONFIG_TPKIT_CONFIG_DIR)) < 0)
		return rc;
	for (size_t k = 0; k < tp_config_nkeys; k++) {
		const struct tp_config_key *key = &tp_config_keys[k];
		unsigned last = key->per_slot ? TP_SLOTS_MAX : 1;

		for (unsigned s = 1; s <= last; s++) {
			struct tp_config_item *it = &c->item[c->n++];

			it->key = key;
			it->slot = key->per_slot ? s : 0;
			/* The table's names are format strings with one %u at most. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
			snprintf(it->name, sizeof(it->name), key->name, s);
#pragma GCC diagnostic pop
			it->file = malloc(strlen(c->dir) + strlen(it->name) + 2);
			if (!it->file) {
				tp_config_free(c);
				return tp_err_set(-ENOMEM, "out of memory");
			}
			sprintf(it->file, "%s/%s", c->dir, it->name);
		}
	}
	return 0;
}

void tp_config_free(struct tp_config *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->item[i].value);
		free(c->item[i].file);
		c->item[i].value = NULL;
		c->item[i].file = NULL;
	}
}

struct tp_config_item *tp_config_find(struct tp_config *c, const char *name)
{
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->item[i].name, name))
			return &c->item[i];
	tp_err_set(-ENOENT, "unknown key \"%s\"; `tpkit config --help` lists the keys", name);
	return NULL;
}

struct tp_config_item *tp_config_item_of(const struct tp_config *c, const char *key_name,
					 unsigned slot)
{
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->item[i].key->name, key_name) && c->item[i].slot == slot)
			return (struct tp_config_item *)&c->item[i];
	return NULL;
}

int tp_config_read_value(const char *file, size_t max, char **out)
{
	char *buf;
	size_t len = 0;
	int fd, rc;

	*out = NULL;
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return -ENOENT;
		return tp_err_set(-errno, "cannot open %s: %s", file, strerror(errno));
	}
	buf = malloc(max);
	if (!buf) {
		close(fd);
		return tp_err_set(-ENOMEM, "out of memory reading %s", file);
	}
	for (;;) {
		ssize_t n = read(fd, buf + len, max - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = tp_err_set(-errno, "cannot read %s: %s", file, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == max) {
			rc = tp_err_set(-EFBIG, "%s is larger than %zu bytes", file, max - 1);
			goto fail;
		}
	}
	close(fd);
	/* Editors add a final newline; a value never ends in white space. */
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ' ||
			   buf[len - 1] == '\t'))
		len--;
	buf[len] = '\0';
	if (strlen(buf) != len) {
		free(buf);
		return tp_err_set(-EINVAL, "%s holds a NUL byte; a value is text", file);
	}
	*out = buf;
	return 0;
fail:
	close(fd);
	free(buf);
	return rc;
}

int tp_config_validate(const struct tp_config_item *it, const char *value, const char *file)
{
	char why[1024];
	int rc;

	rc = tp_config_check_type(it->key->type, value, why, sizeof(why));
	if (rc == 0 && !strcmp(it->key->name, "cluster/name") && strlen(value) > CLUSTER_NAME_MAX) {
		snprintf(why, sizeof(why), "\"%s\" is longer than %d characters, so NAME-N would "
			 "not be a hostname", value, CLUSTER_NAME_MAX);
		rc = -EINVAL;
	}
	if (rc == 0)
		return 0;
	if (rc != -EINVAL)
		return tp_err_set(rc, "%s: cannot check the value", it->name);
	if (file)
		return tp_err_set(-EINVAL, "%s (in %s): %s. Fix or remove the file (`tpkit config "
				  "unset %s` restores the default)", it->name, file, why, it->name);
	return tp_err_set(-EINVAL, "%s: %s (%s)", it->name, why,
			  tp_config_types[it->key->type].doc);
}

static size_t value_max(const struct tp_config_item *it)
{
	return it->key->type == TP_CT_SSH_KEYS ? TP_CONFIG_TEXT_MAX : TP_CONFIG_VALUE_MAX;
}

int tp_config_load_item(struct tp_config *c, struct tp_config_item *it)
{
	char *v;
	int rc;

	(void)c;
	free(it->value);
	it->value = NULL;
	rc = tp_config_read_value(it->file, value_max(it), &v);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return tp_err_prefix(rc, "%s: ", it->name);
	rc = tp_config_validate(it, v, it->file);
	if (rc < 0) {
		free(v);
		return rc;
	}
	it->value = v;
	return 0;
}

static bool foreign(const char *rel)
{
	for (size_t i = 0; foreign_files[i]; i++)
		if (!strcmp(rel, foreign_files[i]))
			return true;
	return false;
}

/* Walk dir/rel and refuse what is no key: a misspelt file name would
 * otherwise leave its value silently unused. */
static int walk(struct tp_config *c, const char *rel, int depth)
{
	char path[4096];
	DIR *d;
	struct dirent *e;
	int rc = 0;

	snprintf(path, sizeof(path), "%s%s%s", c->dir, *rel ? "/" : "", rel);
	d = opendir(path);
	if (!d) {
		if (errno == ENOENT && depth == 0)
			return 0; /* no tree at all: every key has its default */
		return tp_err_set(-errno, "cannot read the configuration directory %s: %s", path,
				  strerror(errno));
	}
	while (rc == 0 && (e = readdir(d))) {
		char sub[TP_CONFIG_KEY_MAX * 2], full[4096 + 256];
		struct stat st;

		if (e->d_name[0] == '.') /* ., .., editors' and tp_file_write_atomic's temporaries */
			continue;
		snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", e->d_name);
		snprintf(full, sizeof(full), "%s/%s", c->dir, sub);
		if (stat(full, &st) < 0) {
			rc = tp_err_set(-errno, "cannot read %s: %s", full, strerror(errno));
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			if (depth < 4)
				rc = walk(c, sub, depth + 1);
			continue;
		}
		if (depth == 0 && foreign(sub))
			continue;
		if (e->d_name[strlen(e->d_name) - 1] == '~')
			continue;
		for (size_t i = 0; i < c->n; i++)
			if (!strcmp(c->item[i].name, sub))
				goto known;
		rc = tp_err_set(-EINVAL, "%s: \"%s\" is not a configuration key; rename or remove "
				"the file (`tpkit config --help` lists the keys)", full, sub);
		break;
known:;
	}
	closedir(d);
	return rc;
}

int tp_config_load(struct tp_config *c)
{
	int rc = walk(c, "", 0);

	for (size_t i = 0; rc == 0 && i < c->n; i++)
		rc = tp_config_load_item(c, &c->item[i]);
	return rc;
}

int tp_config_value(const struct tp_config *c, const struct tp_config_item *it, char *buf,
		    size_t size, bool *is_default)
{
	bool def = it->value == NULL;

	if (is_default)
		*is_default = def;
	if (!def) {
		snprintf(buf, size, "%s", it->value);
		return 0;
	}
	if (it->key->def_fn)
		return it->key->def_fn(c, it->slot, buf, size);
	/* Literal defaults in parentheses are descriptions of "empty". */
	snprintf(buf, size, "%s", it->key->def[0] == '(' ? "" : it->key->def);
	return 0;
}

int tp_config_get(const struct tp_config *c, const char *name, char *buf, size_t size)
{
	struct tp_config_item *it = tp_config_find((struct tp_config *)c, name);

	if (!it)
		return -ENOENT;
	return tp_config_value(c, it, buf, size, NULL);
}

int tp_config_set(struct tp_config *c, struct tp_config_item *it, const char *value)
{
	char dir[4096];
	char *copy, *slash, *text;
	size_t len = strlen(value);
	int rc;

	rc = tp_config_validate(it, value, NULL);
	if (rc < 0)
		return rc;
	snprintf(dir, sizeof(dir), "%s", it->file);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	if ((rc = tp_dir_make(dir, 0755, 0)) < 0)
		return tp_err_prefix(rc, "%s: ", it->name);
	text = malloc(len + 2);
	copy = strdup(value);
	if (!text || !copy) {
		free(text);
		free(copy);
		return tp_err_set(-ENOMEM, "out of memory");
	}
	memcpy(text, value, len);
	text[len] = '\n';
	rc = tp_file_write_atomic(it->file, text, len + 1, 0644);
	free(text);
	if (rc < 0) {
		free(copy);
		return tp_err_prefix(rc, "%s: ", it->name);
	}
	free(it->value);
	it->value = copy;
	(void)c;
	return 0;
}

int tp_config_unset(struct tp_config *c, struct tp_config_item *it)
{
	int rc = tp_file_remove_durable(it->file);

	(void)c;
	if (rc < 0)
		return tp_err_prefix(rc, "%s: ", it->name);
	free(it->value);
	it->value = NULL;
	return 0;
}

unsigned tp_config_count_keys(const char *text)
{
	unsigned n = 0;

	while (*text) {
		const char *p = text;

		while (*p == ' ' || *p == '\t')
			p++;
		if (*p && *p != '\n' && *p != '#')
			n++;
		text += strcspn(text, "\n");
		if (*text)
			text++;
	}
	return n;
}

/* The effective value of KEY for slot (0: cluster-wide) into buf. */
static int eff(const struct tp_config *c, const char *key, unsigned slot, char *buf, size_t size)
{
	const struct tp_config_item *it = tp_config_item_of(c, key, slot);

	if (!it)
		return tp_err_set(-ENOENT, "no key %s", key);
	return tp_config_value(c, it, buf, size, NULL);
}

static const char *where(const struct tp_config *c, const char *key, unsigned slot)
{
	const struct tp_config_item *it = tp_config_item_of(c, key, slot);

	return it && it->value ? it->file : "default";
}

int tp_config_check(const struct tp_config *c)
{
	char host[TP_SLOTS_MAX + 1][TP_CONFIG_VALUE_MAX / 16];
	char role[TP_CONFIG_VALUE_MAX], addr[TP_CONFIG_VALUE_MAX], gw[TP_CONFIG_VALUE_MAX];
	char keys[TP_CONFIG_TEXT_MAX];
	unsigned servers = 0, agents = 0;
	int rc;

	for (unsigned s = 1; s <= TP_SLOTS_MAX; s++) {
		int af = 0, gaf = 0;

		host[s][0] = '\0';
		if ((rc = eff(c, "slot/%u/role", s, role, sizeof(role))) < 0)
			return rc;
		if (!strcmp(role, "none"))
			continue;
		servers += !strcmp(role, "server");
		agents += !strcmp(role, "agent");
		if ((rc = eff(c, "slot/%u/hostname", s, host[s], sizeof(host[s]))) < 0)
			return rc;
		for (unsigned o = 1; o < s; o++)
			if (!strcmp(host[o], host[s]))
				return tp_err_set(-EINVAL, "slot/%u/hostname and slot/%u/hostname are "
						  "both \"%s\"; hostnames must be unique (%s, %s)",
						  o, s, host[s], where(c, "slot/%u/hostname", o),
						  where(c, "slot/%u/hostname", s));
		if ((rc = eff(c, "net/slot/%u/address", s, addr, sizeof(addr))) < 0 ||
		    (rc = eff(c, "net/slot/%u/gateway", s, gw, sizeof(gw))) < 0)
			return rc;
		if (!gw[0])
			continue;
		if (!strcmp(addr, "dhcp"))
			return tp_err_set(-EINVAL, "net/slot/%u/gateway is set (%s) but "
					  "net/slot/%u/address is dhcp: DHCP gives the gateway; "
					  "unset the gateway or set a static address", s,
					  where(c, "net/slot/%u/gateway", s), s);
		tp_config_check_cidr(addr, &af, role, sizeof(role));
		tp_config_check_ip(gw, &gaf, role, sizeof(role));
		if (af != gaf)
			return tp_err_set(-EINVAL, "net/slot/%u/gateway %s and net/slot/%u/address "
					  "%s are of different IP families", s, gw, s, addr);
	}
	if (agents && !servers)
		return tp_err_set(-EINVAL, "%u slot(s) are agents but no slot is the server; set "
				  "one slot's role to server (tpkit config set slot/1/role server)",
				  agents);
	/* Several servers: one starts the cluster, the others join it
	 * (config_ha.c, docs/commission.md §14). */
	if ((rc = tp_config_ha_check(c)) < 0)
		return rc;
	if ((rc = eff(c, "admin/keys", 0, keys, sizeof(keys))) < 0)
		return rc;
	if (!tp_config_item_of(c, "admin/keys", 0)->value) {
		char why[1024];

		/* The default comes from the BMC root's file, checked here. */
		if (tp_config_check_type(TP_CT_SSH_KEYS, keys, why, sizeof(why)) < 0)
			return tp_err_set(-EINVAL, "admin/keys (default, from %s%s): %s; fix that "
					  "file or set admin/keys", strcmp(tp_root_get(), "/") ?
					  tp_root_get() : "", TP_CONFIG_ROOT_KEYS, why);
	}
	if (servers + agents && tp_config_count_keys(keys) == 0)
		return tp_err_set(-EINVAL, "admin/keys is empty and the BMC root has no %s: "
				  "nobody could log in to the nodes; set admin/keys (tpkit "
				  "config set admin/keys - < ~/.ssh/id_ed25519.pub)",
				  TP_CONFIG_ROOT_KEYS);
	return 0;
}
