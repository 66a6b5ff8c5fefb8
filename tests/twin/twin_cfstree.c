// SPDX-License-Identifier: MIT
/*
 * The tree of tp-twin's configfs (twin_configfs.c serves it): its nodes,
 * and the generic rules of fs/configfs that do not depend on FUSE: how a
 * store's page is read (lib/kstrtox.c), how a link's target is found, when
 * a group may go (docs/twin.md, "The BMC's USB gadget (configfs)").
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "twin_configfs.h"

static struct twin_cfs_node *cfs_node_new(struct twin *t, struct twin_cfs_node *parent,
					  const char *name, enum twin_cfs_kind kind)
{
	struct twin_cfs_node *n = g_new0(struct twin_cfs_node, 1);

	n->ino = t->cfs->next_ino++;
	n->kind = kind;
	n->name = g_strdup(name);
	n->parent = parent;
	if (kind == TWIN_CFS_DIR)
		n->children = g_ptr_array_new();
	if (parent)
		g_ptr_array_add(parent->children, n);
	g_hash_table_insert(t->cfs->inodes, &n->ino, n);
	return n;
}

struct twin_cfs_node *twin_cfs_dir(struct twin *t, struct twin_cfs_node *parent,
				   const char *name, bool is_default,
				   const struct twin_cfs_ops *ops)
{
	struct twin_cfs_node *n = cfs_node_new(t, parent, name, TWIN_CFS_DIR);

	n->is_default = is_default;
	n->ops = ops;
	return n;
}

void twin_cfs_attrs(struct twin *t, struct twin_cfs_node *dir,
		    const struct twin_cfs_attr *attrs)
{
	for (; attrs->name; attrs++) {
		struct twin_cfs_node *n = cfs_node_new(t, dir, attrs->name, TWIN_CFS_ATTR);

		n->attr = attrs;
		n->value = g_strdup(attrs->init ? attrs->init : "");
	}
}

struct twin_cfs_node *twin_cfs_child(struct twin_cfs_node *dir, const char *name)
{
	for (guint i = 0; dir->children && i < dir->children->len; i++) {
		struct twin_cfs_node *c = g_ptr_array_index(dir->children, i);

		if (!strcmp(c->name, name))
			return c;
	}
	return NULL;
}

const char *twin_cfs_get(struct twin_cfs_node *dir, const char *name)
{
	return twin_cfs_child(dir, name)->value;
}

void twin_cfs_set(struct twin_cfs_node *dir, const char *name, const char *value)
{
	struct twin_cfs_node *n = twin_cfs_child(dir, name);

	g_free(n->value);
	n->value = g_strdup(value);
}

struct twin_cfs_node *twin_cfs_root(struct twin *t)
{
	return t->cfs->root;
}

int twin_cfs_link(struct twin *t, struct twin_cfs_node *dir, const char *name,
		  struct twin_cfs_node *target)
{
	int rc;

	if (twin_cfs_child(dir, name))
		return -EEXIST;
	rc = dir->ops && dir->ops->allow_link ?
	     dir->ops->allow_link(t, dir, target) : -EPERM;
	if (rc)
		return rc;
	cfs_node_new(t, dir, name, TWIN_CFS_LINK)->target = target;
	target->links++;
	return 0;
}

char *twin_cfs_path(struct twin_cfs_node *n)
{
	GString *s = g_string_new(NULL);

	for (; n && n->parent; n = n->parent) {
		if (s->len)
			g_string_prepend_c(s, '/');
		g_string_prepend(s, n->name);
	}
	return g_string_free(s, FALSE);
}

void twin_cfs_node_free(struct twin *t, struct twin_cfs_node *n)
{
	if (n->children) {
		while (n->children->len)
			twin_cfs_node_free(t, g_ptr_array_index(n->children, n->children->len - 1));
		g_ptr_array_free(n->children, TRUE);
	}
	if (n->parent)
		g_ptr_array_remove(n->parent->children, n);
	if (n->target)
		n->target->links--;
	if (n->obj_free)
		n->obj_free(n->obj);
	g_hash_table_remove(t->cfs->inodes, &n->ino);
	g_free(n->value);
	g_free(n->name);
	g_free(n);
}

bool twin_cfs_in_mount(struct twin *t, const char *path)
{
	size_t n = strlen(t->cfs->mnt);

	return !strncmp(path, t->cfs->mnt, n) && (!path[n] || path[n] == '/');
}

/*
 * A link's target as the kernel finds it (fs/configfs/symlink.c,
 * get_target): the path is looked up from the caller's cwd, links followed,
 * and must end at a directory of this configfs. Walks the model, never the
 * mount. Outside the mount the walk is by name, which a cwd from /proc
 * (symlinks already resolved) makes exact.
 */
