/* SPDX-License-Identifier: MIT */
/*
 * Rockchip LDR loader files (*_spl_loader_*.bin): the DDR init (area 0x471)
 * and usbplug (area 0x472) that the RK3588 boot ROM needs before it can speak
 * rockusb. Layout, checksum and RC4 as in docs/protocols.md §3.
 *
 * A file is validated completely when it is opened, so a corrupt loader is
 * rejected with a message naming the file and the problem before any device
 * is touched.
 */
#ifndef TP_LDR_H
#define TP_LDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TP_LDR_HEADER_SIZE 102 /* §3.1 */
#define TP_LDR_ENTRY_SIZE 57   /* §3.2 */
#define TP_LDR_NAME_UNITS 20   /* UTF-16LE code units of an entry name */

/* Entry types, which are also the tables they live in (§3.2). */
enum tp_ldr_type {
	TP_LDR_471 = 1,    /* maskrom area 0x471: DDR init */
	TP_LDR_472 = 2,    /* maskrom area 0x472: usbplug */
	TP_LDR_LOADER = 4, /* flash entries (FlashData, FlashBoot); not downloaded */
};

struct tp_ldr_entry {
	enum tp_ldr_type type;
	char name[TP_LDR_NAME_UNITS + 1]; /* ASCII rendering, '?' for non-ASCII units */
	const uint8_t *data;              /* the bytes as stored in the file */
	uint32_t offset;                  /* of data in the file */
	uint32_t size;
	uint32_t delay_ms; /* to wait after sending it (§3.2) */
};

struct tp_ldr_info {
	char tag[5];           /* "LDR " or "BOOT" */
	char chip[5];          /* "3588": the chip field read back to front (§3.1) */
	uint32_t chip_raw;     /* the field as a LE u32, for old enum-style chips */
	uint32_t version;
	uint32_t merger_version;
	uint16_t year;         /* release time */
	uint8_t month, day, hour, minute, second;
	bool signed_;          /* sign flag == 'S' */
	bool rc4;              /* payloads are RC4-scrambled (RC4 flag == 0, §3.4) */
	uint32_t crc;          /* the file's CRC-32 (§3.3), verified */
};

struct tp_ldr;

/*
 * Read and validate a loader file. chip is the chip it must be built for
 * ("3588"), or NULL to accept any. 0, or -errno with a message that names
 * path and the problem (-EINVAL for a malformed or wrong-chip file).
 */
int tp_ldr_open(const char *path, const char *chip, struct tp_ldr **out);

/* The same for a file already in memory; buf is copied. name is for messages. */
int tp_ldr_parse(const void *buf, size_t len, const char *name, const char *chip,
		 struct tp_ldr **out);

void tp_ldr_free(struct tp_ldr *l);

const struct tp_ldr_info *tp_ldr_info(const struct tp_ldr *l);

/* The name given at open/parse time (the path). */
const char *tp_ldr_name(const struct tp_ldr *l);

/* Entries of one table, in table order; entries whose size byte is 0 are
 * skipped as bmcd skips them (§4.1). */
size_t tp_ldr_count(const struct tp_ldr *l, enum tp_ldr_type type);
const struct tp_ldr_entry *tp_ldr_entry(const struct tp_ldr *l, enum tp_ldr_type type, size_t i);

/*
 * Plain text of an entry into out (e->size bytes): the stored bytes, or for a
 * file with RC4 on, deciphered as the merger enciphered them (whole payload
 * for 0x471/0x472, per 512-byte packet for loader entries, §3.4). Download
 * tools send the stored bytes, not this; it is for inspection and tests.
 */
void tp_ldr_entry_plain(const struct tp_ldr *l, const struct tp_ldr_entry *e, uint8_t *out);

/* Rockchip's CRC-32 (§3.3): poly 0x04C10DB7, MSB first, init 0, no final XOR.
 * Pass 0 as crc for a fresh computation; chain calls to continue one. */
uint32_t tp_ldr_crc32(uint32_t crc, const void *data, size_t len);

#endif
