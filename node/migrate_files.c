// SPDX-License-Identifier: MIT
/*
 * The migration's pure parts (docs/node-helper.md §15): the NVMe root's
 * fstab and /etc/default/u-boot rewritten for its new UUID, a GUID read
 * back from its text, an ext4 label read from a superblock. No file is
 * read or written here, so the unit tests pin them byte for byte.
 */
#include "node/migrate.h"

#include "common/err.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* tp_migrate_put() (migrate_plan.c), naming what overflows. */
#define put(out, size, len, ...) tp_migrate_put(out, size, len, "the new file", __VA_ARGS__)

static bool listed(const char *word, size_t n, const char *const *names)
{
	for (; names && *names; names++)
		if (**names && strlen(*names) == n && !strncmp(word, *names, n))
			return true;
	return false;
}

int tp_migrate_fstab(const char *in, const char *root_uuid, const char *const *seed_names,
		     char *out, size_t size)
{
	size_t len = 0;
	bool root = false;
	int rc;

	if (size)
		out[0] = '\0';
	for (const char *line = in; *line;) {
		const char *nl = strchr(line, '\n'), *end = nl ? nl : line + strlen(line);
		const char *spec = line + strspn(line, " \t"), *spec_end, *file, *file_end;
		int n = (int)(end - line);

		spec_end = spec + strcspn(spec, " \t\n");
		file = spec_end + strspn(spec_end, " \t");
		file_end = file + strcspn(file, " \t\n");
		if (spec_end > end)
			spec_end = end;
		/* fstab(5): '#' starts a comment line; fields are separated by
		 * blanks. Only the first field is replaced, the rest kept. */
		if (*spec == '#' || spec >= end) {
			rc = put(out, size, &len, "%.*s%s", n, line, nl ? "\n" : "");
		} else if (file_end - file == 1 && *file == '/' && file < end) {
			root = true;
			rc = put(out, size, &len, "UUID=%s%.*s%s", root_uuid, (int)(end - spec_end),
				 spec_end, nl ? "\n" : "");
		} else if (listed(spec, (size_t)(spec_end - spec), seed_names)) {
			/* Nothing to mount any more: a missing device in fstab
			 * would stop the boot in emergency mode. */
			rc = put(out, size, &len, "# %s %.*s%s", TP_MIGRATE_FSTAB_OFF, n, line,
				 nl ? "\n" : "");
		} else {
			rc = put(out, size, &len, "%.*s%s", n, line, nl ? "\n" : "");
		}
		if (rc < 0)
			return rc;
		line = nl ? nl + 1 : end;
	}
	/* Without a line for "/", systemd would remount the root by what the
	 * kernel's root= says only; the images always have one (nodeimg.md §3). */
	if (!root)
		return tp_err_set(-EINVAL, "fstab has no line that mounts /");
	return 0;
}

int tp_migrate_uboot_default(const char *in, const char *root_uuid, char *out, size_t size)
{
	size_t len = 0;
	bool set = false;
	int rc;

	if (size)
		out[0] = '\0';
	for (const char *line = in; *line;) {
		const char *nl = strchr(line, '\n'), *end = nl ? nl : line + strlen(line);
		const char *p = line + strspn(line, " \t");

		/* u-boot-update sources this file (a shell fragment) and takes
		 * U_BOOT_ROOT before /etc/kernel/cmdline, fstab or /proc/cmdline
		 * (docs/node-helper.md §15). */
		if (!strncmp(p, "U_BOOT_ROOT=", 12) || !strncmp(p, "export U_BOOT_ROOT=", 19)) {
			rc = put(out, size, &len, "U_BOOT_ROOT=\"root=UUID=%s\"\n", root_uuid);
			set = true;
		} else {
			rc = put(out, size, &len, "%.*s\n", (int)(end - line), line);
		}
		if (rc < 0)
			return rc;
		line = nl ? nl + 1 : end;
	}
	if (!set)
		return put(out, size, &len, "U_BOOT_ROOT=\"root=UUID=%s\"\n", root_uuid);
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int tp_guid_parse(const char *text, uint8_t g[16])
{
	/* Text order of the bytes: the first three fields are stored little
	 * endian (UEFI), the last two as written. */
	static const int at[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15 };
	const char *p = text;

	if (strlen(text) != 36)
		return tp_err_set(-EINVAL, "not a GUID: %s", text);
	for (int i = 0; i < 16; i++) {
		int hi, lo;

		if (i == 4 || i == 6 || i == 8 || i == 10) {
			if (*p != '-')
				return tp_err_set(-EINVAL, "not a GUID: %s", text);
			p++;
		}
		hi = hexval(p[0]);
		lo = hexval(p[1]);
		if (hi < 0 || lo < 0)
			return tp_err_set(-EINVAL, "not a GUID: %s", text);
		g[at[i]] = (uint8_t)(hi << 4 | lo);
		p += 2;
	}
	return 0;
}

int tp_ext4_label(const uint8_t sb[1024], char label[17])
{
	/* The superblock's s_magic (le16 at 0x38) is 0xEF53, s_volume_name
	 * 16 bytes at 0x78, NUL-padded (ext4 on-disk layout). */
	if (sb[0x38] != 0x53 || sb[0x39] != 0xef)
		return -EINVAL;
	memcpy(label, sb + 0x78, 16);
	label[16] = '\0';
	return 0;
}