int twin_cfs_resolve(struct twin *t, const char *target, struct twin_cfs_node **out)
{
	char *cwd = target[0] == '/' ? NULL : twin_cfs_caller_cwd(t);
	char *abs = target[0] == '/' ? g_strdup(target) : g_build_filename(cwd ? cwd : "/", target, NULL);
	char **comp = g_strsplit(abs, "/", -1);
	GString *outside = g_string_new(NULL);	/* "" is "/" */
	struct twin_cfs_node *n = NULL;
	int rc = 0;

	for (char **c = comp; *c && !rc; c++) {
		if (!**c || !strcmp(*c, "."))
			continue;
		if (!n && !strcmp(*c, "..")) {
			char *slash = strrchr(outside->str, '/');

			g_string_truncate(outside, slash ? (gsize)(slash - outside->str) : 0);
		} else if (!n) {
			g_string_append_printf(outside, "/%s", *c);
			if (!strcmp(outside->str, t->cfs->mnt))
				n = t->cfs->root;
		} else if (n->kind != TWIN_CFS_DIR) {
			rc = -ENOTDIR;
		} else if (!strcmp(*c, "..")) {
			if (n == t->cfs->root) {
				char *slash = strrchr(outside->str, '/');

				g_string_truncate(outside, (gsize)(slash - outside->str));
				n = NULL;
			} else {
				n = n->parent;
			}
		} else if (!(n = twin_cfs_child(n, *c))) {
			rc = -ENOENT;
		} else if (n->kind == TWIN_CFS_LINK) {
			n = n->target;
		}
	}
	if (!rc && !n)
		rc = -EPERM;	/* not in configfs */
	else if (!rc && n->kind != TWIN_CFS_DIR)
		rc = -ENOTDIR;
	*out = n;
	g_strfreev(comp);
	g_string_free(outside, TRUE);
	g_free(abs);
	g_free(cwd);
	return rc;
}

/* lib/kstrtox.c: an optional "+", a number in base 0 (0x hex, 0 octal),
 * one optional "\n"; too big is ERANGE, anything else EINVAL. */
static int cfs_kstrtou(const char *s, uint64_t max, uint64_t *out)
{
	char *end;

	if (*s == '+')
		s++;
	if (!g_ascii_isdigit(*s))
		return -EINVAL;
	errno = 0;
	*out = g_ascii_strtoull(s, &end, s[0] == '0' && (s[1] == 'x' || s[1] == 'X') ? 16 :
				s[0] == '0' ? 8 : 10);
	if (*end == '\n')
		end++;
	if (*end || end == s)
		return -EINVAL;
	return errno || *out > max ? -ERANGE : 0;
}

/* lib/kstrtox.c, kstrtobool: the first character (or "on"/"of"). */
static int cfs_kstrtobool(const char *s, bool *out)
{
	switch (s[0]) {
	case 'y': case 'Y': case 't': case 'T': case '1':
		*out = true;
		return 0;
	case 'n': case 'N': case 'f': case 'F': case '0':
		*out = false;
		return 0;
	case 'o': case 'O':
		if (s[1] == 'n' || s[1] == 'N' || s[1] == 'f' || s[1] == 'F') {
			*out = s[1] == 'n' || s[1] == 'N';
			return 0;
		}
	}
	return -EINVAL;
}

int twin_cfs_parse(enum twin_cfs_fmt fmt, const char *page, char **val)
{
	static const uint64_t max[] = {
		[TWIN_CFS_U8] = 0xff, [TWIN_CFS_HEX8] = 0xff,
		[TWIN_CFS_U16] = 0xffff, [TWIN_CFS_HEX16] = 0xffff,
	};
	size_t len = strlen(page);
	uint64_t v;
	bool b;
	int rc;

	switch (fmt) {
	case TWIN_CFS_RAW:
		*val = g_strdup(page);
		return 0;
	case TWIN_CFS_STR:
		*val = g_strndup(page, len && page[len - 1] == '\n' ? len - 1 : len);
		return 0;
	case TWIN_CFS_BOOL:
		rc = cfs_kstrtobool(page, &b);
		if (!rc)
			*val = g_strdup(b ? "1" : "0");
		return rc;
	default:
		rc = cfs_kstrtou(page, max[fmt], &v);
		if (!rc)
			*val = g_strdup_printf(fmt == TWIN_CFS_HEX8 ? "0x%02x" :
					       fmt == TWIN_CFS_HEX16 ? "0x%04x" : "%u", (unsigned)v);
		return rc;
	}
}

/* fs/configfs/dir.c, configfs_detach_prep: a group goes only when nothing
 * links to it or to a default group under it, and it holds no items or
 * links a user made. */
int twin_cfs_detach_prep(struct twin_cfs_node *n)
{
	if (n->links)
		return -EBUSY;
	for (guint i = 0; i < n->children->len; i++) {
		struct twin_cfs_node *c = g_ptr_array_index(n->children, i);
		int rc;

		if (c->kind == TWIN_CFS_ATTR)
			continue;
		if (c->kind == TWIN_CFS_LINK || !c->is_default)
			return -ENOTEMPTY;
		rc = twin_cfs_detach_prep(c);
		if (rc)
			return rc;
	}
	return 0;
}

