// SPDX-License-Identifier: MIT
/*
 * The NVMe layout of the migration (docs/node-helper.md §11): exact sfdisk
 * scripts for the RK1 image's table on 512 B and 4096 B NVMe drives, GUIDs
 * fresh, each refusal with its message, and one plan written by the real
 * sfdisk and parsed back.
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
#include "node/migrate.h"

#define MIB (1024ull * 1024ull)
#define GIB (1024ull * MIB)

/* A GUID's text as its on-disk bytes (first three fields little endian). */
static void guid_bytes(const char *s, uint8_t g[16])
{
	unsigned v[16];

	assert_int_equal(sscanf(s, "%2x%2x%2x%2x-%2x%2x-%2x%2x-%2x%2x-%2x%2x%2x%2x%2x%2x", &v[3],
				&v[2], &v[1], &v[0], &v[5], &v[4], &v[7], &v[6], &v[8], &v[9], &v[10],
				&v[11], &v[12], &v[13], &v[14], &v[15]),
			 16);
	for (int i = 0; i < 16; i++)
		g[i] = (uint8_t)v[i];
}

/* The RK1 image's table (nodeimg.md §3) after growfs on a 32 GiB eMMC:
 * the root ends a MiB before the disk's end, as sfdisk leaves it. */
static void rk1_emmc(struct tp_parttable *pt)
{
	memset(pt, 0, sizeof(*pt));
	pt->kind = TP_PT_GPT;
	pt->disk_sectors = 32 * GIB / 512;
	pt->n = 2;
	guid_bytes("11111111-2222-3333-4444-555555555555", pt->disk_guid);
	pt->p[0] = (struct tp_part){.index = 1, .first_lba = 32768, .sectors = 8192,
				    .use = TP_PT_USE_FAT, .name = "CIDATA"};
	guid_bytes("EBD0A0A2-B9E5-4433-87C0-68B6B72699C7", pt->p[0].type_guid);
	guid_bytes("AAAAAAAA-0000-4000-8000-000000000001", pt->p[0].part_guid);
	pt->p[1] = (struct tp_part){.index = 2, .first_lba = 40960,
				    .sectors = 32 * GIB / 512 - 2048 - 40960,
				    .use = TP_PT_USE_FAT, .name = "cloudimg-rootfs"};
	guid_bytes("C12A7328-F81F-11D2-BA4B-00A0C93EC93B", pt->p[1].type_guid);
	guid_bytes("AAAAAAAA-0000-4000-8000-000000000002", pt->p[1].part_guid);
}

/* Call k fills bytes 16k+1 .. 16k+16. */
static void counter_rand(void *ctx, uint8_t out[16])
{
	unsigned *k = ctx;

	for (int i = 0; i < 16; i++)
		out[i] = (uint8_t)(*k * 16 + (unsigned)i + 1);
	(*k)++;
}

/* Always the same bytes. */
static void stuck_rand(void *ctx, uint8_t out[16])
{
	(void)ctx;
	memset(out, 0x5a, 16);
}

static void plan_512(void **state)
{
	struct tp_parttable pt;
	unsigned k = 0;
	char out[1024];

	(void)state;
	rk1_emmc(&pt);
	assert_int_equal(tp_migrate_plan(&pt, 0, 256 * GIB, 512, counter_rand, &k, out, sizeof(out)), 0);
	/* 256 GiB is 536870912 sectors; the backup takes the last 33; the
	 * root ends at the MiB before: sector 536868864 = 262143 MiB. */
	assert_string_equal(out,
		"label: gpt\n"
		"label-id: 04030201-0605-4807-890A-0B0C0D0E0F10\n"
		"unit: sectors\n"
		"first-lba: 2048\n"
		"\n"
		"start=32768, size=8192, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, "
		"uuid=14131211-1615-4817-991A-1B1C1D1E1F20, name=\"CIDATA\"\n"
		"start=40960, size=536827904, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, "
		"uuid=24232221-2625-4827-A92A-2B2C2D2E2F30, name=\"cloudimg-rootfs\"\n");
	assert_int_equal(k, 3);
	assert_int_equal(40960 + 536827904, 262143 * MIB / 512);
}

