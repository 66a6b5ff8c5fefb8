// SPDX-License-Identifier: MIT
/*
 * The partition a seeding writes into (seed.h, docs/seeding.md §4): an
 * ext4 file system labelled as the images label their roots, else what the
 * partition table says; read through the sink, never written.
 */
#include "seed.h"
#include "common/err.h"
#include "common/parttable.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The root by what the table says, and why that one, for messages. */
static const struct tp_part *by_table(const struct tp_parttable *pt, char *why, size_t size)
{
	static const char *const names[] = { "cloudimg-rootfs", "writable" };
	const struct tp_part *best = NULL;

	for (unsigned i = 0; pt->kind == TP_PT_GPT && i < 2; i++) {
		const struct tp_part *r = tp_parttable_find(pt, TP_PT_USE_OTHER, names[i]);

		if (r) {
			snprintf(why, size, "named %s", names[i]);
			return r;
		}
	}
	/* CM4 (MBR): p2, type 0x83, is "writable"; p1 is the FAT boot. */
	for (unsigned i = 0; pt->kind == TP_PT_MBR && i < pt->n; i++)
		if (pt->p[i].index == 2 && pt->p[i].use == TP_PT_USE_LINUX) {
			snprintf(why, size, "partition 2, type 0x83");
			return &pt->p[i];
		}
	for (unsigned i = 0; i < pt->n; i++)
		if (pt->p[i].use == TP_PT_USE_LINUX && (!best || pt->p[i].sectors > best->sectors))
			best = &pt->p[i];
	if (best) {
		snprintf(why, size, "the largest Linux partition");
		return best;
	}
	/* The RK1 images mark their root with the ESP type (U-Boot's "bootable"),
	 * so a GPT root without its name can still be partition 2. */
	for (unsigned i = 0; pt->kind == TP_PT_GPT && i < pt->n; i++)
		if (pt->p[i].index == 2) {
			snprintf(why, size, "partition 2: no partition is named cloudimg-rootfs or "
				 "writable, none has a Linux type");
			return &pt->p[i];
		}
	return NULL;
}

/* "MBR: p1 FAT 256 MiB" / "GPT: p1 \"CIDATA\" FAT 4 MiB, ..." for messages. */
static void describe(const struct tp_parttable *pt, char *buf, size_t size)
{
	size_t o;

	o = (size_t)snprintf(buf, size, "%s with %u partition%s",
			     pt->kind == TP_PT_GPT ? "GPT" : pt->kind == TP_PT_MBR ? "MBR" : "none",
			     pt->n, pt->n == 1 ? "" : "s");
	for (unsigned i = 0; i < pt->n && o < size; i++) {
		const struct tp_part *q = &pt->p[i];

		o += (size_t)snprintf(buf + o, size - o, "%s p%u%s%s%s %s %llu MiB",
				      i ? "," : ":", q->index, q->name[0] ? " \"" : "", q->name,
				      q->name[0] ? "\"" : "",
				      q->use == TP_PT_USE_FAT ? "FAT" :
				      q->use == TP_PT_USE_LINUX ? "Linux" : "other",
				      (unsigned long long)(q->sectors * TP_PT_SECTOR >> 20));
	}
}

/* The superblock of the partition at base: whether it is ext2/3/4 (magic
 * 0xEF53 at byte 1024 + 56) and its volume label (16 bytes at 1024 + 120). */
static int read_super(struct tp_sink *s, uint64_t base, bool *ext4, char label[17])
{
	size_t align = s->align ? s->align : 512, span;
	uint64_t start = (base + 1024) - (base + 1024) % align;
	unsigned char *buf;
	int rc;

	span = (size_t)(((base + 2048 - start) + align - 1) / align * align);
	if (posix_memalign((void **)&buf, align > 4096 ? align : 4096, span))
		return tp_err_set(-ENOMEM, "out of memory");
	rc = tp_sink_flush(s);
	if (rc == 0)
		rc = tp_sink_pread(s, buf, span, start);
	if (rc == 0) {
		const unsigned char *sb = buf + (base + 1024 - start);

		*ext4 = sb[56] == 0x53 && sb[57] == 0xEF;
		memcpy(label, sb + 120, 16);
		label[16] = '\0';
	}
	free(buf);
	return rc;
}

/*
 * The root: first an ext4 file system labelled as the images label their
 * roots (what their fstab and kernel command lines name), then by the
 * table (by_table). *out NULL if neither finds one.
 */
static int pick_root(const struct tp_parttable *pt, struct tp_sink *s, size_t head_len,
		     const struct tp_part **out, char *why, size_t size)
{
	for (unsigned i = 0; i < pt->n; i++) {
		uint64_t base = pt->p[i].first_lba * TP_PT_SECTOR;
		char label[17];
		bool ext4 = false;
		int rc;

		if (base < head_len || pt->p[i].sectors < 4)
			continue; /* not written yet: the head comes last */
		if ((rc = read_super(s, base, &ext4, label)) < 0)
			return rc;
		if (ext4 && (!strcmp(label, "cloudimg-rootfs") || !strcmp(label, "writable"))) {
			snprintf(why, size, "ext4 labelled %s", label);
			*out = &pt->p[i];
			return 0;
		}
	}
	*out = by_table(pt, why, size);
	return 0;
}

int tp_seed_find_root(struct tp_sink *s, const void *head, size_t head_len, uint64_t *base,
		      uint64_t *size, char *where, size_t where_size)
{
	struct tp_parttable *pt = calloc(1, sizeof(*pt));
	const struct tp_part *root;
	char why[160], table[512], label[17];
	bool ext4 = false;
	int rc;

	if (!pt)
		TP_FAIL(-ENOMEM, "out of memory");
	TP_TRY(tp_parttable_parse(head, head_len, pt));
	describe(pt, table, sizeof(table));
	if (pt->kind == TP_PT_NONE)
		TP_FAIL(-EINVAL, "no ext4 root partition in the image's partition table: the "
			"image has no partition table (no MBR signature in its first sector)");
	TP_TRY(pick_root(pt, s, head_len, &root, why, sizeof(why)));
	if (!root)
		TP_FAIL(-ENOENT, "no ext4 root partition in the image's partition table: %s; "
			"seeding looks for an ext4 file system labelled cloudimg-rootfs or "
			"writable, a GPT partition of that name, an MBR partition 2 of type "
			"0x83, or else the largest Linux partition",
			table);
	*base = root->first_lba * TP_PT_SECTOR;
	*size = root->sectors * TP_PT_SECTOR;
	snprintf(where, where_size, "p%u (%s) of the image's %s", root->index, why,
		 pt->kind == TP_PT_GPT ? "GPT" : "MBR");
	/* The pipeline writes the head last: a root inside it would be
	 * overwritten after seeding. No image tpkit knows does that. */
	if (*base < head_len)
		TP_FAIL(-EINVAL, "%s starts at byte %llu, inside the image's first %zu bytes, "
			"which are written after seeding", where, (unsigned long long)*base,
			head_len);
	TP_TRY(read_super(s, *base, &ext4, label));
	if (!ext4)
		TP_FAIL(-ENOENT, "no ext4 root partition in the image's partition table: %s "
			"holds no ext4 file system (%s)", where, table);
	rc = 0;
out:
	free(pt);
	return rc;
}
