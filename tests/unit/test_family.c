// SPDX-License-Identifier: MIT
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "common/family.h"
#include "common/image.h"

#define HEAD TP_IMAGE_HEAD_SIZE
#define IDB (64 * 512)

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void mbr_entry(uint8_t *img, int i, uint8_t flag, uint8_t type, uint32_t start,
		      uint32_t count)
{
	uint8_t *e = img + 0x1BE + 16 * i;

	e[0] = flag;
	e[4] = type;
	put32(e + 8, start);
	put32(e + 12, count);
	img[510] = 0x55;
	img[511] = 0xAA;
}

/* A GPT disk as ubuntu-rockchip's build-image.sh leaves it: protective MBR,
 * "EFI PART" header at LBA 1, entries from LBA 2. */
static uint8_t *gpt_disk(void)
{
	uint8_t *img = calloc(1, HEAD);

	assert_non_null(img);
	mbr_entry(img, 0, 0x00, 0xEE, 1, 0xFFFFFFFFu);
	memcpy(img + 512, "EFI PART", 8);
	put32(img + 512 + 8, 0x00010000);
	return img;
}

/* Ubuntu raspi: p1 FAT32 LBA "system-boot" at 2048 (512 MiB), p2 ext4 at
 * 1050624 (commissioning.md §3.3). */
static uint8_t *raspi_disk(void)
{
	uint8_t *img = calloc(1, HEAD);

	assert_non_null(img);
	put32(img + 0x1B8, 0x4EC8EA38); /* disk signature: any */
	mbr_entry(img, 0, 0x80, 0x0C, 2048, 1048576);
	mbr_entry(img, 1, 0x00, 0x83, 1050624, 6000000);
	return img;
}

/* The v1 header as a loader writes it: 0x0FF0AA55 little-endian, RC4'd
 * with Rockchip's key. Its first word is then 0xFCDC8C3B, the value
 * Rockchip's U-Boot (cmd/rkimgtest.c) and barebox (RK_SIGNATURE_RC4) look
 * for: known ciphertext, so this does not test the cipher with itself. */
static void legacy_idb(uint8_t *img)
{
	put32(img + IDB, 0xFCDC8C3Bu);
	/* The rest deciphers to init_offset etc.; detection ignores it. */
	for (int i = 4; i < 512; i++)
		img[IDB + i] = (uint8_t)(i * 7);
}

static enum tp_family detect(const uint8_t *img, size_t len, char *why, size_t size)
{
	memset(why, 'x', size);
	return tp_family_detect(img, len, why, size);
}

static void rkns_on_gpt(void **state)
{
	uint8_t *img = gpt_disk();
	char why[128];

	(void)state;
	memcpy(img + IDB, "RKNS", 4);
	put32(img + IDB + 8, (2u << 16) + 384);
	assert_int_equal(detect(img, HEAD, why, sizeof(why)), TP_FAMILY_ROCKCHIP);
	assert_string_equal(why, "Rockchip ID block (RKNS) at sector 64");
	memcpy(img + IDB, "RRNS", 4);
	assert_int_equal(detect(img, HEAD, why, sizeof(why)), TP_FAMILY_ROCKCHIP);
	assert_string_equal(why, "Rockchip ID block (RRNS) at sector 64");
	/* Only sector 64 counts: the same magic elsewhere is data. */
	memset(img + IDB, 0, 4);
	memcpy(img + IDB + 512, "RKNS", 4);
	memcpy(img + 0, "RKNS", 4);
	assert_int_equal(detect(img, HEAD, why, sizeof(why)), TP_FAMILY_UNKNOWN);
	free(img);
}

static void legacy_rc4(void **state)
{
	uint8_t *img = gpt_disk();
	char why[128];

	(void)state;
	legacy_idb(img);
	assert_int_equal(detect(img, HEAD, why, sizeof(why)), TP_FAMILY_ROCKCHIP);
	assert_string_equal(why, "Rockchip ID block (RC4-scrambled 0x0FF0AA55 header) at sector 64");
	/* The magic in clear is not a header: the ROM only reads it RC4'd. */
	put32(img + IDB, 0x0FF0AA55u);
	assert_int_equal(detect(img, HEAD, why, sizeof(why)), TP_FAMILY_UNKNOWN);
	free(img);
}

