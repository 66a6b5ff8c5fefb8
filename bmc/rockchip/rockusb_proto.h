/* SPDX-License-Identifier: MIT */
/*
 * The rockusb command protocol spoken by the downloaded loader (usbplug):
 * CBW -> optional data -> CSW on bulk endpoints, with Rockchip's own command
 * set in the command block (docs/protocols.md §5). Pure encoders
 * and decoders only; transport is in rockusb.c.
 */
#ifndef TP_ROCKUSB_PROTO_H
#define TP_ROCKUSB_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TP_RK_CBW_LEN 31
#define TP_RK_CSW_LEN 13
#define TP_RK_CBW_SIGN 0x43425355u /* "USBC" */
#define TP_RK_CSW_SIGN 0x53425355u /* "USBS" */
#define TP_RK_SECTOR 512
#define TP_RK_DIR_IN 0x80
#define TP_RK_DIR_OUT 0x00
#define TP_RK_MAX_COUNT 65535u /* the 16-bit count field (§5.5) */

/* Fixed reply lengths (§5.3). */
#define TP_RK_FLASH_ID_LEN 5
#define TP_RK_FLASH_INFO_LEN 11
#define TP_RK_CHIP_INFO_LEN 16

/* Opcodes tpkit uses (§5.3). */
enum tp_rk_op {
	TP_RK_TEST_UNIT_READY = 0x00,
	TP_RK_READ_FLASH_ID = 0x01,
	TP_RK_READ_LBA = 0x14,
	TP_RK_WRITE_LBA = 0x15,
	TP_RK_READ_FLASH_INFO = 0x1A,
	TP_RK_READ_CHIP_INFO = 0x1B,
	TP_RK_ERASE_LBA = 0x25,
	TP_RK_DEVICE_RESET = 0xFF,
};

/* DEVICE_RESET subcodes (§5.4). */
enum tp_rk_reset {
	TP_RK_RESET = 0,
	TP_RK_RESET_MSC = 1,
	TP_RK_RESET_POWEROFF = 2,
	TP_RK_RESET_MASKROM = 3,
	TP_RK_RESET_DISCONNECT = 4,
};

struct tp_rk_cbw {
	uint32_t tag;
	uint32_t data_len; /* bytes in the data phase */
	uint8_t flags;     /* TP_RK_DIR_IN or TP_RK_DIR_OUT */
	uint8_t lun;
	uint8_t cb_len;    /* 6 or 10 */
	uint8_t op;        /* CB[0] */
	uint8_t sub;       /* CB[1] */
	uint32_t lba;      /* CB[2..5], big-endian on the wire */
	uint16_t count;    /* CB[7..8], big-endian on the wire */
};

struct tp_rk_csw {
	uint32_t tag;
	uint32_t residue;
	uint8_t status; /* 0 ok, 1 failed */
};

struct tp_rk_flash_info {
	uint32_t sectors;       /* flash size in 512-byte sectors */
	uint16_t block_sectors;
	uint8_t page_sectors;
	uint8_t ecc_bits;
	uint8_t access_time;
	uint8_t manufacturer;
	uint8_t cs_map;         /* flash chip-select bitmap */
};

/*
 * Fill c for op: direction, command-block length and data length per §5.3.
 * lba and count are used by READ_LBA/WRITE_LBA/ERASE_LBA (count in sectors,
 * 1..65535); sub is CB[1] (reset kind, test-unit-ready subcode, 0 = "image"
 * method for LBA commands). -EINVAL with a message for a bad op or count.
 */
int tp_rk_cbw_make(struct tp_rk_cbw *c, enum tp_rk_op op, uint32_t tag, uint32_t lba,
		   uint32_t count, uint8_t sub);

/* Exactly TP_RK_CBW_LEN bytes, reserved fields zero (§5.1). */
void tp_rk_cbw_encode(const struct tp_rk_cbw *c, uint8_t out[TP_RK_CBW_LEN]);

/* For device models and tests: -EPROTO on a bad length or signature. */
int tp_rk_cbw_decode(const uint8_t *buf, size_t len, struct tp_rk_cbw *c);

void tp_rk_csw_encode(const struct tp_rk_csw *s, uint8_t out[TP_RK_CSW_LEN]);

/* Decode a received CSW; -EPROTO with a message on a bad length or signature. */
int tp_rk_csw_decode(const uint8_t *buf, size_t len, struct tp_rk_csw *s);

/*
 * Check a decoded CSW against the command it answers (§5.2): the tag must
 * match (-EPROTO) and the status be 0 (-EIO). The message starts with the
 * command and, for LBA commands, its LBA range ("WRITE_LBA at LBA 8 (+128
 * sectors): ..."); the transport prefixes the device.
 */
int tp_rk_csw_check(const struct tp_rk_csw *s, const struct tp_rk_cbw *c);

/* Next CBW tag. Tags are opaque to the device (§5.1); a counter never
 * repeats within a session, so a stale CSW cannot pass for a fresh one. */
uint32_t tp_rk_tag_next(uint32_t *state);

/* "WRITE_LBA" etc., "opcode 0x.." for others. */
const char *tp_rk_op_name(uint8_t op);

/* Reply parsers (§5.4); -EPROTO with a message when too short or invalid. */
int tp_rk_flash_info_parse(const uint8_t *buf, size_t len, struct tp_rk_flash_info *fi);
/* 5 raw bytes, NUL-terminated into id; *emmc set when they start "EMMC". */
int tp_rk_flash_id_parse(const uint8_t *buf, size_t len, char id[TP_RK_FLASH_ID_LEN + 1],
			 bool *emmc);
/* Chip code in reading order: the reversed ASCII "8853" becomes "3588". */
int tp_rk_chip_info_parse(const uint8_t *buf, size_t len, char chip[5]);

/* TEST_UNIT_READY progress while busy: residue high 16 bits = current, low
 * 16 = total, each big-endian u16 (§5.4). */
void tp_rk_tur_progress(uint32_t residue, uint16_t *current, uint16_t *total);

#endif
