// SPDX-License-Identifier: MIT
/*
 * The mass-storage function's LUNs in the BMC's gadget configfs, as Linux
 * 6.8 answers them (function/f_mass_storage.c, storage_common.c): the
 * backing file a LUN opens, how it is found from the BMC's view, and its
 * attributes. A medium going in or out is a `lun` event (docs/twin.md,
 * "The BMC's USB gadget (configfs)").
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <umockdev.h>

#include "twin_configfs.h"
#include "twin_usb.h"

#define LUN_MAX			16	/* FSG_MAX_LUNS */

/* The kernel answers a backing file under one sector with ETOOSMALL (525,
 * include/linux/errno.h), but FUSE carries no errno from 512 up (they are
 * the kernel's own restart codes): the twin answers ENOSPC instead. */
#define LUN_ETOOSMALL	ENOSPC

/* A LUN's open backing file (struct fsg_lun's filp and what it learnt). */
struct lun {
	int fd;
	bool ro;		/* as opened: read-only when it could not write */
};

static void lun_free(gpointer p)
{
	struct lun *l = p;

	if (l->fd >= 0)
		close(l->fd);
	g_free(l);
}

/* "mass_storage.0/lun.0" */
static char *lun_subject(struct twin_cfs_node *lun)
{
	return g_strdup_printf("%s/%s", lun->parent->name, lun->name);
}

/* fsg_lun_close, with its event. */
void twin_lun_close(struct twin *t, struct twin_cfs_node *lun)
{
	struct lun *l = lun->obj;
	char *subject;

	if (l->fd < 0)
		return;
	close(l->fd);
	l->fd = -1;
	subject = lun_subject(lun);
	twin_timeline_add(t, "lun", subject, twin_cfs_get(lun, "file"), "none", NULL);
	twin_cfs_set(lun, "file", "");
	g_free(subject);
}

/*
 * Where the BMC kernel would find PATH: /dev is the testbed's (a CM4's
 * disk is /dev/sdX there, twin_msd.c), other absolute paths lie under the
 * fake root, relative ones in the writer's cwd (filp_open runs in its
 * context).
 */
static char *lun_host_path(struct twin *t, const char *path)
{
	char *tb, *cwd, *p;

	if (!strncmp(path, "/dev/", 5) && t->usb) {
		tb = umockdev_testbed_get_root_dir(t->usb->testbed);
		p = g_build_filename(tb, path, NULL);
		g_free(tb);
		return p;
	}
	if (path[0] == '/')
		return g_build_filename(t->root, path, NULL);
	cwd = twin_cfs_caller_cwd(t);
	p = g_build_filename(cwd ? cwd : "/", path, NULL);
	g_free(cwd);
	return p;
}

/* umockdev keeps its device nodes as plain files, marked in dev/.node/
 * (its name, '/' as '_'); the CM4 disks are links to their eMMC files
 * instead (twin_msd.c), so a marked file that is no link is a character
 * device, a USB device's usbfs node. */
static bool lun_testbed_chardev(struct twin *t, const char *path, const char *host)
{
	char *tb, *name, *mark;
	struct stat st;
	bool chr;

	if (strncmp(path, "/dev/", 5) || !t->usb || lstat(host, &st) || S_ISLNK(st.st_mode))
		return false;
	tb = umockdev_testbed_get_root_dir(t->usb->testbed);
	name = g_strdelimit(g_strdup(path + 5), "/", '_');
	mark = g_build_filename(tb, "dev/.node", name, NULL);
	chr = !lstat(mark, &st);
	g_free(mark);
	g_free(name);
	g_free(tb);
	return chr;
}

/* fsg_lun_open: O_RDWR unless ro, falling back to read-only on EROFS or
 * EACCES; a regular file or a block device of at least one sector. */
static int lun_open(struct twin *t, struct twin_cfs_node *lun, const char *path)
{
	struct lun *l = lun->obj;
	bool cdrom = !strcmp(twin_cfs_get(lun, "cdrom"), "1");
	bool ro = !strcmp(twin_cfs_get(lun, "ro"), "1");
	char *host = lun_host_path(t, path);
	char *subject, note[64];
	struct stat st;
	uint64_t sectors;
	int fd = -1, rc = 0;
	off_t size;

	/* The twin cannot open its own mount from its loop: a LUN backed by
	 * a configfs attribute has no use anyway. */
	if (twin_cfs_in_mount(t, host)) {
		twin_gadget_refuse(t, lun, "file %s: a configfs file as a backing file", path);
		rc = -EINVAL;
		goto out;
	}
	if (!ro) {
		fd = open(host, O_RDWR | O_CLOEXEC);
		if (fd < 0 && errno != EROFS && errno != EACCES) {
			rc = -errno;
			goto out;
		}
		ro = fd < 0;
	}
	if (fd < 0 && (fd = open(host, O_RDONLY | O_CLOEXEC)) < 0) {
		rc = -errno;
		goto out;
	}
	if (fstat(fd, &st) || (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) ||
	    lun_testbed_chardev(t, path, host)) {
		twin_gadget_refuse(t, lun, "file %s: neither a regular file nor a block device", path);
		rc = -EINVAL;
		goto out;
	}
	size = lseek(fd, 0, SEEK_END);
	sectors = size > 0 ? (uint64_t)size >> (cdrom ? 11 : 9) : 0;
	if (sectors < (cdrom ? 300u : 1u)) {	/* the smallest CD track */
		rc = -LUN_ETOOSMALL;
		goto out;
	}
	subject = lun_subject(lun);
	snprintf(note, sizeof(note), "%" PRIu64 " sectors%s", sectors, ro ? ", read-only" : "");
	twin_timeline_add(t, "lun", subject, l->fd >= 0 ? twin_cfs_get(lun, "file") : "none",
			  path, note);
	g_free(subject);
	if (l->fd >= 0)
		close(l->fd);
	l->fd = fd;
	l->ro = ro;
	fd = -1;
out:
	if (rc == -EISDIR)	/* O_RDWR of a directory */
		twin_gadget_refuse(t, lun, "file %s: a directory", path);
	if (fd >= 0)
		close(fd);
	g_free(host);
	return rc;
}

