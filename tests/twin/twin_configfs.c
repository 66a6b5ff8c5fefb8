// SPDX-License-Identifier: MIT
/*
 * The BMC's configfs, served over FUSE at <root>/sys/kernel/config, so that
 * a client's mkdir, symlink and echo reach a model with the kernel's own
 * answers (docs/twin.md, "The BMC's USB gadget (configfs)"). This file is
 * the FUSE side: the mount, and each request answered with fs/configfs's
 * generic rules (default groups cannot be removed, a link target cannot go,
 * one write() is one store) over the tree of twin_cfstree.c;
 * twin_gadget.c and twin_gadget_lun.c give the directories meaning.
 *
 * The session runs in the twin's main loop, one request at a time: the
 * client waits inside its system call while the twin answers, so what a
 * request does gets the virtual time of that moment. The twin itself must
 * never touch a path inside the mount from the loop: it would wait on its
 * own answer.
 */
#define _GNU_SOURCE
#define FUSE_USE_VERSION 35
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <fuse_lowlevel.h>
#include <glib-unix.h>

#include "twin_configfs.h"


/* An open attribute: configfs fills its page at the first read and keeps
 * it until a write, so a reader sees one consistent value. */
struct twin_cfs_file {
	uint64_t ino;
	GString *page;
	bool filled;
};

char *twin_cfs_caller_cwd(struct twin *t)
{
	const struct fuse_ctx *ctx = t->cfs->req ? fuse_req_ctx(t->cfs->req) : NULL;
	char proc[32];

	if (!ctx)
		return NULL;
	snprintf(proc, sizeof(proc), "/proc/%d/cwd", (int)ctx->pid);
	return g_file_read_link(proc, NULL);
}

static void cfs_stat(struct twin *t, const struct twin_cfs_node *n, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = n->ino;
	st->st_mtime = st->st_atime = st->st_ctime = t->cfs->mtime;
	st->st_blksize = TWIN_CFS_PAGE;
	switch (n->kind) {
	case TWIN_CFS_DIR:
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
		for (guint i = 0; i < n->children->len; i++)
			if (((struct twin_cfs_node *)g_ptr_array_index(n->children, i))->kind == TWIN_CFS_DIR)
				st->st_nlink++;
		break;
	case TWIN_CFS_ATTR:	/* configfs: a page, whatever the value */
		st->st_mode = S_IFREG | n->attr->mode;
		st->st_nlink = 1;
		st->st_size = TWIN_CFS_PAGE;
		break;
	case TWIN_CFS_LINK:
		st->st_mode = S_IFLNK | 0777;
		st->st_nlink = 1;
		break;
	}
}

/* A refusal a correct client never meets is a violation as well. */
static void cfs_refuse(struct twin *t, fuse_req_t req, int err, const char *op,
		       struct twin_cfs_node *dir, const char *name, const char *why)
{
	char *path = twin_cfs_path(dir);

	twin_timeline_violation(t, "configfs", "%s %s%s%s: %s: %s", op, path,
				*path ? "/" : "", name, why, g_strerror(err));
	g_free(path);
	fuse_reply_err(req, err);
}

#define CFS_T(req)	((struct twin *)fuse_req_userdata(req))

static struct twin_cfs_node *cfs_get(fuse_req_t req, fuse_ino_t ino)
{
	return g_hash_table_lookup(CFS_T(req)->cfs->inodes, &(uint64_t){ ino });
}

static void cfs_reply_entry(fuse_req_t req, struct twin_cfs_node *n)
{
	/* Timeouts 0: the tree changes under the kernel's caches (a link
	 * removed by an unbind, a LUN by rmdir), so it asks every time. */
	struct fuse_entry_param e = { .ino = n->ino, .generation = 1 };

	cfs_stat(CFS_T(req), n, &e.attr);
	fuse_reply_entry(req, &e);
}

