// SPDX-License-Identifier: MIT
/*
 * The CM4's EEPROM boot, as far as a node VM needs it (docs/twin.md,
 * "Nodes that boot"): the first FAT partition of the eMMC's MBR is the
 * boot partition (Ubuntu's `system-boot`); config.txt names the kernel and
 * the initramfs, cmdline.txt holds the kernel's command line.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <glib.h>

#include "node.h"

/* Conditional sections that hold on a CM4; others ([pi3], [pi5], [cm5],
 * [none], ...) are skipped until the next section. */
static bool twin_rpi_section(const char *s)
{
	return !strcasecmp(s, "[all]") || !strcasecmp(s, "[pi4]") ||
	       !strcasecmp(s, "[cm4]");
}

/*
 * config.txt: `kernel=FILE` (default here: vmlinuz, the twin's choice for
 * an x86 node; the real EEPROM wants kernel8.img on a 64-bit CM4),
 * `initramfs FILE [followkernel]` and `cmdline=FILE` (default
 * cmdline.txt). The last setting wins. `include` is not followed.
 */
int twin_rpi_config(const char *text, char **kernel, char **initramfs)
{
	char **lines = g_strsplit(text ? text : "", "\n", -1);
	bool on = true;

	*kernel = g_strdup("vmlinuz");
	*initramfs = NULL;
	for (char **lp = lines; *lp; lp++) {
		char *line = g_strstrip(*lp);

		if (!*line || *line == '#')
			continue;
		if (*line == '[') {
			on = twin_rpi_section(line);
			continue;
		}
		if (!on)
			continue;
		if (!strncasecmp(line, "kernel=", 7)) {
			g_free(*kernel);
			*kernel = g_strdup(g_strstrip(line + 7));
		} else if (!strncasecmp(line, "initramfs", 9) &&
			   (line[9] == ' ' || line[9] == '\t')) {
			char *arg = g_strstrip(line + 10);

			g_free(*initramfs);
			*initramfs = g_strndup(arg, strcspn(arg, " \t"));
		}
	}
	g_strfreev(lines);
	return 0;
}

int twin_rpi_scan(const char *img, const char *scratch, struct twin_boot *b)
{
	struct twin_part parts[TWIN_NODE_MAX_PARTS], *boot = NULL;
	const char *table;
	char err[160];
	char *cfg = g_build_filename(scratch, "config.txt", NULL);
	char *cmd = g_build_filename(scratch, "cmdline.txt", NULL);
	char *text = NULL, *kernel = NULL, *initramfs = NULL;
	unsigned n;
	int rc;

	memset(b, 0, sizeof(*b));
	rc = twin_disk_parts(img, parts, TWIN_NODE_MAX_PARTS, &n, &table);
	if (rc || !table || strcmp(table, "MBR")) {
		snprintf(b->note, sizeof(b->note), "no bootable device: %s",
			 table ? "not an MBR" : "no partition table");
		rc = -ENOENT;
		goto out;
	}
	for (unsigned i = 0; i < n && !boot; i++)
		if (twin_disk_fs(img, &parts[i]) == TWIN_FS_FAT)
			boot = &parts[i];
	if (!boot) {
		snprintf(b->note, sizeof(b->note), "no bootable device: no FAT partition");
		rc = -ENOENT;
		goto out;
	}
	/* A missing config.txt leaves the defaults. */
	if (!twin_disk_copy(img, boot, "/config.txt", cfg, err, sizeof(err)))
		g_file_get_contents(cfg, &text, NULL, NULL);
	twin_rpi_config(text, &kernel, &initramfs);
	g_free(text);
	text = NULL;
	b->kernel = g_build_filename(scratch, "kernel", NULL);
	rc = twin_disk_copy(img, boot, kernel, b->kernel, err, sizeof(err));
	if (!rc && initramfs) {
		b->initrd = g_build_filename(scratch, "initrd", NULL);
		rc = twin_disk_copy(img, boot, initramfs, b->initrd, err, sizeof(err));
	}
	if (!rc)
		rc = twin_disk_copy(img, boot, "/cmdline.txt", cmd, err, sizeof(err));
	if (!rc && !g_file_get_contents(cmd, &text, NULL, NULL))
		rc = -EIO;
	if (rc) {
		twin_boot_clear(b);
		snprintf(b->note, sizeof(b->note), "no bootable device: p%u: %s",
			 boot->num, err);
		rc = -ENOENT;
		goto out;
	}
	/* The firmware passes the first line. */
	text[strcspn(text, "\r\n")] = '\0';
	b->append = g_strdup(g_strstrip(text));
	b->dev = "emmc";
	snprintf(b->note, sizeof(b->note), "config.txt from emmc p%u (kernel %s%s%s)",
		 boot->num, kernel, initramfs ? ", initramfs " : "",
		 initramfs ? initramfs : "");
out:
	g_free(text);
	g_free(kernel);
	g_free(initramfs);
	g_free(cfg);
	g_free(cmd);
	return rc;
}