static void plan_4096(void **state)
{
	struct tp_parttable pt;
	unsigned k = 0;
	char out[1024];

	(void)state;
	rk1_emmc(&pt);
	assert_int_equal(tp_migrate_plan(&pt, 0, 256 * GIB, 4096, counter_rand, &k, out, sizeof(out)),
			 0);
	/* 67108864 sectors; the backup takes the last 5 (4 of entries, the
	 * header); the root ends at 262143 MiB = sector 67108608. */
	assert_string_equal(out,
		"label: gpt\n"
		"label-id: 04030201-0605-4807-890A-0B0C0D0E0F10\n"
		"unit: sectors\n"
		"first-lba: 256\n"
		"\n"
		"start=4096, size=1024, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, "
		"uuid=14131211-1615-4817-991A-1B1C1D1E1F20, name=\"CIDATA\"\n"
		"start=5120, size=67103488, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, "
		"uuid=24232221-2625-4827-A92A-2B2C2D2E2F30, name=\"cloudimg-rootfs\"\n");
}

/* The backup GPT's room, pinned at a MiB boundary: 64 GiB and 33 sectors
 * of 512 B (5 of 4096 B) leaves the root's end at 64 GiB; a sector less
 * moves it a MiB down. */
static void backup_room(void **state)
{
	struct tp_parttable pt;
	unsigned k = 0;
	char out[1024];

	(void)state;
	rk1_emmc(&pt);
	assert_int_equal(tp_migrate_plan(&pt, 0, 64 * GIB + 33 * 512, 512, counter_rand, &k, out,
					 sizeof(out)), 0);
	assert_non_null(strstr(out, "start=40960, size=134176768, "));
	assert_int_equal(tp_migrate_plan(&pt, 0, 64 * GIB + 32 * 512, 512, counter_rand, &k, out,
					 sizeof(out)), 0);
	assert_non_null(strstr(out, "start=40960, size=134174720, "));
	assert_int_equal(tp_migrate_plan(&pt, 0, 64 * GIB + 5 * 4096, 4096, counter_rand, &k, out,
					 sizeof(out)), 0);
	assert_non_null(strstr(out, "start=5120, size=16772096, "));
	assert_int_equal(tp_migrate_plan(&pt, 0, 64 * GIB + 4 * 4096, 4096, counter_rand, &k, out,
					 sizeof(out)), 0);
	assert_non_null(strstr(out, "start=5120, size=16771840, "));
}

/* The smallest NVMe taken: the eMMC's span (32767 MiB) and a MiB. */
static void size_limits(void **state)
{
	struct tp_parttable pt;
	unsigned k = 0;
	char out[1024];

	(void)state;
	rk1_emmc(&pt);
	assert_int_equal(tp_migrate_plan(&pt, 0, 32767 * MIB, 512, counter_rand, &k, out, sizeof(out)),
			 -ENOSPC);
	assert_string_equal(tp_err_msg(),
			    "the NVMe (32767 MiB) is smaller than the root needs (32768 MiB)");
	assert_int_equal(tp_migrate_plan(&pt, 0, 32768 * MIB - 512, 512, counter_rand, &k, out,
					 sizeof(out)),
			 -ENOSPC);
	k = 0;
	assert_int_equal(tp_migrate_plan(&pt, 0, 32768 * MIB, 512, counter_rand, &k, out, sizeof(out)),
			 0);
	/* The root keeps at least its eMMC size. */
	assert_non_null(strstr(out, "start=40960, size=67065856, "));
	/* An output buffer too small. */
	assert_int_equal(tp_migrate_plan(&pt, 0, 32768 * MIB, 512, counter_rand, &k, out, 100),
			 -ENOSPC);
	assert_string_equal(tp_err_msg(), "the sfdisk script does not fit 100 bytes");
}