static void cfs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct twin_cfs_node *d = cfs_get(req, parent);
	struct twin_cfs_node *n = d && d->kind == TWIN_CFS_DIR ? twin_cfs_child(d, name) : NULL;

	if (n)
		cfs_reply_entry(req, n);
	else
		fuse_reply_err(req, ENOENT);
}

static void cfs_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct twin_cfs_node *n = cfs_get(req, ino);
	struct stat st;

	(void)fi;
	if (!n) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	cfs_stat(CFS_T(req), n, &st);
	fuse_reply_attr(req, &st, 0);
}

/* configfs_setattr keeps what it is given, but a truncate (O_TRUNC of a
 * shell's ">") changes no value: nothing here changes either. */
static void cfs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
			int to_set, struct fuse_file_info *fi)
{
	(void)attr;
	(void)to_set;
	cfs_getattr(req, ino, fi);
}

/* configfs_get_link: up from the link's directory to the root, then down. */
static void cfs_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct twin_cfs_node *n = cfs_get(req, ino);
	GString *s;
	char *down;

	if (!n || n->kind != TWIN_CFS_LINK) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	s = g_string_new(NULL);
	for (struct twin_cfs_node *p = n->parent; p->parent; p = p->parent)
		g_string_append(s, "../");
	down = twin_cfs_path(n->target);
	g_string_append(s, down);
	fuse_reply_readlink(req, s->str);
	g_free(down);
	g_string_free(s, TRUE);
}

/* A new name in d: d a directory, the name free; else answered. */
static bool cfs_new_name_ok(fuse_req_t req, struct twin_cfs_node *d, const char *name)
{
	if (!d || d->kind != TWIN_CFS_DIR) {
		fuse_reply_err(req, ENOENT);
		return false;
	}
	if (twin_cfs_child(d, name)) {
		fuse_reply_err(req, EEXIST);
		return false;
	}
	return true;
}

static void cfs_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct twin *t = CFS_T(req);
	struct twin_cfs_node *d = cfs_get(req, parent);
	int rc;

	(void)mode;
	if (!cfs_new_name_ok(req, d, name))
		return;
	if (!d->ops || !d->ops->make) {
		cfs_refuse(t, req, EPERM, "mkdir", d, name, "no items can be made here");
		return;
	}
	t->cfs->req = req;
	rc = d->ops->make(t, d, name);
	t->cfs->req = NULL;
	if (rc)
		fuse_reply_err(req, -rc);
	else
		cfs_reply_entry(req, twin_cfs_child(d, name));
}

static void cfs_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct twin *t = CFS_T(req);
	struct twin_cfs_node *d = cfs_get(req, parent);
	struct twin_cfs_node *n = d ? twin_cfs_child(d, name) : NULL;
	int rc;

	if (!n) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (n->kind != TWIN_CFS_DIR) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	if (d == t->cfs->root || n->is_default) {
		cfs_refuse(t, req, EPERM, "rmdir", d, name,
			   d == t->cfs->root ? "a subsystem" : "a default group, made with its parent");
		return;
	}
	rc = twin_cfs_detach_prep(n);
	if (rc == -ENOTEMPTY) {
		cfs_refuse(t, req, ENOTEMPTY, "rmdir", d, name, "holds items or links");
		return;
	}
	if (rc) {	/* EBUSY: a careful client meets it when it races */
		fuse_reply_err(req, -rc);
		return;
	}
	if (d->ops && d->ops->drop)
		d->ops->drop(t, n);
	twin_cfs_node_free(t, n);
	fuse_reply_err(req, 0);
}

static void cfs_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	struct twin *t = CFS_T(req);
	struct twin_cfs_node *d = cfs_get(req, parent);
	struct twin_cfs_node *target;
	int rc;

	if (!cfs_new_name_ok(req, d, name))
		return;
	if (!d->ops || !d->ops->allow_link) {
		cfs_refuse(t, req, EPERM, "symlink", d, name, "no links can be made here");
		return;
	}
	t->cfs->req = req;
	rc = twin_cfs_resolve(t, link, &target);
	t->cfs->req = NULL;
	if (rc) {
		char *why = g_strdup_printf("target %s %s", link,
					    rc == -EPERM ? "is not in configfs" :
					    rc == -ENOENT ? "does not exist" : "is not a directory");

		cfs_refuse(t, req, -rc, "symlink", d, name, why);
		g_free(why);
		return;
	}
	rc = twin_cfs_link(t, d, name, target);
	if (rc)
		fuse_reply_err(req, -rc);	/* allow_link has said why */
	else
		cfs_reply_entry(req, twin_cfs_child(d, name));
}

