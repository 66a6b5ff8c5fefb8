// SPDX-License-Identifier: MIT
/*
 * The NVMe's layout for the migration (docs/node-helper.md §11): the
 * eMMC's partitions in the same order with the same types and names, the
 * seed at its size, the root to the end of the NVMe, every start on a MiB,
 * and fresh GUIDs for the disk and each partition, never the eMMC's (a
 * copied GUID lets U-Boot and systemd pick a partition from either disk,
 * commissioning.md §5). Written as an sfdisk script: util-linux writes the
 * table, not tpkit.
 */
#include "node/migrate.h"

#include "common/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define MIB (1024u * 1024u)

/* Without the running root's number: the RK1 image types its root as an
 * ESP (nodeimg.md §3), so a name is what marks it when the type does not. */
static const char root_name[] = "cloudimg-rootfs";

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

static bool is_root(const struct tp_part *p)
{
	return p->use == TP_PT_USE_LINUX || !strcmp(p->name, root_name);
}

static bool guid_in(const uint8_t g[16], const struct tp_parttable *pt)
{
	if (!memcmp(g, pt->disk_guid, 16))
		return true;
	for (unsigned i = 0; i < pt->n; i++)
		if (!memcmp(g, pt->p[i].part_guid, 16))
			return true;
	return false;
}

/* A version 4 GUID from rnd, never one the eMMC uses: a broken source
 * (one that repeats) is an error, never a clone. */
static int fresh_guid(const struct tp_parttable *pt, tp_migrate_rand_fn rnd, void *ctx,
		      uint8_t (*taken)[16], unsigned ntaken, char out[37])
{
	uint8_t *g = taken[ntaken];

	rnd(ctx, g);
	/* Version in the high nibble of the third field (byte 7 on disk, the
	 * field is little endian), RFC 4122 variant in byte 8. */
	g[7] = (uint8_t)((g[7] & 0x0f) | 0x40);
	g[8] = (uint8_t)((g[8] & 0x3f) | 0x80);
	if (guid_in(g, pt))
		return tp_err_set(-EINVAL, "the random source repeated a GUID of the eMMC");
	for (unsigned i = 0; i < ntaken; i++)
		if (!memcmp(g, taken[i], 16))
			return tp_err_set(-EINVAL, "the random source repeated a GUID");
	tp_guid_format(g, out);
	return 0;
}

int tp_migrate_put(char *out, size_t size, size_t *len, const char *what, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out + *len, size - *len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size - *len)
		return tp_err_set(-ENOSPC, "%s does not fit %zu bytes", what, size);
	*len += (size_t)n;
	return 0;
}

#define put(out, size, len, ...) tp_migrate_put(out, size, len, "the sfdisk script", __VA_ARGS__)

static int check_source(const struct tp_parttable *emmc, unsigned root_part, unsigned sector,
			const struct tp_part **root)
{
	if (sector != 512 && sector != 4096)
		return tp_err_set(-EINVAL, "NVMe sector size %u: only 512 and 4096 are supported",
				  sector);
	if (emmc->kind != TP_PT_GPT)
		return tp_err_set(-EINVAL, "the eMMC's partition table is not GPT");
	if (emmc->n > TP_MIGRATE_MAX_PARTS)
		return tp_err_set(-EINVAL,
				  "the eMMC has %u partitions; the migration copies at most %u",
				  emmc->n, TP_MIGRATE_MAX_PARTS);
	*root = NULL;
	for (unsigned i = 0; i < emmc->n; i++)
		if (root_part ? emmc->p[i].index == root_part : is_root(&emmc->p[i]))
			*root = &emmc->p[i];
	if (!*root && root_part)
		return tp_err_set(-EINVAL, "the eMMC's partition table has no partition %u, the "
				  "running root's", root_part);
	if (!*root)
		return tp_err_set(-EINVAL, "the eMMC has no ext4 root partition (Linux "
				  "filesystem type or named %s)", root_name);
	/* The root grows to the NVMe's end, so nothing may lie after it. */
	for (unsigned i = 0; i < emmc->n; i++) {
		const struct tp_part *p = &emmc->p[i];

		if (p != *root && p->first_lba >= (*root)->first_lba)
			return tp_err_set(-EINVAL, "the eMMC's partition %u lies after its root "
					  "(partition %u)", p->index, (*root)->index);
		/* sfdisk's script quotes names; a quote or backslash would end
		 * or escape the quoting. */
		if (strpbrk(p->name, "\"\\"))
			return tp_err_set(-EINVAL, "partition %u's name has a quote or backslash",
					  p->index);
	}
	return 0;
}

