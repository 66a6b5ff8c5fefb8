// SPDX-License-Identifier: MIT
/*
 * The fake root tpkit sees through TPKIT_ROOT: device tree model, EEPROM,
 * regulator state files and the few other files a BMC tool reads
 * (docs/twin.md, "The fake root").
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "twin.h"

#define TWIN_EEPROM_SIZE	256	/* 24C02 */
#define TWIN_BOARD_INFO_SIZE	50

static const char twin_os_release[] =
	"NAME=Buildroot\n"
	"VERSION=2.1.0-twin\n"
	"ID=buildroot\n"
	"VERSION_ID=2024.05.1\n"
	"PRETTY_NAME=\"Buildroot 2024.05.1\"\n";

/* What /proc/meminfo shows on a 128 MiB BMC with cma=8M (hardware.md
 * §10.1): the kernel keeps ~8 MB for itself, and there is no swap. */
static const struct { const char *key; unsigned kb; } twin_meminfo[] = {
	{ "MemTotal:", 120452 },	{ "MemFree:", 61840 },
	{ "MemAvailable:", 84212 },	{ "Buffers:", 2124 },
	{ "Cached:", 26348 },		{ "SwapCached:", 0 },
	{ "Active:", 17356 },		{ "Inactive:", 21520 },
	{ "SwapTotal:", 0 },		{ "SwapFree:", 0 },
	{ "Dirty:", 0 },		{ "Writeback:", 0 },
	{ "AnonPages:", 10412 },	{ "Mapped:", 9964 },
	{ "Shmem:", 252 },		{ "Slab:", 9120 },
	{ "CommitLimit:", 60224 },	{ "Committed_AS:", 41200 },
	{ "CmaTotal:", 8192 },		{ "CmaFree:", 7828 },
};

const char *twin_root_model(struct twin *t)
{
	static const char *const models[] = {
		"Turing Pi 2 (v2.4)", "Turing Pi 2 (v2.5)",
		/* v2.5.2 boots the v2.5.1 DTB (hardware.md §1) */
		"Turing Pi 2 (v2.5.1)", "Turing Pi 2 (v2.5.1)",
	};

	return t->opt.model ? t->opt.model : models[t->opt.rev];
}

static char *twin_root_path(struct twin *t, const char *rel)
{
	return g_build_filename(t->root, rel, NULL);
}

static int twin_root_mkdir(struct twin *t, const char *rel)
{
	char *path = twin_root_path(t, rel);
	int rc = g_mkdir_with_parents(path, 0755) ? -errno : 0;

	if (rc)
		fprintf(stderr, "tp-twin: mkdir %s: %s\n", path, g_strerror(-rc));
	g_free(path);
	return rc;
}

static int twin_root_put(struct twin *t, const char *rel, const void *data,
			 size_t len)
{
	char *path = twin_root_path(t, rel);
	GError *err = NULL;
	int rc = 0;

	if (!g_file_set_contents(path, data, (gssize)len, &err)) {
		fprintf(stderr, "tp-twin: %s\n", err->message);
		g_error_free(err);
		rc = -EIO;
	}
	g_free(path);
	return rc;
}

/* With --root, a previous run may have left a file this run must lack. */
static void twin_root_unlink(struct twin *t, const char *rel)
{
	char *path = twin_root_path(t, rel);

	(void)unlink(path);
	g_free(path);
}

static unsigned twin_root_hw_version(struct twin *t)
{
	static const unsigned codes[] = { 0x1100, 0x1140, 0x1141, 0x1142 };

	if (t->opt.eeprom_code >= 0)
		return (unsigned)t->opt.eeprom_code;
	return codes[t->opt.rev];
}

/* The board-info block as bmcd's board_info reads it (hardware.md §2.3). */
static void twin_root_eeprom_fill(struct twin *t, unsigned char *e)
{
	static const unsigned char mac[6] = { 0x02, 0x74, 0x70, 0x32, 0x00, 0x01 };
	unsigned hw = twin_root_hw_version(t);
	uLong crc;

	memset(e, 0xff, TWIN_EEPROM_SIZE);	/* erased cells */
	memset(e + 0x06, 0, TWIN_BOARD_INFO_SIZE - 0x06);
	e[0x06] = 1;				/* hdr_version, LE */
	e[0x08] = hw & 0xff;			/* hw_version, LE */
	e[0x09] = (hw >> 8) & 0xff;
	/* 0x0A factory_date stays 0: its epoch is unsettled (§2.3). */
	memcpy(e + 0x0c, "TP2TWIN00000001", 15);
	memcpy(e + 0x1c, "Turing Pi 2", 11);
	memcpy(e + 0x2c, mac, sizeof(mac));

	/* bmcd's coverage: 0x06..0x31, stored big-endian at 0x02. */
	crc = crc32(0L, e + 0x06, TWIN_BOARD_INFO_SIZE - 0x06);
	if (t->opt.eeprom == TWIN_EEPROM_BAD_CRC)
		crc ^= 0xffffffffUL;
	e[0x02] = (crc >> 24) & 0xff;
	e[0x03] = (crc >> 16) & 0xff;
	e[0x04] = (crc >> 8) & 0xff;
	e[0x05] = crc & 0xff;
}