static void cfs_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct twin *t = CFS_T(req);
	struct twin_cfs_node *d = cfs_get(req, parent);
	struct twin_cfs_node *n = d ? twin_cfs_child(d, name) : NULL;

	if (!n) {
		fuse_reply_err(req, ENOENT);
	} else if (n->kind == TWIN_CFS_DIR) {
		fuse_reply_err(req, EISDIR);
	} else if (n->kind == TWIN_CFS_ATTR) {
		cfs_refuse(t, req, EPERM, "unlink", d, name, "an attribute");
	} else {
		if (d->ops->drop_link)
			d->ops->drop_link(t, d, n->target);
		twin_cfs_node_free(t, n);
		fuse_reply_err(req, 0);
	}
}

/* configfs has no create, mknod, link or rename: the VFS answers EACCES
 * (lookup_open) for a new file, EPERM for the others. */
static void cfs_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		       mode_t mode, struct fuse_file_info *fi)
{
	(void)mode;
	(void)fi;
	cfs_refuse(CFS_T(req), req, EACCES, "create", cfs_get(req, parent), name,
		   "configfs makes no files");
}

static void cfs_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, dev_t rdev)
{
	(void)mode;
	(void)rdev;
	cfs_refuse(CFS_T(req), req, EPERM, "mknod", cfs_get(req, parent), name,
		   "configfs makes no nodes");
}

static void cfs_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t parent, const char *name)
{
	(void)ino;
	cfs_refuse(CFS_T(req), req, EPERM, "link", cfs_get(req, parent), name,
		   "configfs has no hard links");
}

static void cfs_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		       fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	(void)newparent;
	(void)newname;
	(void)flags;
	cfs_refuse(CFS_T(req), req, EPERM, "rename", cfs_get(req, parent), name,
		   "configfs renames nothing");
}

/* configfs_open_file: reading needs a show, writing a store. */
static void cfs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct twin_cfs_node *n = cfs_get(req, ino);
	int acc = fi->flags & O_ACCMODE;
	struct twin_cfs_file *f;

	if (!n || n->kind != TWIN_CFS_ATTR) {
		fuse_reply_err(req, n ? EISDIR : ENOENT);
		return;
	}
	if ((acc != O_WRONLY && !(n->attr->mode & 0444)) ||
	    (acc != O_RDONLY && !(n->attr->mode & 0222))) {
		cfs_refuse(CFS_T(req), req, EACCES, acc == O_RDONLY ? "read" : "write",
			   n->parent, n->name, n->attr->mode & 0444 ?
			   "a read-only attribute" : "a write-only attribute");
		return;
	}
	f = g_new0(struct twin_cfs_file, 1);
	f->ino = n->ino;
	f->page = g_string_new(NULL);
	fi->fh = (uint64_t)(uintptr_t)f;
	fi->direct_io = 1;	/* every read() and write() reaches us */
	fuse_reply_open(req, fi);
}

static void cfs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	struct twin_cfs_file *f = (struct twin_cfs_file *)(uintptr_t)fi->fh;
	struct twin_cfs_node *n = cfs_get(req, ino);

	if (!n) {
		fuse_reply_err(req, ENODEV);
		return;
	}
	if (!f->filled) {
		g_string_truncate(f->page, 0);
		if (n->attr->show)
			n->attr->show(CFS_T(req), n->parent, n, f->page);
		else
			g_string_append_printf(f->page, "%s\n", n->value);
		f->filled = true;
	}
	if ((size_t)off >= f->page->len)
		fuse_reply_buf(req, NULL, 0);
	else
		fuse_reply_buf(req, f->page->str + off, MIN(size, f->page->len - (size_t)off));
}

