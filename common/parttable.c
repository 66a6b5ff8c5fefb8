// SPDX-License-Identifier: MIT
/*
 * MBR and GPT, read (parttable.h). The layouts are the UEFI specification's
 * (docs/seeding.md §1): an MBR's four 16-byte entries at byte 446 and its
 * 0x55AA signature; a GPT header at LBA 1 whose CRC-32 covers its own
 * HeaderSize bytes with the CRC field zeroed, an entry array whose CRC-32
 * the header carries, and a backup header at the disk's last LBA pointing
 * back at LBA 1. Everything read comes from an image nobody checked yet, so
 * every field is bounds-checked before it is used, and a table that is
 * inconsistent is refused rather than half believed.
 */
#include "parttable.h"
#include "crc32.h"
#include "err.h"

#include <stdio.h>
#include <string.h>

#define GPT_SIG "EFI PART"
#define GPT_REV 0x00010000u
#define GPT_HDR_MIN 92u

static const char *const fat_guids[] = {
	"EBD0A0A2-B9E5-4433-87C0-68B6B72699C7", /* Microsoft basic data */
	"C12A7328-F81F-11D2-BA4B-00A0C93EC93B", /* EFI system partition */
};
static const char linux_guid[] = "0FC63DAF-8483-4772-8E79-3D69D8477DE4";

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

void tp_guid_format(const uint8_t g[16], char out[37])
{
	/* The first three fields are little endian on disk, the rest bytes. */
	snprintf(out, 37, "%08X-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X", le32(g),
		 (unsigned)(g[4] | g[5] << 8), (unsigned)(g[6] | g[7] << 8), g[8], g[9], g[10],
		 g[11], g[12], g[13], g[14], g[15]);
}

static bool guid_zero(const uint8_t g[16])
{
	for (int i = 0; i < 16; i++)
		if (g[i])
			return false;
	return true;
}

/* A GPT name (UTF-16LE, NUL-padded) as UTF-8; a surrogate pair becomes '?'. */
static void name_utf8(const uint8_t *u16, char *out, size_t size)
{
	size_t o = 0;

	for (int i = 0; i < 36; i++) {
		unsigned c = (unsigned)(u16[2 * i] | u16[2 * i + 1] << 8);

		if (!c)
			break;
		if (c >= 0xd800 && c < 0xe000)
			c = '?';
		if (c < 0x80 && o + 1 < size) {
			out[o++] = (char)c;
		} else if (c < 0x800 && o + 2 < size) {
			out[o++] = (char)(0xc0 | c >> 6);
			out[o++] = (char)(0x80 | (c & 0x3f));
		} else if (c >= 0x800 && o + 3 < size) {
			out[o++] = (char)(0xe0 | c >> 12);
			out[o++] = (char)(0x80 | ((c >> 6) & 0x3f));
			out[o++] = (char)(0x80 | (c & 0x3f));
		}
	}
	out[o] = '\0';
}

/* No two partitions share a sector. */
static int check_overlaps(const struct tp_parttable *pt, const char *what)
{
	for (unsigned i = 0; i < pt->n; i++)
		for (unsigned k = i + 1; k < pt->n; k++) {
			const struct tp_part *a = &pt->p[i], *b = &pt->p[k];

			if (a->first_lba < b->first_lba + b->sectors &&
			    b->first_lba < a->first_lba + a->sectors)
				return tp_err_set(-EINVAL, "%s: partitions %u and %u overlap", what,
						  a->index, b->index);
		}
	return 0;
}

static int add_part(struct tp_parttable *pt, const struct tp_part *p, const char *what)
{
	if (pt->n == TP_PT_MAX)
		return tp_err_set(-EINVAL, "%s: more than %u partitions", what, TP_PT_MAX);
	pt->p[pt->n++] = *p;
	return 0;
}

static int parse_mbr(const uint8_t *b, struct tp_parttable *pt, bool *protective)
{
	*protective = false;
	for (unsigned i = 0; i < 4; i++) {
		const uint8_t *e = b + 446 + 16 * i;
		struct tp_part p = { .index = i + 1 };
		int rc;

		/* A FAT boot sector also ends in 0x55AA; its "entries" are
		 * code, whose status bytes are rarely 0x00 or 0x80. */
		if (e[0] != 0x00 && e[0] != 0x80)
			return tp_err_set(-EINVAL, "MBR entry %u has status byte 0x%02x (not 0x00 or "
					  "0x80): not a partition table", i + 1, e[0]);
		if (!e[4])
			continue;
		if (e[4] == 0xee)
			*protective = true;
		p.mbr_type = e[4];
		p.first_lba = le32(e + 8);
		p.sectors = le32(e + 12);
		if (!p.first_lba || !p.sectors)
			return tp_err_set(-EINVAL, "MBR partition %u (type 0x%02x) starts at LBA "
					  "%llu with %llu sectors", i + 1, e[4],
					  (unsigned long long)p.first_lba,
					  (unsigned long long)p.sectors);
		if (e[4] == 0x05 || e[4] == 0x0f || e[4] == 0x85)
			return tp_err_set(-EINVAL, "MBR partition %u is extended (type 0x%02x): "
					  "logical partitions are not supported", i + 1, e[4]);
		p.use = e[4] == 0x83 ? TP_PT_USE_LINUX
			: (e[4] == 0x0b || e[4] == 0x0c || e[4] == 0x0e || e[4] == 0x06)
				? TP_PT_USE_FAT
				: TP_PT_USE_OTHER;
		if ((rc = add_part(pt, &p, "MBR")) < 0)
			return rc;
	}
	return check_overlaps(pt, "MBR");
}

