// SPDX-License-Identifier: MIT
#include "family.h"
#include "rkrc4.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define SECTOR 512
/* The boot ROM reads the ID block from sector 64 of eMMC/SD (U-Boot's
 * tools/rkcommon.c, "stored at MMC block 64"); on GPT disks this is just
 * past the partition entries (sectors 2-33), so no table overlaps it. */
#define IDB_OFFSET (64 * SECTOR)
#define LEGACY_MAGIC 0x0FF0AA55u

#define MBR_ENTRIES 0x1BE
#define MBR_ENTRY_SIZE 16
#define MBR_TYPE_GPT 0xEE

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void say(char *why, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void say(char *why, size_t size, const char *fmt, ...)
{
	va_list ap;

	if (!why || !size)
		return;
	va_start(ap, fmt);
	vsnprintf(why, size, fmt, ap);
	va_end(ap);
}

/* Name of the ID block header at p (one sector), or NULL if there is none. */
static const char *idblock(const uint8_t *p)
{
	uint8_t hdr[SECTOR];

	/* v2 header (RK3528/RK3568/RK3576/RK3588 loaders): plain magic.
	 * "RRNS" is the other tag Rockchip's own U-Boot accepts
	 * (cmd/rkimgtest.c, "new idb block header tag"). */
	if (!memcmp(p, "RKNS", 4))
		return "RKNS";
	if (!memcmp(p, "RRNS", 4))
		return "RRNS";
	/* Older chips: the whole first sector is RC4-scrambled; a 32-bit
	 * magic after deciphering is a 1 in 4 billion accident. */
	memcpy(hdr, p, sizeof(hdr));
	tp_rk_rc4(hdr, sizeof(hdr));
	if (le32(hdr) == LEGACY_MAGIC)
		return "RC4-scrambled 0x0FF0AA55 header";
	return NULL;
}

static const char *fat_kind(uint8_t type)
{
	switch (type) {
	case 0x0B:
	case 0x0C:
		return "FAT32";
	case 0x06:
	case 0x0E:
		return "FAT16";
	default:
		return NULL;
	}
}

enum tp_family tp_family_detect(const void *head, size_t len, char *why, size_t why_size)
{
	const uint8_t *p = head;
	const uint8_t *e;
	const char *tag, *fat;
	uint32_t start, count;

	say(why, why_size, "unknown");
	if (!p)
		len = 0;
	if (len < IDB_OFFSET + SECTOR) {
		say(why, why_size, "only %zu bytes: too short to reach sector 64", len);
		return TP_FAMILY_UNKNOWN;
	}

	/* The loader decides: a Rockchip disk may carry an MBR with a FAT
	 * first partition too (older Rockchip and Armbian images do). */
	tag = idblock(p + IDB_OFFSET);
	if (tag) {
		say(why, why_size, "Rockchip ID block (%s) at sector 64", tag);
		return TP_FAMILY_ROCKCHIP;
	}

	if (p[510] != 0x55 || p[511] != 0xAA) {
		say(why, why_size, "no partition table and no Rockchip ID block at sector 64");
		return TP_FAMILY_UNKNOWN;
	}
	/* A protective or hybrid MBR means GPT; a Pi image that is GPT is
	 * possible but not told apart from any other GPT disk here. */
	for (int i = 0; i < 4; i++) {
		if (p[MBR_ENTRIES + i * MBR_ENTRY_SIZE + 4] == MBR_TYPE_GPT) {
			say(why, why_size, "GPT%s and no Rockchip ID block at sector 64",
			    memcmp(p + SECTOR, "EFI PART", 8) ? " (protective MBR)" : "");
			return TP_FAMILY_UNKNOWN;
		}
	}
	/* A FAT boot sector (a bare file system, no partitions) ends in 55 AA
	 * as well; boot flags other than 0x00/0x80 mean these 64 bytes are
	 * boot code, not a partition table. */
	for (int i = 0; i < 4; i++) {
		uint8_t flag = p[MBR_ENTRIES + i * MBR_ENTRY_SIZE];

		if (flag != 0x00 && flag != 0x80) {
			say(why, why_size, "sector 0 ends in 55 AA but holds no valid partition table");
			return TP_FAMILY_UNKNOWN;
		}
	}

	e = p + MBR_ENTRIES;
	start = le32(e + 8);
	count = le32(e + 12);
	fat = fat_kind(e[4]);
	/* start 0 is mkfs.fat --mbr's fake table inside a FAT boot sector. */
	if (!fat || !start || !count) {
		say(why, why_size, "MBR whose first partition (type 0x%02x at sector %u) is not FAT",
		    e[4], start);
		return TP_FAMILY_UNKNOWN;
	}
	say(why, why_size,
	    "MBR with a %s partition (type 0x%02x) at sector %u and no Rockchip boot loader", fat,
	    e[4], start);
	return TP_FAMILY_RPI;
}

const char *tp_family_name(enum tp_family f)
{
	switch (f) {
	case TP_FAMILY_ROCKCHIP:
		return "RK1 (Rockchip)";
	case TP_FAMILY_RPI:
		return "Raspberry Pi (CM4)";
	default:
		return "unknown";
	}
}
