/* SPDX-License-Identifier: MIT */
/*
 * tp-twin's configfs: the tree that twin_configfs.c serves over FUSE with
 * fs/configfs's generic rules, and the hooks through which twin_gadget.c
 * gives its directories the USB gadget's meaning (docs/twin.md, "The BMC's
 * USB gadget (configfs)").
 */
#ifndef TPKIT_TWIN_CONFIGFS_H
#define TPKIT_TWIN_CONFIGFS_H

#include <sys/types.h>
#include <time.h>

#include "twin.h"

/* configfs passes a store at most one page less its NUL. */
#define TWIN_CFS_PAGE		4096u

enum twin_cfs_kind { TWIN_CFS_DIR, TWIN_CFS_ATTR, TWIN_CFS_LINK };

struct twin_cfs_node;

/* How a store's page becomes an attribute's value (the kstrto* helpers the
 * kernel's store functions call): the value is kept as the show prints it,
 * without the "\n". */
enum twin_cfs_fmt {
	TWIN_CFS_STR,		/* the page, one trailing "\n" dropped */
	TWIN_CFS_RAW,		/* the page as written (the hook formats it) */
	TWIN_CFS_BOOL,		/* kstrtobool: "1" / "0" */
	TWIN_CFS_U8,		/* kstrtou8 (base 0): "%u" */
	TWIN_CFS_U16,		/* kstrtou16: "%u" */
	TWIN_CFS_HEX8,		/* kstrtou8: "0x%02x" */
	TWIN_CFS_HEX16,		/* kstrtou16: "0x%04x" */
};

/* An attribute: readable if its mode has a read bit, writable if a write
 * bit. A store is parsed by fmt, then store (if any) may refuse it
 * (-errno) or act on it: 0, VAL becomes the value; 1, it has set the
 * value itself. show (if any) prints instead of the value. */
struct twin_cfs_attr {
	const char *name;
	mode_t mode;			/* 0644, 0444, 0200 */
	enum twin_cfs_fmt fmt;
	const char *init;		/* NULL: "" */
	int (*store)(struct twin *t, struct twin_cfs_node *dir, const char *val);
	void (*show)(struct twin *t, struct twin_cfs_node *dir,
		     struct twin_cfs_node *attr, GString *out);
};

/* What a directory allows beyond reading (configfs's item and group
 * operations); a NULL hook is configfs's EPERM. */
struct twin_cfs_ops {
	int (*make)(struct twin *t, struct twin_cfs_node *dir, const char *name);
	void (*drop)(struct twin *t, struct twin_cfs_node *item);
	int (*allow_link)(struct twin *t, struct twin_cfs_node *dir,
			  struct twin_cfs_node *target);
	void (*drop_link)(struct twin *t, struct twin_cfs_node *dir,
			  struct twin_cfs_node *target);
};

struct twin_cfs_node {
	uint64_t ino;
	enum twin_cfs_kind kind;
	char *name;
	struct twin_cfs_node *parent;
	GPtrArray *children;		/* directories, in creation order */
	const struct twin_cfs_ops *ops;	/* directories; NULL: plain */
	bool is_default;		/* made with its parent: rmdir is EPERM */
	unsigned links;			/* links to it (configfs: s_links) */
	void *obj;			/* the gadget object it stands for */
	GDestroyNotify obj_free;
	const struct twin_cfs_attr *attr;	/* attributes */
	char *value;				/* attributes: as shown, no "\n" */
	struct twin_cfs_node *target;		/* links */
};

/* The mounted configfs (t->cfs). */
struct twin_cfs {
	struct fuse_session *se;
	struct fuse_buf *buf;		/* reused for every request */
	guint src;
	char *mnt;			/* the mount point, symlinks resolved */
	struct twin_cfs_node *root;
	GHashTable *inodes;		/* ino -> node */
	uint64_t next_ino;
	time_t mtime;
	struct fuse_req *req;		/* the request being answered */
};

/* twin_cfstree.c: the tree, for twin_configfs.c and twin_gadget*.c. */
struct twin_cfs_node *twin_cfs_dir(struct twin *t, struct twin_cfs_node *parent,
				   const char *name, bool is_default,
				   const struct twin_cfs_ops *ops);
void twin_cfs_attrs(struct twin *t, struct twin_cfs_node *dir,
		    const struct twin_cfs_attr *attrs);
struct twin_cfs_node *twin_cfs_child(struct twin_cfs_node *dir, const char *name);
/* An attribute's value, or sets it; DIR/NAME must exist. */
const char *twin_cfs_get(struct twin_cfs_node *dir, const char *name);
void twin_cfs_set(struct twin_cfs_node *dir, const char *name, const char *value);
int twin_cfs_link(struct twin *t, struct twin_cfs_node *dir, const char *name,
		  struct twin_cfs_node *target);
char *twin_cfs_path(struct twin_cfs_node *n);	/* from the mount, "a/b" */
struct twin_cfs_node *twin_cfs_root(struct twin *t);
/* The directory in which the running request's caller sits (a relative path
 * in a store is resolved there, as the kernel does with its cwd); NULL if
 * unknown. */
char *twin_cfs_caller_cwd(struct twin *t);
/* True when PATH (absolute, on the host) lies inside the mount: the twin
 * must not touch it from its own loop. */
bool twin_cfs_in_mount(struct twin *t, const char *path);
void twin_cfs_node_free(struct twin *t, struct twin_cfs_node *n);
/* A link target's directory, as configfs finds it: 0 or -errno. */
int twin_cfs_resolve(struct twin *t, const char *target, struct twin_cfs_node **out);
/* A store's page as FMT reads it: 0 and *VAL (g_free it), or -errno. */
int twin_cfs_parse(enum twin_cfs_fmt fmt, const char *page, char **val);
/* May group N go (rmdir)? 0, -EBUSY (linked to) or -ENOTEMPTY. */
int twin_cfs_detach_prep(struct twin_cfs_node *n);

/* twin_gadget.c: the usb_gadget subsystem as --otg-gadget says. */
int twin_gadget_init(struct twin *t, struct twin_cfs_node *root);
/* A violation at N: what a correct client never does. */
void twin_gadget_refuse(struct twin *t, struct twin_cfs_node *n, const char *fmt, ...)
	G_GNUC_PRINTF(3, 4);
struct twin_cfs_node *twin_gadget_of(struct twin_cfs_node *n);	/* usb_gadget/NAME */
bool twin_gadget_bound(struct twin_cfs_node *g);
void twin_gadget_unbind(struct twin *t, struct twin_cfs_node *g);	/* with its event */
bool twin_gadget_u8(const char *s, unsigned long *out);	/* kstrtou8, base 0 */

/* twin_gadget_lun.c: a mass_storage function's lun.N directories. */
extern const struct twin_cfs_ops twin_lun_ops;	/* of mass_storage.X */
void twin_lun_new(struct twin *t, struct twin_cfs_node *func, const char *name,
		  bool is_default);
void twin_lun_close(struct twin *t, struct twin_cfs_node *lun);	/* with its event */

#endif /* TPKIT_TWIN_CONFIGFS_H */
