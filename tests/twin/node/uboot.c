// SPDX-License-Identifier: MIT
/*
 * The RK1's U-Boot distro boot, as far as a node VM needs it (docs/twin.md,
 * "Nodes that boot"): scan the boot targets in the RK1's order (NVMe
 * before the eMMC), find an extlinux.conf, read its
 * default label and extract that kernel and initrd for QEMU.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <glib.h>

#include "node.h"

/* U-Boot's boot_prefixes, in its order. */
static const char *const twin_extlinux_paths[] = {
	"/extlinux/extlinux.conf", "/boot/extlinux/extlinux.conf",
};

void twin_extlinux_clear(struct twin_extlinux *x)
{
	g_free(x->kernel);
	g_free(x->initrd);
	g_free(x->append);
	g_free(x->label);
	memset(x, 0, sizeof(*x));
}

void twin_boot_clear(struct twin_boot *b)
{
	g_free(b->kernel);
	g_free(b->initrd);
	g_free(b->append);
	memset(b, 0, sizeof(*b));
}

struct twin_label {
	char *name, *kernel, *initrd, *append;
};

static void twin_label_free(gpointer p)
{
	struct twin_label *l = p;

	g_free(l->name);
	g_free(l->kernel);
	g_free(l->initrd);
	g_free(l->append);
	g_free(l);
}

/*
 * The extlinux subset U-Boot's sysboot reads: `default NAME`, `label NAME`
 * and in a label `kernel`/`linux`, `initrd` (the first of a comma list),
 * `append`, `menu default`. Keywords are case-insensitive; `fdt`,
 * `fdtdir`, `devicetree`, `menu ...`, `timeout`, `prompt` and comments are
 * ignored (an x86 VM takes no device tree). The default label is the one
 * `default` or `menu default` named last, else the first.
 */
int twin_extlinux_parse(const char *text, struct twin_extlinux *x,
			char *err, size_t len)
{
	GPtrArray *labels = g_ptr_array_new_with_free_func(twin_label_free);
	char **lines = g_strsplit(text, "\n", -1);
	struct twin_label *cur = NULL, *pick = NULL;
	char *dflt = NULL;
	int rc = 0;

	memset(x, 0, sizeof(*x));
	for (char **lp = lines; *lp; lp++) {
		char *line = g_strstrip(*lp), *arg;
		size_t kw = strcspn(line, " \t");

		if (!*line || *line == '#')
			continue;
		arg = g_strstrip(line + kw + (line[kw] ? 1 : 0));
		line[kw] = '\0';
		if (!strcasecmp(line, "default")) {
			g_free(dflt);
			dflt = g_strdup(arg);
		} else if (!strcasecmp(line, "label")) {
			cur = g_new0(struct twin_label, 1);
			cur->name = g_strdup(arg);
			g_ptr_array_add(labels, cur);
		} else if (!cur) {
			continue;	/* global menu settings */
		} else if (!strcasecmp(line, "kernel") || !strcasecmp(line, "linux")) {
			g_free(cur->kernel);
			cur->kernel = g_strdup(arg);
		} else if (!strcasecmp(line, "initrd")) {
			g_free(cur->initrd);
			cur->initrd = g_strndup(arg, strcspn(arg, ","));
		} else if (!strcasecmp(line, "append")) {
			g_free(cur->append);
			cur->append = g_strdup(arg);
		} else if (!strcasecmp(line, "menu") && !strcasecmp(arg, "default")) {
			g_free(dflt);
			dflt = g_strdup(cur->name);
		}
	}
	for (guint i = 0; i < labels->len && dflt; i++) {
		struct twin_label *l = labels->pdata[i];

		if (!strcmp(l->name, dflt))
			pick = l;
	}
	if (!pick && labels->len)
		pick = labels->pdata[0];
	if (!pick) {
		snprintf(err, len, "no label");
		rc = -ENOENT;
	} else if (!pick->kernel || !*pick->kernel) {
		snprintf(err, len, "label %s has no kernel", pick->name);
		rc = -ENOENT;
	} else {
		x->label = g_strdup(pick->name);
		x->kernel = g_strdup(pick->kernel);
		x->initrd = pick->initrd && *pick->initrd ? g_strdup(pick->initrd) : NULL;
		x->append = g_strdup(pick->append ? pick->append : "");
	}
	g_free(dflt);
	g_strfreev(lines);
	g_ptr_array_free(labels, TRUE);
	return rc;
}

/* sysboot: a path with a leading '/' is from the partition's root, any
 * other from the directory the configuration file is in. */
static char *twin_extlinux_path(const char *conf, const char *file)
{
	char *dir, *p;

	if (file[0] == '/')
		return g_strdup(file);
	dir = g_path_get_dirname(conf);
	p = g_build_filename(dir, file, NULL);
	g_free(dir);
	return p;
}