/* fs/configfs/file.c: one write() is one store of at most a page less one
 * byte; a longer write stores its first 4095 bytes and says so. */
static void cfs_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
		      off_t off, struct fuse_file_info *fi)
{
	struct twin_cfs_file *f = (struct twin_cfs_file *)(uintptr_t)fi->fh;
	struct twin_cfs_node *n = cfs_get(req, ino);
	size_t len = MIN(size, TWIN_CFS_PAGE - 1);
	char *page, *val = NULL;
	int rc;

	(void)off;
	if (!n) {
		fuse_reply_err(req, ENODEV);
		return;
	}
	page = g_strndup(buf, len);
	rc = twin_cfs_parse(n->attr->fmt, page, &val);
	if (rc) {
		char *shown = g_strescape(page, NULL), *path = twin_cfs_path(n);

		twin_timeline_violation(CFS_T(req), "configfs", "write \"%s\" to %s: %s",
					shown, path, g_strerror(-rc));
		g_free(path);
		g_free(shown);
	} else if (n->attr->store) {
		CFS_T(req)->cfs->req = req;
		rc = n->attr->store(CFS_T(req), n->parent, val);
		CFS_T(req)->cfs->req = NULL;
	}
	if (!rc) {
		g_free(n->value);
		n->value = val;
		val = NULL;
	}
	rc = MIN(rc, 0);	/* > 0: the hook set the value itself */
	g_free(val);
	g_free(page);
	f->filled = false;
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_write(req, len);
}

static void cfs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct twin_cfs_file *f = (struct twin_cfs_file *)(uintptr_t)fi->fh;

	(void)ino;
	g_string_free(f->page, TRUE);
	g_free(f);
	fuse_reply_err(req, 0);
}

static void cfs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			struct fuse_file_info *fi)
{
	struct twin_cfs_node *d = cfs_get(req, ino);
	char *buf;
	size_t used = 0;

	(void)fi;
	if (!d || d->kind != TWIN_CFS_DIR) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	buf = g_malloc(size);
	/* Offsets: 1 ".", 2 "..", 3.. the children in order. */
	for (off_t i = off; i < (off_t)d->children->len + 2; i++) {
		struct twin_cfs_node *c = i >= 2 ? g_ptr_array_index(d->children, i - 2) : NULL;
		const char *name = i == 0 ? "." : i == 1 ? ".." : c->name;
		struct stat st = { .st_ino = c ? c->ino : d->ino };
		size_t len;

		if (c)
			cfs_stat(CFS_T(req), c, &st);
		else
			st.st_mode = S_IFDIR;
		len = fuse_add_direntry(req, buf + used, size - used, name, &st, i + 1);
		if (len > size - used)
			break;
		used += len;
	}
	fuse_reply_buf(req, buf, used);
	g_free(buf);
}

static const struct fuse_lowlevel_ops twin_cfs_ops = {
	.lookup = cfs_lookup,
	.getattr = cfs_getattr,
	.setattr = cfs_setattr,
	.readlink = cfs_readlink,
	.mknod = cfs_mknod,
	.mkdir = cfs_mkdir,
	.unlink = cfs_unlink,
	.rmdir = cfs_rmdir,
	.symlink = cfs_symlink,
	.rename = cfs_rename,
	.link = cfs_link,
	.open = cfs_open,
	.read = cfs_read,
	.write = cfs_write,
	.release = cfs_release,
	.readdir = cfs_readdir,
	.create = cfs_create,
};

static gboolean twin_cfs_readable(gint fd, GIOCondition cond, gpointer data)
{
	struct twin *t = data;
	struct twin_cfs *c = t->cfs;
	int rc;

	(void)fd;
	(void)cond;
	rc = fuse_session_receive_buf(c->se, c->buf);
	if (rc == -EINTR || rc == -EAGAIN)
		return G_SOURCE_CONTINUE;
	if (rc <= 0) {	/* unmounted from outside */
		c->src = 0;
		return G_SOURCE_REMOVE;
	}
	fuse_session_process_buf(c->se, c->buf);
	return G_SOURCE_CONTINUE;
}

