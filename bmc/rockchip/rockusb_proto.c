// SPDX-License-Identifier: MIT
/*
 * Rockusb CBW/CSW codec (protocols.md §5). The command block is laid out like
 * a SCSI 10-byte CDB (opcode, subcode, BE32 LBA, reserved, BE16 count), which
 * is why rockusb.ko can forward READ_10/WRITE_10 by changing byte 0 (§6);
 * the wrapper around it is Bulk-Only's, little-endian.
 */
#include "rockusb_proto.h"
#include "common/err.h"

#include <stdio.h>
#include <string.h>

/* CBW offsets (§5.1). */
#define CBW_SIGN 0
#define CBW_TAG 4
#define CBW_DLEN 8
#define CBW_FLAGS 12
#define CBW_LUN 13
#define CBW_CBLEN 14
#define CBW_OP 15
#define CBW_SUB 16
#define CBW_LBA 17
#define CBW_COUNT 22

/* CSW offsets (§5.2). */
#define CSW_SIGN 0
#define CSW_TAG 4
#define CSW_RESIDUE 8
#define CSW_STATUS 12

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Per opcode (§5.3): data direction, command-block length, and the fixed
 * data length of the short replies; LBA commands derive theirs from count. */
static const struct op_desc {
	uint8_t op;
	const char *name;
	uint8_t flags;
	uint8_t cb_len;
	uint32_t data_len;
	bool lba; /* LBA and count in the command block */
} ops[] = {
	/* No data phase: flags 0x00 (§5.1 "data OUT / none"). rkdeveloptool
	 * sets 0x80 on TEST_UNIT_READY; with a zero length the flag carries
	 * nothing, and tpkit follows the document's rule. */
	{ TP_RK_TEST_UNIT_READY, "TEST_UNIT_READY", TP_RK_DIR_OUT, 6, 0, false },
	{ TP_RK_READ_FLASH_ID, "READ_FLASH_ID", TP_RK_DIR_IN, 6, TP_RK_FLASH_ID_LEN, false },
	{ TP_RK_READ_LBA, "READ_LBA", TP_RK_DIR_IN, 10, 0, true },
	{ TP_RK_WRITE_LBA, "WRITE_LBA", TP_RK_DIR_OUT, 10, 0, true },
	{ TP_RK_READ_FLASH_INFO, "READ_FLASH_INFO", TP_RK_DIR_IN, 6, TP_RK_FLASH_INFO_LEN, false },
	{ TP_RK_READ_CHIP_INFO, "READ_CHIP_INFO", TP_RK_DIR_IN, 6, TP_RK_CHIP_INFO_LEN, false },
	{ TP_RK_ERASE_LBA, "ERASE_LBA", TP_RK_DIR_OUT, 10, 0, true },
	{ TP_RK_DEVICE_RESET, "DEVICE_RESET", TP_RK_DIR_OUT, 6, 0, false },
};

static const struct op_desc *op_find(uint8_t op)
{
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (ops[i].op == op)
			return &ops[i];
	return NULL;
}

const char *tp_rk_op_name(uint8_t op)
{
	static _Thread_local char buf[16];
	const struct op_desc *d = op_find(op);

	if (d)
		return d->name;
	snprintf(buf, sizeof(buf), "opcode 0x%02x", op);
	return buf;
}

int tp_rk_cbw_make(struct tp_rk_cbw *c, enum tp_rk_op op, uint32_t tag, uint32_t lba,
		   uint32_t count, uint8_t sub)
{
	const struct op_desc *d = op_find((uint8_t)op);

	memset(c, 0, sizeof(*c));
	if (!d)
		return tp_err_set(-EINVAL, "rockusb: opcode 0x%02x is not supported", (unsigned)op);
	c->tag = tag;
	c->flags = d->flags;
	c->cb_len = d->cb_len;
	c->op = d->op;
	c->sub = sub;
	c->data_len = d->data_len;
	if (!d->lba)
		return 0;
	if (count == 0 || count > TP_RK_MAX_COUNT)
		return tp_err_set(-EINVAL, "rockusb %s at LBA %u: %u sectors, must be 1..%u",
				  d->name, lba, count, TP_RK_MAX_COUNT);
	c->lba = lba;
	c->count = (uint16_t)count;
	/* ERASE_LBA carries its range in the command block only. */
	if (op != TP_RK_ERASE_LBA)
		c->data_len = count * TP_RK_SECTOR;
	return 0;
}