/* One partition: 0 when it boots, -ENOENT to go on scanning. */
static int twin_uboot_part(const char *img, const struct twin_part *p,
			   const char *name, const char *scratch,
			   struct twin_boot *b)
{
	char err[160];
	char *conf = g_build_filename(scratch, "extlinux.conf", NULL);
	int rc = -ENOENT;

	for (size_t i = 0; i < G_N_ELEMENTS(twin_extlinux_paths); i++) {
		const char *cpath = twin_extlinux_paths[i];
		struct twin_extlinux x;
		char *text = NULL, *src;

		if (twin_disk_copy(img, p, cpath, conf, err, sizeof(err)) ||
		    !g_file_get_contents(conf, &text, NULL, NULL))
			continue;
		rc = twin_extlinux_parse(text, &x, err, sizeof(err));
		g_free(text);
		if (rc) {
			snprintf(b->note, sizeof(b->note), "%s p%u %s: %s", name,
				 p->num, cpath, err);
			break;
		}
		b->kernel = g_build_filename(scratch, "kernel", NULL);
		src = twin_extlinux_path(cpath, x.kernel);
		rc = twin_disk_copy(img, p, src, b->kernel, err, sizeof(err));
		if (rc)
			snprintf(b->note, sizeof(b->note), "%s p%u %s: %s", name,
				 p->num, src, err);
		g_free(src);
		if (!rc && x.initrd) {
			b->initrd = g_build_filename(scratch, "initrd", NULL);
			src = twin_extlinux_path(cpath, x.initrd);
			rc = twin_disk_copy(img, p, src, b->initrd, err, sizeof(err));
			if (rc)
				snprintf(b->note, sizeof(b->note), "%s p%u %s: %s",
					 name, p->num, src, err);
			g_free(src);
		}
		if (!rc) {
			b->append = g_strdup(x.append);
			snprintf(b->note, sizeof(b->note),
				 "extlinux from %s p%u (%s, label %s)", name,
				 p->num, cpath, x.label);
		}
		twin_extlinux_clear(&x);
		if (rc) {
			g_free(b->kernel);
			g_free(b->initrd);
			b->kernel = b->initrd = NULL;
			rc = -ENOENT;	/* sysboot failed: the scan goes on */
		}
		break;
	}
	g_free(conf);
	return rc;
}

/*
 * DEVS[i] (NULL: absent) named NAMES[i], in boot-target order. In each,
 * the partitions flagged bootable in order, or, when none is, every
 * partition in order (docs/twin.md, "Nodes that boot", says where this
 * differs from U-Boot). 0 and B filled, or -ENOENT with B->note saying why.
 */
int twin_uboot_scan(const char *const *devs, const char *const *names,
		    const char *scratch, struct twin_boot *b)
{
	char tried[96] = "", why[128] = "";

	memset(b, 0, sizeof(*b));
	for (size_t d = 0; devs[d] || names[d]; d++) {
		struct twin_part parts[TWIN_NODE_MAX_PARTS];
		const char *table;
		unsigned n, flagged = 0;
		bool found = false;

		if (!devs[d])
			continue;
		if (twin_disk_parts(devs[d], parts, TWIN_NODE_MAX_PARTS, &n, &table) || !table) {
			g_strlcat(tried, tried[0] ? ", " : "", sizeof(tried));
			g_strlcat(tried, names[d], sizeof(tried));
			g_strlcat(tried, " (no partition table)", sizeof(tried));
			continue;
		}
		for (unsigned i = 0; i < n; i++)
			flagged += parts[i].bootable;
		for (unsigned i = 0; i < n; i++) {
			if (flagged && !parts[i].bootable)
				continue;
			b->note[0] = '\0';
			if (!twin_uboot_part(devs[d], &parts[i], names[d], scratch, b)) {
				b->dev = names[d];
				return 0;
			}
			if (b->note[0]) {	/* sysboot failed; U-Boot goes on */
				g_strlcpy(why, b->note, sizeof(why));
				found = true;
			}
		}
		g_strlcat(tried, tried[0] ? ", " : "", sizeof(tried));
		g_strlcat(tried, names[d], sizeof(tried));
		g_strlcat(tried, found ? " (extlinux.conf failed)" : " (no extlinux.conf)",
			  sizeof(tried));
	}
	if (why[0]) {
		snprintf(b->note, sizeof(b->note), "no bootable device: %s", why);
		return -ENOENT;
	}
	snprintf(b->note, sizeof(b->note), "no bootable device: %s",
		 tried[0] ? tried : "no disk");
	return -ENOENT;
}
