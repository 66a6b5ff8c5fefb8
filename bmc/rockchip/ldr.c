// SPDX-License-Identifier: MIT
/*
 * LDR loader file parser. Section numbers refer to
 * docs/protocols.md. Every check runs at open time so that a bad
 * file never reaches a device half-sent.
 */
#include "ldr.h"
#include "common/err.h"
#include "common/log.h"
#include "common/rkrc4.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A loader is a few hundred KiB (bmcd's: 448,960 bytes, §3.5); refusing
 * anything huge keeps a wrong path (an OS image) from eating the BMC's RAM. */
#define LDR_MAX_FILE (16u << 20)

#define TAG_LDR 0x2052444Cu  /* "LDR " */
#define TAG_BOOT 0x544F4F42u /* "BOOT" */

/* Header offsets (§3.1). */
#define H_TAG 0x00
#define H_SIZE 0x04
#define H_VERSION 0x06
#define H_MERGER 0x0A
#define H_TIME 0x0E
#define H_CHIP 0x15
#define H_TABLES 0x19 /* three (count u8, offset u32, entry size u8) triples */
#define H_SIGN 0x2B
#define H_RC4 0x2C

/* Entry offsets (§3.2). */
#define E_SIZE 0x00
#define E_TYPE 0x01
#define E_NAME 0x05
#define E_OFFSET 0x2D
#define E_DATA_SIZE 0x31
#define E_DELAY 0x35

/* Loader entries are enciphered per 512-byte packet (§3.4). */
#define RC4_PACKET 512

struct tp_ldr {
	char *name;
	uint8_t *buf;
	size_t len;
	struct tp_ldr_info info;
	struct tp_ldr_entry *entries; /* all three tables, 0x471 first */
	size_t count[3];              /* per table: 471, 472, loader */
};

static const enum tp_ldr_type table_types[3] = { TP_LDR_471, TP_LDR_472, TP_LDR_LOADER };
static const char *const table_names[3] = { "0x471", "0x472", "loader" };

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint32_t tp_ldr_crc32(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;

	/* Bitwise, MSB first: a loader is checked once per flash, and at
	 * ~450 KB this costs milliseconds without a 1 KiB table. Note the
	 * polynomial is Rockchip's 0x04C10DB7, not zlib's 0x04C11DB7 (§3.3). */
	while (len--) {
		crc ^= (uint32_t)*p++ << 24;
		for (int k = 0; k < 8; k++)
			crc = (crc << 1) ^ (0x04C10DB7u & (0u - (crc >> 31)));
	}
	return crc;
}

static void name_from_utf16(const uint8_t *p, char *out)
{
	size_t n = 0;

	for (; n < TP_LDR_NAME_UNITS; n++) {
		uint16_t u = le16(p + 2 * n);

		if (!u)
			break;
		out[n] = (u >= 0x20 && u < 0x7F) ? (char)u : '?';
	}
	out[n] = '\0';
}

/* Validate one table and append its entries; t indexes table_types. */
static int parse_table(struct tp_ldr *l, int t, size_t *n)
{
	const uint8_t *h = l->buf + H_TABLES + 6 * t;
	unsigned count = h[0], esize = h[5];
	uint32_t toff = le32(h + 1);
	size_t end = l->len - 4; /* the CRC-32 trailer is nobody's data (§3.3) */

	if (!count)
		return 0;
	if (esize < TP_LDR_ENTRY_SIZE)
		return tp_err_set(-EINVAL, "%s: %s table: entry size %u, expected %u", l->name,
				  table_names[t], esize, TP_LDR_ENTRY_SIZE);
	if (toff < TP_LDR_HEADER_SIZE || (uint64_t)toff + (uint64_t)count * esize > end)
		return tp_err_set(-EINVAL,
				  "%s: %s table (%u entries at offset %u) lies outside the file "
				  "(%zu bytes): truncated or not a loader",
				  l->name, table_names[t], count, toff, l->len);

	for (unsigned i = 0; i < count; i++) {
		const uint8_t *e = l->buf + toff + (size_t)i * esize;
		struct tp_ldr_entry *out = &l->entries[*n];
		uint32_t type = le32(e + E_TYPE);

		/* bmcd skips an entry whose size byte is 0 (§4.1). */
		if (e[E_SIZE] == 0) {
			TP_DBG("%s: %s entry %u has size byte 0, skipped", l->name, table_names[t], i);
			continue;
		}
		name_from_utf16(e + E_NAME, out->name);
		if (e[E_SIZE] < TP_LDR_ENTRY_SIZE)
			return tp_err_set(-EINVAL, "%s: %s entry %u (\"%s\"): size byte %u, expected %u",
					  l->name, table_names[t], i, out->name, e[E_SIZE],
					  TP_LDR_ENTRY_SIZE);
		if (type != (uint32_t)table_types[t])
			return tp_err_set(-EINVAL,
					  "%s: %s entry %u (\"%s\") has type %u, expected %d for "
					  "this table",
					  l->name, table_names[t], i, out->name, type, table_types[t]);
		out->type = table_types[t];
		out->offset = le32(e + E_OFFSET);
		out->size = le32(e + E_DATA_SIZE);
		out->delay_ms = le32(e + E_DELAY);
		if ((uint64_t)out->offset + out->size > end || out->offset < TP_LDR_HEADER_SIZE)
			return tp_err_set(-EINVAL,
					  "%s: %s entry %u (\"%s\"): %u bytes at offset %u lie outside "
					  "the file's data (%zu bytes before the checksum): truncated "
					  "or corrupt",
					  l->name, table_names[t], i, out->name, out->size,
					  out->offset, end);
		/* An empty area has no defined framing (§4.2 starts at L > 0). */
		if (!out->size && t < 2)
			return tp_err_set(-EINVAL, "%s: %s entry %u (\"%s\") is empty", l->name,
					  table_names[t], i, out->name);
		out->data = l->buf + out->offset;
		(*n)++;
		l->count[t]++;
	}
	return 0;
}

