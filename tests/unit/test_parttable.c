// SPDX-License-Identifier: MIT
/*
 * Partition tables made by util-linux's sfdisk (a real, independent writer
 * of both formats), laid out like the RK1 and CM4 images (docs/seeding.md
 * §1), then parsed, corrupted and parsed again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/parttable.h"

#define MIB (1024u * 1024u)
#define DISK (64u * MIB)

struct disk {
	uint8_t *b;
	size_t size;
};

/* An image of DISK bytes partitioned by sfdisk from script. */
static void make_disk(struct disk *d, const char *script)
{
	char path[] = "/tmp/tp-parttable.XXXXXX", cmd[4096];
	int fd = mkstemp(path);
	FILE *f;

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, DISK), 0);
	snprintf(cmd, sizeof(cmd), "/sbin/sfdisk -q --no-reread --no-tell-kernel %s >/dev/null",
		 path);
	f = popen(cmd, "w");
	assert_non_null(f);
	fputs(script, f);
	assert_int_equal(pclose(f), 0);
	d->size = DISK;
	d->b = malloc(DISK);
	assert_non_null(d->b);
	assert_int_equal(pread(fd, d->b, DISK, 0), DISK);
	close(fd);
	unlink(path);
}

static const char rk1_layout[] =
	"label: gpt\n"
	"start=32768, size=8192, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, name=CIDATA\n"
	"start=40960, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=cloudimg-rootfs\n";

static const char cm4_layout[] = "label: dos\n"
				 "start=2048, size=32768, type=c, bootable\n"
				 "start=34816, type=83\n";

static void gpt_like_rk1(void **state)
{
	struct tp_parttable pt;
	struct disk d;
	const struct tp_part *fat, *root;
	char g[37];

	(void)state;
	make_disk(&d, rk1_layout);
	assert_int_equal(tp_parttable_parse(d.b, MIB, &pt), 0);
	assert_int_equal(pt.kind, TP_PT_GPT);
	assert_int_equal(pt.n, 2);
	assert_int_equal(pt.disk_sectors, DISK / 512);
	assert_int_equal(pt.backup_lba, DISK / 512 - 1);
	fat = tp_parttable_find(&pt, TP_PT_USE_FAT, NULL);
	root = tp_parttable_find(&pt, TP_PT_USE_LINUX, NULL);
	assert_non_null(fat);
	assert_non_null(root);
	assert_int_equal(fat->index, 1);
	assert_int_equal(fat->first_lba, 32768);
	assert_int_equal(fat->sectors, 8192);
	assert_string_equal(fat->name, "CIDATA");
	assert_int_equal(root->index, 2);
	assert_int_equal(root->first_lba, 40960);
	/* sfdisk ends the last partition on a MiB boundary before the 33
	 * sectors of the backup entries and header. */
	assert_int_equal(root->first_lba + root->sectors, DISK / 512 - 2048);
	assert_string_equal(root->name, "cloudimg-rootfs");
	assert_ptr_equal(tp_parttable_find(&pt, 0, "cloudimg-rootfs"), root);
	assert_null(tp_parttable_find(&pt, 0, "writable"));
	tp_guid_format(root->type_guid, g);
	assert_string_equal(g, "0FC63DAF-8483-4772-8E79-3D69D8477DE4");
	/* The backup, from the image's last MiB. */
	assert_int_equal(tp_parttable_check_backup(&pt, d.b + DISK - MIB, MIB,
						   (DISK - MIB) / 512), 0);
	free(d.b);
}

static void gpt_corrupt(void **state)
{
	struct tp_parttable pt;
	struct disk d;

	(void)state;
	make_disk(&d, rk1_layout);
	/* A header byte (its first usable LBA): the CRC catches it. */
	d.b[512 + 40] ^= 0xff;
	assert_int_equal(tp_parttable_parse(d.b, MIB, &pt), -EINVAL);
	assert_non_null(strstr(tp_err_msg(), "GPT header at LBA 1: header CRC-32 mismatch"));
	d.b[512 + 40] ^= 0xff;
	/* An entry's first byte. */
	d.b[1024 + 128 + 3] ^= 0x01;
	assert_int_equal(tp_parttable_parse(d.b, MIB, &pt), -EINVAL);
	assert_non_null(strstr(tp_err_msg(), "entry array CRC-32 mismatch"));
	d.b[1024 + 128 + 3] ^= 0x01;
	/* A head too short to hold the entry array. */
	assert_int_equal(tp_parttable_parse(d.b, 4096, &pt), -ENOSPC);
	assert_non_null(strstr(tp_err_msg(), "beyond the image's first 4096 bytes"));
	/* The backup: its header, its entries, and a tail that misses it. */
	assert_int_equal(tp_parttable_parse(d.b, MIB, &pt), 0);
	d.b[DISK - 512 + 60] ^= 0x10;
	assert_int_equal(tp_parttable_check_backup(&pt, d.b + DISK - MIB, MIB,
						   (DISK - MIB) / 512), -EINVAL);
	assert_non_null(strstr(tp_err_msg(), "GPT backup header at LBA 131071: header CRC-32"));
	d.b[DISK - 512 + 60] ^= 0x10;
	d.b[DISK - 33 * 512 + 5] ^= 0x10;
	assert_int_equal(tp_parttable_check_backup(&pt, d.b + DISK - MIB, MIB,
						   (DISK - MIB) / 512), -EINVAL);
	assert_non_null(strstr(tp_err_msg(), "backup entry array CRC-32 mismatch"));
	d.b[DISK - 33 * 512 + 5] ^= 0x10;
	assert_int_equal(tp_parttable_check_backup(&pt, d.b + DISK - 2 * MIB, MIB,
						   (DISK - 2 * MIB) / 512), -EINVAL);
	assert_non_null(strstr(tp_err_msg(), "is not in the sectors read"));
	/* The image copied onto a larger disk keeps its backup where the
	 * primary says, not at the disk's end: still found there. */
	assert_int_equal(tp_parttable_check_backup(&pt, d.b + DISK - MIB, MIB,
						   (DISK - MIB) / 512), 0);
	free(d.b);
}