static void refusals(void **state)
{
	struct tp_parttable pt;
	unsigned k = 0;
	char out[1024];

	(void)state;
	rk1_emmc(&pt);
	assert_int_equal(tp_migrate_plan(&pt, 0, 256 * GIB, 1024, counter_rand, &k, out, sizeof(out)),
			 -EINVAL);
	assert_string_equal(tp_err_msg(), "NVMe sector size 1024: only 512 and 4096 are supported");

	strcpy(pt.p[1].name, "writable");
	assert_int_equal(tp_migrate_plan(&pt, 0, 256 * GIB, 512, counter_rand, &k, out, sizeof(out)),
			 -EINVAL);
	assert_string_equal(tp_err_msg(), "the eMMC has no ext4 root partition (Linux filesystem "
					  "type or named cloudimg-rootfs)");
	/* The running root's number wins over type and name: the test
	 * images name their ESP-typed root "rootfs" (nodeimg.md §3). */
	k = 0;
	assert_int_equal(tp_migrate_plan(&pt, 2, 256 * GIB, 512, counter_rand, &k, out,
					 sizeof(out)), 0);
	assert_non_null(strstr(out, "size=536827904, "));
	assert_int_equal(tp_migrate_plan(&pt, 3, 256 * GIB, 512, counter_rand, &k, out,
					 sizeof(out)), -EINVAL);
	assert_string_equal(tp_err_msg(), "the eMMC's partition table has no partition 3, the "
					  "running root's");
	/* A Linux filesystem type marks the root whatever its name. */
	pt.p[1].use = TP_PT_USE_LINUX;
	k = 0;
	assert_int_equal(tp_migrate_plan(&pt, 0, 256 * GIB, 512, counter_rand, &k, out, sizeof(out)),
			 0);
	assert_non_null(strstr(out, "size=536827904, "));

	rk1_emmc(&pt);
	pt.n = 5;
	for (unsigned i = 2; i < 5; i++)
		pt.p[i] = (struct tp_part){.index = i + 1, .first_lba = 2048 * (i + 1), .sectors = 1};
	assert_int_equal(tp_migrate_plan(&pt, 0, 256 * GIB, 512, counter_rand, &k, out, sizeof(out)),
			 -EINVAL);
	assert_string_equal(tp_err_msg(), "the eMMC has 5 partitions; the migration copies at most 4");

	/* Something after the root could not be kept: the root grows. */
	pt.n = 3;
	pt.p[2].first_lba = 32 * GIB / 512 - 2048;
	assert_int_equal(tp_migrate_plan(&pt, 0, 256 * GIB, 512, counter_rand, &k, out, sizeof(out)),
			 -EINVAL);
	assert_string_equal(tp_err_msg(), "the eMMC's partition 3 lies after its root (partition 2)");

	rk1_emmc(&pt);
	pt.kind = TP_PT_MBR;
	assert_int_equal(tp_migrate_plan(&pt, 0, 256 * GIB, 512, counter_rand, &k, out, sizeof(out)),
			 -EINVAL);
	assert_string_equal(tp_err_msg(), "the eMMC's partition table is not GPT");

	rk1_emmc(&pt);
	strcpy(pt.p[0].name, "CI\"DATA");
	assert_int_equal(tp_migrate_plan(&pt, 0, 256 * GIB, 512, counter_rand, &k, out, sizeof(out)),
			 -EINVAL);
	assert_string_equal(tp_err_msg(), "partition 1's name has a quote or backslash");
}

/* A random source that repeats, or hands back the eMMC's own GUID, is
 * refused: the copy must never share a GUID with the eMMC. */