static int check_chip(struct tp_ldr *l, const char *chip)
{
	if (!chip)
		return 0;
	if (strlen(chip) != 4 || memcmp(l->info.chip, chip, 4))
		return tp_err_set(-EINVAL, "%s: loader is built for chip \"%s\" (field 0x%08x), not RK%s",
				  l->name, l->info.chip, l->info.chip_raw, chip);
	return 0;
}

/* Takes ownership of buf. */
static int parse_owned(uint8_t *buf, size_t len, const char *name, const char *chip,
		       struct tp_ldr **out)
{
	struct tp_ldr *l = calloc(1, sizeof(*l));
	struct tp_ldr_info *in;
	uint32_t tag, stored, crc;
	size_t n = 0;
	int rc = 0;

	*out = NULL;
	if (!l || !(l->name = strdup(name))) {
		free(l);
		free(buf);
		return tp_err_set(-ENOMEM, "%s: out of memory", name);
	}
	l->buf = buf;
	l->len = len;
	in = &l->info;

	/* Most specific first: a file that is not a loader at all gets "bad
	 * tag", a cut-off loader gets the entry that runs past the end, and
	 * the checksum catches what is left (flipped bits). */
	if (len < TP_LDR_HEADER_SIZE + 4)
		TP_FAIL(-EINVAL, "%s: %zu bytes is too short for a loader (header %d + CRC 4): "
			"truncated or not a loader", name, len, TP_LDR_HEADER_SIZE);
	tag = le32(buf + H_TAG);
	memcpy(in->tag, buf + H_TAG, 4);
	for (int i = 0; i < 4; i++)
		if (in->tag[i] < 0x20 || in->tag[i] > 0x7E)
			in->tag[i] = '?';
	if (tag != TAG_LDR && tag != TAG_BOOT)
		TP_FAIL(-EINVAL, "%s: bad tag 0x%08x (\"%s\"), expected \"LDR \" or \"BOOT\": "
			"not a Rockchip loader", name, tag, in->tag);
	if (le16(buf + H_SIZE) < TP_LDR_HEADER_SIZE)
		TP_FAIL(-EINVAL, "%s: header size %u, expected %d", name, le16(buf + H_SIZE),
			TP_LDR_HEADER_SIZE);

	in->version = le32(buf + H_VERSION);
	in->merger_version = le32(buf + H_MERGER);
	in->year = le16(buf + H_TIME);
	in->month = buf[H_TIME + 2];
	in->day = buf[H_TIME + 3];
	in->hour = buf[H_TIME + 4];
	in->minute = buf[H_TIME + 5];
	in->second = buf[H_TIME + 6];
	in->chip_raw = le32(buf + H_CHIP);
	/* The four characters after "RK", stored first-character-highest in
	 * a LE u32, so the file reads "8853" for RK3588 (§3.1). */
	for (int i = 0; i < 4; i++) {
		char c = (char)buf[H_CHIP + 3 - i];

		in->chip[i] = (c >= 0x20 && c < 0x7F) ? c : '?';
	}
	in->signed_ = buf[H_SIGN] == 'S';
	in->rc4 = buf[H_RC4] == 0; /* non-zero = RC4 disabled (§3.1) */