static void mbr_like_cm4(void **state)
{
	struct tp_parttable pt;
	struct disk d;
	const struct tp_part *fat, *root;

	(void)state;
	make_disk(&d, cm4_layout);
	assert_int_equal(tp_parttable_parse(d.b, MIB, &pt), 0);
	assert_int_equal(pt.kind, TP_PT_MBR);
	assert_int_equal(pt.n, 2);
	fat = tp_parttable_find(&pt, TP_PT_USE_FAT, NULL);
	root = tp_parttable_find(&pt, TP_PT_USE_LINUX, NULL);
	assert_non_null(fat);
	assert_non_null(root);
	assert_int_equal(fat->first_lba, 2048);
	assert_int_equal(fat->sectors, 32768);
	assert_int_equal(fat->mbr_type, 0x0c);
	assert_int_equal(root->index, 2);
	assert_int_equal(root->first_lba, 34816);
	assert_int_equal(root->first_lba + root->sectors, DISK / 512);
	/* No backup to check. */
	assert_int_equal(tp_parttable_check_backup(&pt, d.b, 512, 0), 0);
	free(d.b);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void mbr_entry(uint8_t *b, int i, uint8_t status, uint8_t type, uint32_t start,
		      uint32_t n)
{
	uint8_t *e = b + 446 + 16 * i;

	e[0] = status;
	e[4] = type;
	put32(e + 8, start);
	put32(e + 12, n);
	b[510] = 0x55;
	b[511] = 0xaa;
}

static void mbr_bad(void **state)
{
	uint8_t b[4096];
	struct tp_parttable pt;

	(void)state;
	memset(b, 0, sizeof(b));
	assert_int_equal(tp_parttable_parse(b, sizeof(b), &pt), 0);
	assert_int_equal(pt.kind, TP_PT_NONE);

	mbr_entry(b, 0, 0x00, 0x0c, 2048, 4096);
	mbr_entry(b, 1, 0x00, 0x83, 4000, 4096);
	assert_int_equal(tp_parttable_parse(b, sizeof(b), &pt), -EINVAL);
	assert_non_null(strstr(tp_err_msg(), "MBR: partitions 1 and 2 overlap"));

	mbr_entry(b, 1, 0x00, 0x05, 8192, 4096);
	assert_int_equal(tp_parttable_parse(b, sizeof(b), &pt), -EINVAL);
	assert_non_null(strstr(tp_err_msg(), "extended"));

	mbr_entry(b, 1, 0x00, 0x83, 0, 4096);
	assert_int_equal(tp_parttable_parse(b, sizeof(b), &pt), -EINVAL);
	assert_non_null(strstr(tp_err_msg(), "MBR partition 2 (type 0x83) starts at LBA 0"));

	/* A FAT boot sector without a table: code where entries would be. */
	mbr_entry(b, 1, 0x00, 0x83, 8192, 4096);
	b[446] = 0xeb;
	assert_int_equal(tp_parttable_parse(b, sizeof(b), &pt), -EINVAL);
	assert_non_null(strstr(tp_err_msg(), "not a partition table"));

	/* A protective MBR with no GPT behind it. */
	memset(b, 0, sizeof(b));
	mbr_entry(b, 0, 0x00, 0xee, 1, 8191);
	assert_int_equal(tp_parttable_parse(b, sizeof(b), &pt), -EINVAL);
	assert_non_null(strstr(tp_err_msg(), "no \"EFI PART\" signature"));
	assert_int_equal(tp_parttable_parse(b, 700, &pt), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(gpt_like_rk1),
		cmocka_unit_test(gpt_corrupt),
		cmocka_unit_test(mbr_like_cm4),
		cmocka_unit_test(mbr_bad),
	};

	return cmocka_run_group_tests_name("parttable", tests, NULL, NULL);
}