/* A GPT header at hdr (one sector), as found at LBA my_lba. */
static int check_header(const uint8_t *hdr, uint64_t my_lba, const char *what)
{
	uint8_t copy[TP_PT_SECTOR];
	uint32_t size = le32(hdr + 12);

	if (memcmp(hdr, GPT_SIG, 8))
		return tp_err_set(-EINVAL, "%s at LBA %llu: no \"EFI PART\" signature", what,
				  (unsigned long long)my_lba);
	if (le32(hdr + 8) != GPT_REV)
		return tp_err_set(-EINVAL, "%s: revision 0x%08x, not 1.0", what, le32(hdr + 8));
	if (size < GPT_HDR_MIN || size > TP_PT_SECTOR)
		return tp_err_set(-EINVAL, "%s: header size %u (92-512)", what, size);
	memcpy(copy, hdr, size);
	memset(copy + 16, 0, 4);
	if (tp_crc32(copy, size) != le32(hdr + 16))
		return tp_err_set(-EINVAL, "%s at LBA %llu: header CRC-32 mismatch (corrupt)", what,
				  (unsigned long long)my_lba);
	if (le64(hdr + 24) != my_lba)
		return tp_err_set(-EINVAL, "%s at LBA %llu says it is at LBA %llu", what,
				  (unsigned long long)my_lba, (unsigned long long)le64(hdr + 24));
	return 0;
}

static int parse_gpt(const uint8_t *b, size_t len, struct tp_parttable *pt)
{
	const uint8_t *h = b + TP_PT_SECTOR;
	uint64_t first_usable, last_usable, arr_off, arr_len;
	int rc;

	if (len < 2 * TP_PT_SECTOR)
		return tp_err_set(-ENOSPC, "GPT: the head (%zu bytes) ends before LBA 1", len);
	if ((rc = check_header(h, 1, "GPT header")) < 0)
		return rc;
	pt->kind = TP_PT_GPT;
	pt->backup_lba = le64(h + 32);
	first_usable = le64(h + 40);
	last_usable = le64(h + 48);
	memcpy(pt->disk_guid, h + 56, 16);
	pt->entries_lba = le64(h + 72);
	pt->nentries = le32(h + 80);
	pt->entry_size = le32(h + 84);
	pt->entries_crc = le32(h + 88);
	pt->disk_sectors = pt->backup_lba + 1;
	if (pt->entry_size < 128 || pt->entry_size > 4096 || (pt->entry_size & (pt->entry_size - 1)))
		return tp_err_set(-EINVAL, "GPT: entry size %u (128 << n)", pt->entry_size);
	if (!pt->nentries || pt->nentries > 1024)
		return tp_err_set(-EINVAL, "GPT: %u entries (1-1024)", pt->nentries);
	if (pt->entries_lba < 2 || first_usable > last_usable || last_usable >= pt->backup_lba ||
	    pt->backup_lba == UINT64_MAX)
		return tp_err_set(-EINVAL, "GPT: inconsistent layout (entries at LBA %llu, usable "
				  "%llu-%llu, backup at %llu)", (unsigned long long)pt->entries_lba,
				  (unsigned long long)first_usable, (unsigned long long)last_usable,
				  (unsigned long long)pt->backup_lba);
	arr_len = (uint64_t)pt->nentries * pt->entry_size;
	if (pt->entries_lba > (UINT64_MAX - arr_len) / TP_PT_SECTOR)
		return tp_err_set(-EINVAL, "GPT: entry array at LBA %llu",
				  (unsigned long long)pt->entries_lba);
	arr_off = pt->entries_lba * TP_PT_SECTOR;
	if (arr_off + arr_len > len)
		return tp_err_set(-ENOSPC, "GPT: the entry array (LBA %llu, %llu bytes) is beyond "
				  "the image's first %zu bytes", (unsigned long long)pt->entries_lba,
				  (unsigned long long)arr_len, len);
	if (tp_crc32(b + arr_off, (size_t)arr_len) != pt->entries_crc)
		return tp_err_set(-EINVAL, "GPT: entry array CRC-32 mismatch (corrupt)");
	for (uint32_t i = 0; i < pt->nentries; i++) {
		const uint8_t *e = b + arr_off + (uint64_t)i * pt->entry_size;
		struct tp_part p = { .index = i + 1 };
		uint64_t last = le64(e + 40);
		char g[37];

		if (guid_zero(e))
			continue;
		memcpy(p.type_guid, e, 16);
		memcpy(p.part_guid, e + 16, 16);
		p.first_lba = le64(e + 32);
		if (p.first_lba < first_usable || last < p.first_lba || last > last_usable)
			return tp_err_set(-EINVAL, "GPT partition %u spans LBA %llu-%llu, outside "
					  "the usable %llu-%llu", i + 1,
					  (unsigned long long)p.first_lba, (unsigned long long)last,
					  (unsigned long long)first_usable,
					  (unsigned long long)last_usable);
		p.sectors = last - p.first_lba + 1;
		name_utf8(e + 56, p.name, sizeof(p.name));
		tp_guid_format(p.type_guid, g);
		p.use = !strcmp(g, linux_guid) ? TP_PT_USE_LINUX : TP_PT_USE_OTHER;
		for (size_t k = 0; k < sizeof(fat_guids) / sizeof(fat_guids[0]); k++)
			if (!strcmp(g, fat_guids[k]))
				p.use = TP_PT_USE_FAT;
		if ((rc = add_part(pt, &p, "GPT")) < 0)
			return rc;
	}
	return check_overlaps(pt, "GPT");
}