static void guids_fresh(void **state)
{
	struct tp_parttable pt;
	unsigned k = 0;
	char out[1024];

	(void)state;
	rk1_emmc(&pt);
	assert_int_equal(tp_migrate_plan(&pt, 0, 256 * GIB, 512, stuck_rand, NULL, out, sizeof(out)),
			 -EINVAL);
	assert_string_equal(tp_err_msg(), "the random source repeated a GUID");
	/* The eMMC's disk GUID is what the first call returns. */
	guid_bytes("04030201-0605-4807-890A-0B0C0D0E0F10", pt.disk_guid);
	assert_int_equal(tp_migrate_plan(&pt, 0, 256 * GIB, 512, counter_rand, &k, out, sizeof(out)),
			 -EINVAL);
	assert_string_equal(tp_err_msg(), "the random source repeated a GUID of the eMMC");
}

/* sfdisk writes script to a sparse file of bytes; the table is read back
 * from its first MiB into pt. */
static void sfdisk_write(const char *script, uint64_t bytes, struct tp_parttable *pt)
{
	char path[512], cmd[1024];
	const char *dir = getenv("TMPDIR");
	static uint8_t head[MIB];
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "%s/tp-migrate.XXXXXX", dir ? dir : "/tmp");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)bytes), 0);
	snprintf(cmd, sizeof(cmd), "/sbin/sfdisk -q --no-reread --no-tell-kernel %s >/dev/null",
		 path);
	f = popen(cmd, "w");
	assert_non_null(f);
	fputs(script, f);
	assert_int_equal(pclose(f), 0);
	assert_int_equal(pread(fd, head, MIB, 0), MIB);
	close(fd);
	unlink(path);
	assert_int_equal(tp_parttable_parse(head, MIB, pt), 0);
}

/* The plan, written by the real sfdisk on a 4 GiB sparse "NVMe" (512 B
 * sectors, as a file is to sfdisk), reads back as planned. */
static void written_by_sfdisk(void **state)
{
	struct tp_parttable pt, nv;
	unsigned k = 0;
	char out[1024];

	(void)state;
	rk1_emmc(&pt);
	pt.p[1].sectors = 2 * GIB / 512 - 40960;
	assert_int_equal(tp_migrate_plan(&pt, 0, 4 * GIB, 512, counter_rand, &k, out, sizeof(out)), 0);
	sfdisk_write(out, 4 * GIB, &nv);
	assert_int_equal(nv.kind, TP_PT_GPT);
	assert_int_equal(nv.n, 2);
	assert_int_equal(nv.disk_sectors, 4 * GIB / 512);
	assert_int_equal(nv.p[0].first_lba, 32768);
	assert_int_equal(nv.p[0].sectors, 8192);
	assert_string_equal(nv.p[0].name, "CIDATA");
	assert_int_equal(nv.p[1].first_lba, 40960);
	assert_int_equal(nv.p[1].first_lba + nv.p[1].sectors, 4 * GIB / 512 - 2048);
	assert_string_equal(nv.p[1].name, "cloudimg-rootfs");
	assert_memory_equal(nv.p[1].type_guid, pt.p[1].type_guid, 16);
	for (unsigned i = 0; i < 2; i++)
		assert_memory_not_equal(nv.p[i].part_guid, pt.p[i].part_guid, 16);
	assert_memory_not_equal(nv.disk_guid, pt.disk_guid, 16);
	/* sfdisk kept the GUIDs planned. */
	char g[37];

	tp_guid_format(nv.disk_guid, g);
	assert_string_equal(g, "04030201-0605-4807-890A-0B0C0D0E0F10");
	tp_guid_format(nv.p[1].part_guid, g);
	assert_string_equal(g, "24232221-2625-4827-A92A-2B2C2D2E2F30");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(plan_512),
		cmocka_unit_test(plan_4096),
		cmocka_unit_test(backup_room),
		cmocka_unit_test(size_limits),
		cmocka_unit_test(refusals),
		cmocka_unit_test(guids_fresh),
		cmocka_unit_test(written_by_sfdisk),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