int tp_migrate_plan(const struct tp_parttable *emmc, unsigned root_part, uint64_t nvme_bytes,
		    unsigned sector, tp_migrate_rand_fn rnd, void *ctx, char *out, size_t size)
{
	const struct tp_part *root = NULL;
	uint8_t taken[TP_MIGRATE_MAX_PARTS + 1][16];
	uint64_t sectors, backup, end, next = MIB, used, need;
	char g[37], t[37];
	size_t len = 0;
	int rc;

	if ((rc = check_source(emmc, root_part, sector, &root)) < 0)
		return rc;
	/* The eMMC's root may be grown to its end: the copy needs as much, and
	 * a MiB on top for the NVMe's own GPT at each end. */
	used = (root->first_lba + root->sectors) * TP_PT_SECTOR;
	need = align_up(used, MIB) + MIB;
	if (nvme_bytes < need)
		return tp_err_set(-ENOSPC, "the NVMe (%llu MiB) is smaller than the root needs "
				  "(%llu MiB)", (unsigned long long)(nvme_bytes / MIB),
				  (unsigned long long)(need / MIB));
	sectors = nvme_bytes / sector;
	/*
	 * GPT keeps a backup at the disk's end: its header in the last sector
	 * and, before it, the entry array of 128 entries of 128 bytes (16 KiB):
	 * 32 sectors of 512 B, 4 of 4096 B. So the last usable sector lies 33
	 * (512 B) or 5 (4096 B) sectors before the end, and the root ends on
	 * the last MiB boundary before it, as sfdisk ends a last partition.
	 */
	backup = 16384 / sector + 1;
	end = (sectors - backup) * sector / MIB * MIB;

	if (size)
		out[0] = '\0';
	rc = fresh_guid(emmc, rnd, ctx, taken, 0, g);
	if (rc < 0)
		return rc;
	rc = put(out, size, &len, "label: gpt\nlabel-id: %s\nunit: sectors\nfirst-lba: %u\n\n",
		 g, MIB / sector);
	if (rc < 0)
		return rc;
	for (unsigned i = 0; i < emmc->n; i++) {
		const struct tp_part *p = &emmc->p[i];
		uint64_t start = align_up(p->first_lba * TP_PT_SECTOR, MIB), bytes;

		if (start < next)
			start = next;
		if (start >= end)
			return tp_err_set(-ENOSPC, "the NVMe (%llu MiB) has no room for partition %u "
					  "at %llu MiB", (unsigned long long)(nvme_bytes / MIB),
					  p->index, (unsigned long long)(start / MIB));
		bytes = p == root ? end - start : align_up(p->sectors * TP_PT_SECTOR, sector);
		next = align_up(start + bytes, MIB);
		rc = fresh_guid(emmc, rnd, ctx, taken, i + 1, g);
		if (rc < 0)
			return rc;
		tp_guid_format(p->type_guid, t);
		rc = put(out, size, &len, "start=%llu, size=%llu, type=%s, uuid=%s, name=\"%s\"\n",
			 (unsigned long long)(start / sector), (unsigned long long)(bytes / sector),
			 t, g, p->name);
		if (rc < 0)
			return rc;
	}
	return 0;
}