	l->entries = calloc((size_t)buf[H_TABLES] + buf[H_TABLES + 6] + buf[H_TABLES + 12] + 1,
			    sizeof(*l->entries));
	if (!l->entries)
		TP_FAIL(-ENOMEM, "%s: out of memory", name);
	for (int t = 0; t < 3; t++)
		TP_TRY(parse_table(l, t, &n));

	stored = le32(buf + len - 4);
	crc = tp_ldr_crc32(0, buf, len - 4);
	if (crc != stored)
		TP_FAIL(-EINVAL, "%s: checksum mismatch: file says 0x%08x, contents give 0x%08x: "
			"the file is corrupt or truncated", name, stored, crc);
	in->crc = crc;

	TP_TRY(check_chip(l, chip));
	if (!l->count[0])
		TP_FAIL(-EINVAL, "%s: no 0x471 (DDR init) entry: the maskrom needs one", name);
	if (!l->count[1])
		TP_FAIL(-EINVAL, "%s: no 0x472 (usbplug) entry: the maskrom needs one", name);
	if (in->rc4)
		TP_INFO("%s: RC4 flag 0: payloads are sent RC4-scrambled, as stored (§3.4)", name);
	*out = l;
out:
	if (rc < 0)
		tp_ldr_free(l);
	return rc;
}

int tp_ldr_parse(const void *buf, size_t len, const char *name, const char *chip,
		 struct tp_ldr **out)
{
	uint8_t *copy = malloc(len ? len : 1);

	*out = NULL;
	if (!copy)
		return tp_err_set(-ENOMEM, "%s: out of memory (%zu bytes)", name, len);
	memcpy(copy, buf, len);
	return parse_owned(copy, len, name, chip, out);
}

int tp_ldr_open(const char *path, const char *chip, struct tp_ldr **out)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t got = 0;
	int fd, rc = 0;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return tp_err_set(-errno, "loader %s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0)
		TP_FAIL(-errno, "loader %s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode) || st.st_size > (off_t)LDR_MAX_FILE)
		TP_FAIL(-EINVAL, "loader %s: not a regular file of at most %u bytes", path,
			LDR_MAX_FILE);
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf)
		TP_FAIL(-ENOMEM, "loader %s: out of memory", path);
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			TP_FAIL(-errno, "loader %s: read: %s", path, strerror(errno));
		if (r == 0)
			break; /* shrank under us: parse what is there, it will say why */
		got += (size_t)r;
	}
	close(fd);
	fd = -1;
	rc = parse_owned(buf, got, path, chip, out);
	buf = NULL;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return rc;
}

void tp_ldr_free(struct tp_ldr *l)
{
	if (!l)
		return;
	free(l->entries);
	free(l->buf);
	free(l->name);
	free(l);
}

const struct tp_ldr_info *tp_ldr_info(const struct tp_ldr *l)
{
	return &l->info;
}

const char *tp_ldr_name(const struct tp_ldr *l)
{
	return l->name;
}

static int table_index(enum tp_ldr_type type)
{
	return type == TP_LDR_471 ? 0 : type == TP_LDR_472 ? 1 : type == TP_LDR_LOADER ? 2 : -1;
}

size_t tp_ldr_count(const struct tp_ldr *l, enum tp_ldr_type type)
{
	int t = table_index(type);

	return t < 0 ? 0 : l->count[t];
}

const struct tp_ldr_entry *tp_ldr_entry(const struct tp_ldr *l, enum tp_ldr_type type, size_t i)
{
	int t = table_index(type);
	size_t base = 0;

	if (t < 0 || i >= l->count[t])
		return NULL;
	for (int k = 0; k < t; k++)
		base += l->count[k];
	return &l->entries[base + i];
}

void tp_ldr_entry_plain(const struct tp_ldr *l, const struct tp_ldr_entry *e, uint8_t *out)
{
	memcpy(out, e->data, e->size);
	if (!l->info.rc4)
		return;
	if (e->type != TP_LDR_LOADER) {
		tp_rk_rc4(out, e->size);
		return;
	}
	for (uint32_t off = 0; off < e->size; off += RC4_PACKET)
		tp_rk_rc4(out + off, e->size - off < RC4_PACKET ? e->size - off : RC4_PACKET);
}