/*
 * Mount through fusermount3, whose auto_unmount keeps a helper that
 * unmounts when the twin's end of its socket closes, even after a kill -9.
 * The helper gets the environment the twin started with: not umockdev's
 * preload (nor an ASan runtime, twin_usb_tool_env), which is why this
 * runs before the testbed exists, while the twin has one thread.
 */
static int twin_cfs_mount(struct twin *t, const char *dir)
{
	struct twin_cfs *c = t->cfs;
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	char *pre = g_strdup(g_getenv("LD_PRELOAD"));
	const char *orig = g_getenv("TP_TWIN_ORIG_LD_PRELOAD");
	int rc = 0;

	if (fuse_opt_add_arg(&args, "tp-twin") || fuse_opt_add_arg(&args, "-o") ||
	    fuse_opt_add_arg(&args, "fsname=configfs,subtype=configfs,auto_unmount"))
		return -ENOMEM;
	c->se = fuse_session_new(&args, &twin_cfs_ops, sizeof(twin_cfs_ops), t);
	fuse_opt_free_args(&args);
	if (!c->se)
		return -EIO;
	if (orig && *orig)
		g_setenv("LD_PRELOAD", orig, TRUE);
	else
		g_unsetenv("LD_PRELOAD");
	if (fuse_session_mount(c->se, dir)) {
		fprintf(stderr, "tp-twin: cannot mount configfs on %s (is fuse3 installed, /dev/fuse usable?)\n",
			dir);
		rc = -EIO;
	}
	if (pre)
		g_setenv("LD_PRELOAD", pre, TRUE);
	g_free(pre);
	if (rc) {
		fuse_session_destroy(c->se);
		c->se = NULL;
		return rc;
	}
	c->src = g_unix_fd_add(fuse_session_fd(c->se), G_IO_IN, twin_cfs_readable, t);
	return 0;
}

int twin_configfs_start(struct twin *t)
{
	struct twin_cfs *c = g_new0(struct twin_cfs, 1);
	char *dir = g_build_filename(t->root, "sys/kernel/config", NULL);
	int rc;

	t->cfs = c;
	c->inodes = g_hash_table_new(g_int64_hash, g_int64_equal);
	c->buf = g_new0(struct fuse_buf, 1);
	c->next_ino = FUSE_ROOT_ID;
	c->mtime = time(NULL);
	c->root = twin_cfs_dir(t, NULL, "", true, NULL);
	rc = g_mkdir_with_parents(dir, 0755) ? -errno : 0;
	if (!rc)
		c->mnt = realpath(dir, NULL);
	if (!rc && !c->mnt)
		rc = -errno;
	if (rc)
		fprintf(stderr, "tp-twin: %s: %s\n", dir, g_strerror(-rc));
	if (!rc)
		rc = twin_gadget_init(t, c->root);
	/* Without FUSE (a container with no /dev/fuse) the board has no
	 * gadget, as with --otg-gadget none: only the tests of the gadget
	 * fail, not every test of the twin. */
	if (!rc && twin_cfs_mount(t, c->mnt))
		fprintf(stderr, "tp-twin: the BMC's USB gadget is not simulated\n");
	g_free(dir);
	return rc;
}

void twin_configfs_stop(struct twin *t)
{
	struct twin_cfs *c = t->cfs;

	if (!c)
		return;
	if (c->src)
		g_source_remove(c->src);
	if (c->se) {
		fuse_session_unmount(c->se);
		fuse_session_destroy(c->se);
	}
	twin_cfs_node_free(t, c->root);
	g_hash_table_destroy(c->inodes);
	free(c->buf->mem);
	g_free(c->buf);
	free(c->mnt);
	g_free(c);
	t->cfs = NULL;
}
