/* SPDX-License-Identifier: MIT */
/*
 * Partition tables of a disk image, read from its head (the first MiB the
 * pipeline holds in memory) and, for GPT, checked against the backup at the
 * image's end (docs/seeding.md §1). Pure functions over buffers: the BMC's
 * seeding reads them, the node's migration writes the same layout, and
 * tests/fuzz feeds them anything. Sectors are 512 bytes, as on every disk
 * these images go to (eMMC, the CM4's USB disk, an NVMe formatted 512e).
 */
#ifndef TP_PARTTABLE_H
#define TP_PARTTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TP_PT_SECTOR 512u
#define TP_PT_MAX 16 /* partitions kept; an image with more is refused */

enum tp_pt_kind { TP_PT_NONE, TP_PT_MBR, TP_PT_GPT };

/* What a partition holds, as far as its table says. */
enum tp_pt_use {
	TP_PT_USE_OTHER,
	TP_PT_USE_FAT,   /* MBR 0x0b/0x0c/0x0e/0x06, GPT basic data or ESP */
	TP_PT_USE_LINUX, /* MBR 0x83, GPT Linux filesystem data */
};

struct tp_part {
	unsigned index;          /* 1-based, as the kernel numbers it (p1, p2) */
	uint64_t first_lba;
	uint64_t sectors;
	enum tp_pt_use use;
	uint8_t mbr_type;        /* MBR only */
	uint8_t type_guid[16];   /* GPT only, as stored (mixed endian) */
	uint8_t part_guid[16];   /* GPT only */
	char name[73];           /* GPT only: the UTF-16 name as UTF-8 (ASCII kept) */
};

struct tp_parttable {
	enum tp_pt_kind kind;
	uint64_t disk_sectors;   /* what the table was built for: GPT's backup LBA + 1 */
	uint64_t backup_lba;     /* GPT: where its alternate header says the backup is */
	uint64_t entries_lba;    /* GPT: the primary entry array */
	uint32_t entries_crc;    /* GPT: CRC-32 of the entry array */
	uint32_t nentries, entry_size;
	uint8_t disk_guid[16];
	unsigned n;
	struct tp_part p[TP_PT_MAX];
};

/*
 * Parse the table in head[0..len) (len >= 1 MiB is always enough for the
 * images tpkit writes; at least the MBR and, for GPT, the header and the
 * whole entry array must be in it). 0 with *pt filled (kind TP_PT_NONE if
 * the head has no MBR signature), or -EINVAL / -ENOSPC (the entry array is
 * not in the head) with a message naming what is wrong and where.
 */
int tp_parttable_parse(const void *head, size_t len, struct tp_parttable *pt);

/*
 * The GPT backup: tail holds the image's last sectors, ending at the
 * sector pt->backup_lba (tail_lba is the LBA of tail's first byte). The
 * backup header must point back at LBA 1 and carry the same entry array
 * (same CRC). 0 or -EINVAL with a message.
 */
int tp_parttable_check_backup(const struct tp_parttable *pt, const void *tail, size_t len,
			      uint64_t tail_lba);

/* The first partition of the given use, NULL if none. With name non-NULL
 * (GPT), the one with that name instead. */
const struct tp_part *tp_parttable_find(const struct tp_parttable *pt, enum tp_pt_use use,
					const char *name);

/* A GUID as text (8-4-4-4-12, upper case), from its on-disk bytes. */
void tp_guid_format(const uint8_t g[16], char out[37]);

#endif