int tp_parttable_parse(const void *head, size_t len, struct tp_parttable *pt)
{
	const uint8_t *b = head;
	bool protective;
	int rc;

	memset(pt, 0, sizeof(*pt));
	if (len < TP_PT_SECTOR || b[510] != 0x55 || b[511] != 0xaa)
		return 0; /* TP_PT_NONE: no table */
	if ((rc = parse_mbr(b, pt, &protective)) < 0)
		return rc;
	if (!protective) {
		pt->kind = TP_PT_MBR;
		return 0;
	}
	memset(pt, 0, sizeof(*pt));
	return parse_gpt(b, len, pt);
}

int tp_parttable_check_backup(const struct tp_parttable *pt, const void *tail, size_t len,
			      uint64_t tail_lba)
{
	const uint8_t *t = tail, *h;
	uint64_t off, arr_lba, arr_len;

	if (pt->kind != TP_PT_GPT)
		return 0;
	if (pt->backup_lba < tail_lba || pt->backup_lba - tail_lba >= len / TP_PT_SECTOR)
		return tp_err_set(-EINVAL, "GPT: the backup header (LBA %llu) is not in the "
				  "sectors read (from LBA %llu, %zu bytes)",
				  (unsigned long long)pt->backup_lba, (unsigned long long)tail_lba,
				  len);
	off = (pt->backup_lba - tail_lba) * TP_PT_SECTOR;
	h = t + off;
	if (check_header(h, pt->backup_lba, "GPT backup header") < 0)
		return -EINVAL;
	if (le64(h + 32) != 1 || memcmp(h + 56, pt->disk_guid, 16) || le32(h + 80) != pt->nentries ||
	    le32(h + 84) != pt->entry_size || le32(h + 88) != pt->entries_crc)
		return tp_err_set(-EINVAL, "GPT: the backup header at LBA %llu does not match the "
				  "primary (other disk GUID, entries or alternate LBA)",
				  (unsigned long long)pt->backup_lba);
	arr_lba = le64(h + 72);
	arr_len = (uint64_t)pt->nentries * pt->entry_size;
	if (arr_lba < tail_lba || arr_lba >= pt->backup_lba ||
	    (arr_lba - tail_lba) * TP_PT_SECTOR + arr_len > off)
		return tp_err_set(-EINVAL, "GPT: the backup entry array (LBA %llu) is not between "
				  "LBA %llu and the backup header", (unsigned long long)arr_lba,
				  (unsigned long long)tail_lba);
	if (tp_crc32(t + (arr_lba - tail_lba) * TP_PT_SECTOR, (size_t)arr_len) != pt->entries_crc)
		return tp_err_set(-EINVAL, "GPT: backup entry array CRC-32 mismatch (corrupt)");
	return 0;
}

const struct tp_part *tp_parttable_find(const struct tp_parttable *pt, enum tp_pt_use use,
					const char *name)
{
	for (unsigned i = 0; i < pt->n; i++)
		if (name ? !strcmp(pt->p[i].name, name) : pt->p[i].use == use)
			return &pt->p[i];
	return NULL;
}