static void rockchip_wins_over_fat_mbr(void **state)
{
	uint8_t *img = raspi_disk();
	char why[128];

	(void)state;
	/* Armbian-style: MBR with a FAT p1, loader at sector 64. */
	legacy_idb(img);
	assert_int_equal(detect(img, HEAD, why, sizeof(why)), TP_FAMILY_ROCKCHIP);
	memset(img + IDB, 0, 512);
	memcpy(img + IDB, "RKNS", 4);
	assert_int_equal(detect(img, HEAD, why, sizeof(why)), TP_FAMILY_ROCKCHIP);
	free(img);
}

static void raspi_mbr(void **state)
{
	uint8_t *img = raspi_disk();
	char why[128];

	(void)state;
	assert_int_equal(detect(img, HEAD, why, sizeof(why)), TP_FAMILY_RPI);
	assert_string_equal(why, "MBR with a FAT32 partition (type 0x0c) at sector 2048 "
				 "and no Rockchip boot loader");
	/* Raspberry Pi OS: p1 at 8192, not bootable. */
	mbr_entry(img, 0, 0x00, 0x0C, 8192, 1048576);
	assert_int_equal(detect(img, HEAD, why, sizeof(why)), TP_FAMILY_RPI);
	static const uint8_t fat[] = { 0x0B, 0x0C, 0x0E, 0x06 };
	for (size_t i = 0; i < sizeof(fat); i++) {
		mbr_entry(img, 0, 0x80, fat[i], 2048, 1048576);
		assert_int_equal(detect(img, HEAD, why, sizeof(why)), TP_FAMILY_RPI);
	}
	free(img);
}

static void mbr_not_fat(void **state)
{
	uint8_t *img = raspi_disk();
	char why[128];

	(void)state;
	mbr_entry(img, 0, 0x00, 0x83, 2048, 1048576);
	assert_int_equal(detect(img, HEAD, why, sizeof(why)), TP_FAMILY_UNKNOWN);
	assert_string_equal(why, "MBR whose first partition (type 0x83 at sector 2048) is not FAT");
	/* FAT, but only as the second partition. */
	mbr_entry(img, 1, 0x00, 0x0C, 1050624, 2048);
	assert_int_equal(detect(img, HEAD, why, sizeof(why)), TP_FAMILY_UNKNOWN);
	/* Empty first entry. */
	mbr_entry(img, 0, 0x00, 0x00, 0, 0);
	assert_int_equal(detect(img, HEAD, why, sizeof(why)), TP_FAMILY_UNKNOWN);
	free(img);
}

static void gpt_without_idblock(void **state)
{
	uint8_t *img = gpt_disk();
	char why[128];

	(void)state;
	assert_int_equal(detect(img, HEAD, why, sizeof(why)), TP_FAMILY_UNKNOWN);
	assert_string_equal(why, "GPT and no Rockchip ID block at sector 64");
	free(img);
}

static void protective_mbr(void **state)
{
	uint8_t *img = calloc(1, HEAD);
	char why[128];

	(void)state;
	assert_non_null(img);
	/* 0xEE without a GPT header behind it is still not an MBR disk. */
	mbr_entry(img, 0, 0x00, 0xEE, 1, 0xFFFFFFFFu);
	assert_int_equal(detect(img, HEAD, why, sizeof(why)), TP_FAMILY_UNKNOWN);
	assert_string_equal(why, "GPT (protective MBR) and no Rockchip ID block at sector 64");
	/* Hybrid MBR: a FAT entry first, 0xEE after it. It is GPT. */
	memset(img, 0, 512);
	mbr_entry(img, 0, 0x80, 0x0C, 2048, 1048576);
	mbr_entry(img, 1, 0x00, 0xEE, 1, 2047);
	memcpy(img + 512, "EFI PART", 8);
	assert_int_equal(detect(img, HEAD, why, sizeof(why)), TP_FAMILY_UNKNOWN);
	assert_string_equal(why, "GPT and no Rockchip ID block at sector 64");
	free(img);
}

static void fat_boot_sector(void **state)
{
	uint8_t *img = calloc(1, HEAD);
	char why[128];

	(void)state;
	assert_non_null(img);
	/* A bare FAT file system: boot code runs into the table area. */
	img[0] = 0xEB, img[1] = 0x58, img[2] = 0x90;
	memcpy(img + 3, "mkfs.fat", 8);
	for (int i = 0x5A; i < 510; i++)
		img[i] = (uint8_t)(0x21 + i % 90);
	img[510] = 0x55, img[511] = 0xAA;
	assert_int_equal(detect(img, HEAD, why, sizeof(why)), TP_FAMILY_UNKNOWN);
	assert_string_equal(why, "sector 0 ends in 55 AA but holds no valid partition table");
	/* mkfs.fat --mbr: a fake table whose FAT entry starts at sector 0. */
	memset(img + 0x1BE, 0, 64);
	mbr_entry(img, 0, 0x00, 0x0C, 0, 65536);
	assert_int_equal(detect(img, HEAD, why, sizeof(why)), TP_FAMILY_UNKNOWN);
	free(img);
}