static int twin_root_regulators(struct twin *t)
{
	for (unsigned n = 0; n <= TWIN_SLOTS; n++) {
		struct twin_reg *r = &t->board.regs[n];
		char *rel;
		int rc;

		if (!r->exists)
			continue;
		rel = g_build_filename("sys/bus/platform/devices", r->name, NULL);
		r->dir = twin_root_path(t, rel);
		r->path = g_build_filename(r->dir, "state", NULL);
		/* A missing regulator is a device whose driver did not bind:
		 * the directory is there, the state attribute is not. */
		rc = twin_root_mkdir(t, rel);
		g_free(rel);
		if (rc)
			return rc;
		if (!r->present) {
			(void)unlink(r->path);
			continue;
		}
		rc = twin_sysfs_reg_store(t, r);
		if (rc)
			return rc;
	}
	return 0;
}

static int twin_root_proc(struct twin *t)
{
	const char *model = twin_root_model(t);
	GString *mem = g_string_new(NULL);
	int rc;

	rc = twin_root_mkdir(t, "proc/device-tree");
	if (rc)
		goto out;
	if (t->opt.no_model)
		twin_root_unlink(t, "proc/device-tree/model");
	else
		/* DT strings carry their NUL, and tpkit must cope with it. */
		rc = twin_root_put(t, "proc/device-tree/model", model,
				   strlen(model) + 1);
	if (rc)
		goto out;

	/* The kernel's layout: label padded to 16, value right-aligned in 8. */
	for (size_t i = 0; i < G_N_ELEMENTS(twin_meminfo); i++)
		g_string_append_printf(mem, "%-16s%8u kB\n", twin_meminfo[i].key,
				       twin_meminfo[i].kb);
	rc = twin_root_put(t, "proc/meminfo", mem->str, mem->len);
	if (rc)
		goto out;
	/* The kernel of BMC firmware v2.1.0 and master (hardware.md §10.5). */
	rc = twin_root_mkdir(t, "proc/sys/kernel");
	if (rc)
		goto out;
	rc = twin_root_put(t, "proc/sys/kernel/osrelease", "6.8.12\n", 7);
out:
	g_string_free(mem, TRUE);
	return rc;
}

static int twin_root_misc(struct twin *t)
{
	unsigned char eeprom[TWIN_EEPROM_SIZE];
	int rc;

	rc = twin_root_mkdir(t, "sys/bus/i2c/devices/2-0050");
	if (rc)
		return rc;
	if (t->opt.eeprom == TWIN_EEPROM_NONE) {
		twin_root_unlink(t, "sys/bus/i2c/devices/2-0050/eeprom");
	} else {
		twin_root_eeprom_fill(t, eeprom);
		rc = twin_root_put(t, "sys/bus/i2c/devices/2-0050/eeprom",
				   eeprom, sizeof(eeprom));
		if (rc)
			return rc;
	}

	rc = twin_root_mkdir(t, "etc");
	if (!rc)
		rc = twin_root_put(t, "etc/os-release", twin_os_release,
				   strlen(twin_os_release));
	if (!rc)
		rc = twin_root_mkdir(t, "dev");
	/* Plain files; with --node-vm, links to live UARTs (node/console.c). */
	for (unsigned n = 1; !rc && n <= TWIN_SLOTS; n++) {
		char rel[32];

		snprintf(rel, sizeof(rel), "dev/ttyS%u", n);
		rc = twin_root_put(t, rel, "", 0);
	}
	if (!rc)
		rc = twin_root_mkdir(t, "run");
	return rc;
}

int twin_root_build(struct twin *t)
{
	GError *err = NULL;
	int rc;

	if (t->opt.root_dir) {
		t->root = g_canonicalize_filename(t->opt.root_dir, NULL);
		if (g_mkdir_with_parents(t->root, 0755)) {
			rc = -errno;
			fprintf(stderr, "tp-twin: --root %s: %s\n", t->root,
				g_strerror(-rc));
			return rc;
		}
	} else {
		t->root = g_dir_make_tmp("tp-twin-root-XXXXXX", &err);
		if (!t->root) {
			fprintf(stderr, "tp-twin: %s\n", err->message);
			g_error_free(err);
			return -EIO;
		}
		t->root_temp = true;
	}

	rc = twin_root_proc(t);
	if (!rc)
		rc = twin_root_regulators(t);
	if (!rc)
		rc = twin_root_misc(t);
	return rc;
}

static int twin_root_remove_one(const char *path, const struct stat *sb,
				int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	if (remove(path))
		fprintf(stderr, "tp-twin: remove %s: %s\n", path,
			g_strerror(errno));
	return 0;	/* keep going: remove as much as possible */
}

int twin_root_remove(struct twin *t)
{
	if (!t->root || !t->root_temp)
		return 0;
	/* Depth first and without following links: the command may have
	 * left anything in run/, even a link out of the tree. */
	if (nftw(t->root, twin_root_remove_one, 16, FTW_DEPTH | FTW_PHYS))
		return -errno;
	return 0;
}