void tp_rk_cbw_encode(const struct tp_rk_cbw *c, uint8_t out[TP_RK_CBW_LEN])
{
	memset(out, 0, TP_RK_CBW_LEN);
	put_le32(out + CBW_SIGN, TP_RK_CBW_SIGN);
	/* The tag is opaque (§5.1): written LE like every wrapper field. */
	put_le32(out + CBW_TAG, c->tag);
	put_le32(out + CBW_DLEN, c->data_len);
	out[CBW_FLAGS] = c->flags;
	out[CBW_LUN] = c->lun;
	out[CBW_CBLEN] = c->cb_len;
	out[CBW_OP] = c->op;
	out[CBW_SUB] = c->sub;
	put_be32(out + CBW_LBA, c->lba);
	out[CBW_COUNT] = (uint8_t)(c->count >> 8);
	out[CBW_COUNT + 1] = (uint8_t)c->count;
}

int tp_rk_cbw_decode(const uint8_t *buf, size_t len, struct tp_rk_cbw *c)
{
	memset(c, 0, sizeof(*c));
	if (len != TP_RK_CBW_LEN)
		return tp_err_set(-EPROTO, "rockusb CBW: %zu bytes, expected %d", len, TP_RK_CBW_LEN);
	if (get_le32(buf + CBW_SIGN) != TP_RK_CBW_SIGN)
		return tp_err_set(-EPROTO, "rockusb CBW: bad signature 0x%08x",
				  get_le32(buf + CBW_SIGN));
	c->tag = get_le32(buf + CBW_TAG);
	c->data_len = get_le32(buf + CBW_DLEN);
	c->flags = buf[CBW_FLAGS];
	c->lun = buf[CBW_LUN];
	c->cb_len = buf[CBW_CBLEN];
	c->op = buf[CBW_OP];
	c->sub = buf[CBW_SUB];
	c->lba = get_be32(buf + CBW_LBA);
	c->count = (uint16_t)(buf[CBW_COUNT] << 8 | buf[CBW_COUNT + 1]);
	return 0;
}

void tp_rk_csw_encode(const struct tp_rk_csw *s, uint8_t out[TP_RK_CSW_LEN])
{
	put_le32(out + CSW_SIGN, TP_RK_CSW_SIGN);
	put_le32(out + CSW_TAG, s->tag);
	put_le32(out + CSW_RESIDUE, s->residue);
	out[CSW_STATUS] = s->status;
}

int tp_rk_csw_decode(const uint8_t *buf, size_t len, struct tp_rk_csw *s)
{
	memset(s, 0, sizeof(*s));
	if (len != TP_RK_CSW_LEN)
		return tp_err_set(-EPROTO, "rockusb CSW: %zu bytes, expected %d", len, TP_RK_CSW_LEN);
	if (get_le32(buf + CSW_SIGN) != TP_RK_CSW_SIGN)
		return tp_err_set(-EPROTO, "rockusb CSW: bad signature 0x%08x, expected \"USBS\"",
				  get_le32(buf + CSW_SIGN));
	s->tag = get_le32(buf + CSW_TAG);
	s->residue = get_le32(buf + CSW_RESIDUE);
	s->status = buf[CSW_STATUS];
	return 0;
}