/* fsg_store_file: a name opens (replacing any), nothing ejects. */
static int lun_file(struct twin *t, struct twin_cfs_node *lun, const char *val)
{
	if (*val)
		return lun_open(t, lun, val);
	twin_lun_close(t, lun);
	return 0;
}

static int lun_forced_eject(struct twin *t, struct twin_cfs_node *lun, const char *val)
{
	(void)val;
	twin_lun_close(t, lun);
	return 0;
}

/* ro and cdrom: no change while a medium is in (fsg_store_ro, _cdrom). */
static int lun_closed(struct twin *t, struct twin_cfs_node *lun, const char *val)
{
	(void)t;
	(void)val;
	return ((struct lun *)lun->obj)->fd >= 0 ? -EBUSY : 0;
}

/* fsg_show_ro: as opened while open, else as asked. */
static void lun_show_ro(struct twin *t, struct twin_cfs_node *lun,
			       struct twin_cfs_node *attr, GString *out)
{
	struct lun *l = lun->obj;

	(void)t;
	g_string_append_printf(out, "%s\n", l->fd >= 0 ? (l->ro ? "1" : "0") : attr->value);
}

/* fsg_store_inquiry_string: 28 characters, space padded, a "\n" a space. */
static int lun_inquiry(struct twin *t, struct twin_cfs_node *lun, const char *val)
{
	char buf[29];
	size_t len = MIN(strlen(val), sizeof(buf));

	(void)t;
	if (!len || val[0] == '\n') {
		twin_cfs_set(lun, "inquiry_string", "");
		return 1;
	}
	snprintf(buf, sizeof(buf), "%-28s", val);
	if (buf[len - 1] == '\n')
		buf[len - 1] = ' ';
	twin_cfs_set(lun, "inquiry_string", buf);
	return 1;	/* set here */
}

static const struct twin_cfs_attr lun_attrs[] = {
	{ "file", 0644, TWIN_CFS_STR, NULL, lun_file, NULL },
	{ "ro", 0644, TWIN_CFS_BOOL, "0", lun_closed, lun_show_ro },
	{ "removable", 0644, TWIN_CFS_BOOL, "1", NULL, NULL },
	{ "cdrom", 0644, TWIN_CFS_BOOL, "0", lun_closed, NULL },
	{ "nofua", 0644, TWIN_CFS_BOOL, "0", NULL, NULL },
	{ "inquiry_string", 0644, TWIN_CFS_RAW, NULL, lun_inquiry, NULL },
	{ "forced_eject", 0200, TWIN_CFS_RAW, NULL, lun_forced_eject, NULL },
	{ NULL },
};

void twin_lun_new(struct twin *t, struct twin_cfs_node *func, const char *name,
			   bool is_default)
{
	struct twin_cfs_node *lun = twin_cfs_dir(t, func, name, is_default, NULL);
	struct lun *l = g_new0(struct lun, 1);

	l->fd = -1;
	lun->obj = l;
	lun->obj_free = lun_free;
	twin_cfs_attrs(t, lun, lun_attrs);
}

/* fsg_lun_make: "lun.N", N below FSG_MAX_LUNS and free, and not while a
 * configuration uses the function. */
static int lun_make(struct twin *t, struct twin_cfs_node *func, const char *name)
{
	const char *dot = strchr(name, '.');
	unsigned long n, o;

	/* The kernel reads the number after the '.' only. */
	if (!dot || !twin_gadget_u8(dot + 1, &n)) {
		twin_gadget_refuse(t, func, "mkdir %s: not lun.N", name);
		return -EINVAL;
	}
	if (n >= LUN_MAX) {
		twin_gadget_refuse(t, func, "mkdir %s: at most %u LUNs", name, LUN_MAX);
		return -ERANGE;
	}
	if (func->links)
		return -EBUSY;
	for (guint i = 0; i < func->children->len; i++) {
		struct twin_cfs_node *c = g_ptr_array_index(func->children, i);

		if (c->kind == TWIN_CFS_DIR && twin_gadget_u8(strchr(c->name, '.') + 1, &o) && o == n)
			return -EBUSY;
	}
	twin_lun_new(t, func, name, false);
	return 0;
}

/* fsg_lun_drop: a LUN of a function in use unbinds its gadget first. */
static void lun_drop(struct twin *t, struct twin_cfs_node *lun)
{
	if (lun->parent->links)
		twin_gadget_unbind(t, twin_gadget_of(lun));
	twin_lun_close(t, lun);
}

const struct twin_cfs_ops twin_lun_ops = {
	.make = lun_make,
	.drop = lun_drop,
};