static void random_bytes(void **state)
{
	uint8_t *img = malloc(HEAD);
	char why[128];
	uint32_t x = 2463534242u;

	(void)state;
	assert_non_null(img);
	for (int seed = 0; seed < 8; seed++) {
		for (size_t i = 0; i < HEAD; i++) {
			x ^= x << 13, x ^= x >> 17, x ^= x << 5; /* xorshift32 */
			img[i] = (uint8_t)x;
		}
		assert_int_equal(detect(img, HEAD, why, sizeof(why)), TP_FAMILY_UNKNOWN);
		/* Even with a boot signature the "table" is noise. */
		img[510] = 0x55, img[511] = 0xAA;
		assert_int_equal(detect(img, HEAD, why, sizeof(why)), TP_FAMILY_UNKNOWN);
	}
	free(img);
}

static void too_short(void **state)
{
	uint8_t *img = raspi_disk();
	char why[128];

	(void)state;
	assert_int_equal(detect(NULL, HEAD, why, sizeof(why)), TP_FAMILY_UNKNOWN);
	assert_string_equal(why, "only 0 bytes: too short to reach sector 64");
	assert_int_equal(detect(img, 0, why, sizeof(why)), TP_FAMILY_UNKNOWN);
	assert_int_equal(detect(img, 511, why, sizeof(why)), TP_FAMILY_UNKNOWN);
	/* A whole MBR but no sight of sector 64: do not guess "no loader". */
	assert_int_equal(detect(img, 512, why, sizeof(why)), TP_FAMILY_UNKNOWN);
	assert_string_equal(why, "only 512 bytes: too short to reach sector 64");
	assert_int_equal(detect(img, IDB + 511, why, sizeof(why)), TP_FAMILY_UNKNOWN);
	/* Exactly through sector 64 is enough. */
	assert_int_equal(detect(img, IDB + 512, why, sizeof(why)), TP_FAMILY_RPI);
	memcpy(img + IDB, "RKNS", 4);
	assert_int_equal(detect(img, IDB + 512, why, sizeof(why)), TP_FAMILY_ROCKCHIP);
	assert_int_equal(detect(img, IDB + 3, why, sizeof(why)), TP_FAMILY_UNKNOWN);
	free(img);
}

static void why_optional_and_truncated(void **state)
{
	uint8_t *img = raspi_disk();
	char why[8];

	(void)state;
	assert_int_equal(tp_family_detect(img, HEAD, NULL, 0), TP_FAMILY_RPI);
	assert_int_equal(tp_family_detect(img, HEAD, NULL, 100), TP_FAMILY_RPI);
	memset(why, 'x', sizeof(why));
	assert_int_equal(tp_family_detect(img, HEAD, why, 0), TP_FAMILY_RPI);
	assert_int_equal(why[0], 'x'); /* size 0: untouched */
	assert_int_equal(detect(img, HEAD, why, sizeof(why)), TP_FAMILY_RPI);
	assert_string_equal(why, "MBR wit");
	free(img);
}

static void names(void **state)
{
	(void)state;
	assert_string_equal(tp_family_name(TP_FAMILY_ROCKCHIP), "RK1 (Rockchip)");
	assert_string_equal(tp_family_name(TP_FAMILY_RPI), "Raspberry Pi (CM4)");
	assert_string_equal(tp_family_name(TP_FAMILY_UNKNOWN), "unknown");
	assert_string_equal(tp_family_name((enum tp_family)42), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rkns_on_gpt),
		cmocka_unit_test(legacy_rc4),
		cmocka_unit_test(rockchip_wins_over_fat_mbr),
		cmocka_unit_test(raspi_mbr),
		cmocka_unit_test(mbr_not_fat),
		cmocka_unit_test(gpt_without_idblock),
		cmocka_unit_test(protective_mbr),
		cmocka_unit_test(fat_boot_sector),
		cmocka_unit_test(random_bytes),
		cmocka_unit_test(too_short),
		cmocka_unit_test(why_optional_and_truncated),
		cmocka_unit_test(names),
	};

	return cmocka_run_group_tests_name("family", tests, NULL, NULL);
}