static void describe(const struct tp_rk_cbw *c, char *buf, size_t size)
{
	const struct op_desc *d = op_find(c->op);

	if (d && d->lba)
		snprintf(buf, size, "%s at LBA %u (+%u sectors)", d->name, c->lba, c->count);
	else
		snprintf(buf, size, "%s", tp_rk_op_name(c->op));
}

int tp_rk_csw_check(const struct tp_rk_csw *s, const struct tp_rk_cbw *c)
{
	char what[64];

	describe(c, what, sizeof(what));
	if (s->tag != c->tag)
		return tp_err_set(-EPROTO,
				  "%s: CSW tag 0x%08x does not match CBW tag 0x%08x: "
				  "the loader is out of step; reset the node into maskrom and "
				  "flash again",
				  what, s->tag, c->tag);
	if (s->status != 0)
		return tp_err_set(-EIO, "%s: loader reports failure (CSW status %u, residue %u)",
				  what, s->status, s->residue);
	return 0;
}

uint32_t tp_rk_tag_next(uint32_t *state)
{
	/* Skip 0 so an all-zero buffer can never look like our answer. */
	if (++*state == 0)
		++*state;
	return *state;
}

int tp_rk_flash_info_parse(const uint8_t *buf, size_t len, struct tp_rk_flash_info *fi)
{
	memset(fi, 0, sizeof(*fi));
	if (len < TP_RK_FLASH_INFO_LEN)
		return tp_err_set(-EPROTO, "rockusb READ_FLASH_INFO: %zu-byte reply, expected %d",
				  len, TP_RK_FLASH_INFO_LEN);
	fi->sectors = get_le32(buf);
	fi->block_sectors = (uint16_t)(buf[4] | buf[5] << 8);
	fi->page_sectors = buf[6];
	fi->ecc_bits = buf[7];
	fi->access_time = buf[8];
	fi->manufacturer = buf[9];
	fi->cs_map = buf[10];
	/* rkdeveloptool rejects these too (§5.4): a zero geometry means the
	 * loader has not found its storage. */
	if (!fi->block_sectors || !fi->page_sectors)
		return tp_err_set(-EPROTO,
				  "rockusb READ_FLASH_INFO: block size %u, page size %u sectors: "
				  "the loader found no usable flash",
				  fi->block_sectors, fi->page_sectors);
	if (!fi->sectors)
		return tp_err_set(-EPROTO, "rockusb READ_FLASH_INFO: flash size 0 sectors");
	return 0;
}

int tp_rk_flash_id_parse(const uint8_t *buf, size_t len, char id[TP_RK_FLASH_ID_LEN + 1],
			 bool *emmc)
{
	memset(id, 0, TP_RK_FLASH_ID_LEN + 1);
	*emmc = false;
	if (len < TP_RK_FLASH_ID_LEN)
		return tp_err_set(-EPROTO, "rockusb READ_FLASH_ID: %zu-byte reply, expected %d", len,
				  TP_RK_FLASH_ID_LEN);
	memcpy(id, buf, TP_RK_FLASH_ID_LEN);
	*emmc = get_le32(buf) == 0x434D4D45u; /* "EMMC" */
	return 0;
}

int tp_rk_chip_info_parse(const uint8_t *buf, size_t len, char chip[5])
{
	memset(chip, 0, 5);
	if (len < 4)
		return tp_err_set(-EPROTO, "rockusb READ_CHIP_INFO: %zu-byte reply, expected %d", len,
				  TP_RK_CHIP_INFO_LEN);
	for (int i = 0; i < 4; i++) {
		uint8_t ch = buf[3 - i];

		chip[i] = (ch >= 0x20 && ch < 0x7F) ? (char)ch : '?';
	}
	return 0;
}

void tp_rk_tur_progress(uint32_t residue, uint16_t *current, uint16_t *total)
{
	uint16_t hi = (uint16_t)(residue >> 16), lo = (uint16_t)residue;

	*current = (uint16_t)(hi >> 8 | hi << 8);
	*total = (uint16_t)(lo >> 8 | lo << 8);
}
