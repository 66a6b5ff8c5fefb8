// SPDX-License-Identifier: MIT
/*
 * Rockusb CBW/CSW codec byte for byte against protocols.md §5.1-§5.4. The
 * expected bytes are written out by hand from the tables, not produced by
 * the encoder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "bmc/rockchip/rockusb_proto.h"
#include "common/err.h"

static void encode(enum tp_rk_op op, uint32_t tag, uint32_t lba, uint32_t count, uint8_t sub,
		   uint8_t out[TP_RK_CBW_LEN])
{
	struct tp_rk_cbw c;

	assert_int_equal(tp_rk_cbw_make(&c, op, tag, lba, count, sub), 0);
	tp_rk_cbw_encode(&c, out);
}

static void cbw_write_lba(void **state)
{
	static const uint8_t want[TP_RK_CBW_LEN] = {
		'U', 'S', 'B', 'C',	/* signature, u32 LE 0x43425355 */
		0x78, 0x56, 0x34, 0x12, /* tag 0x12345678, LE */
		0x00, 0x00, 0x01, 0x00, /* 128 x 512 = 65536, LE */
		0x00,			/* flags: OUT */
		0x00,			/* LUN */
		0x0A,			/* CB length 10 */
		0x15,			/* WRITE_LBA */
		0x00,			/* subcode: "image" method */
		0x00, 0x01, 0x02, 0x03, /* LBA 0x00010203, BE */
		0x00,			/* reserved */
		0x00, 0x80,		/* 128 sectors, BE */
		0, 0, 0, 0, 0, 0, 0,
	};
	uint8_t got[TP_RK_CBW_LEN];

	(void)state;
	encode(TP_RK_WRITE_LBA, 0x12345678, 0x00010203, 128, 0, got);
	assert_memory_equal(got, want, sizeof(want));
}

static void cbw_read_lba(void **state)
{
	static const uint8_t want[TP_RK_CBW_LEN] = {
		'U', 'S', 'B', 'C', 0x01, 0x00, 0x00, 0x80, /* tag 0x80000001 */
		0x00, 0xFE, 0xFF, 0x01,			    /* 65535 x 512 = 0x01FFFE00 */
		0x80, 0x00, 0x0A, 0x14, 0x00, 0xFF, 0xFF, 0xFF, 0xFE, 0x00, 0xFF, 0xFF,
		0, 0, 0, 0, 0, 0, 0,
	};
	uint8_t got[TP_RK_CBW_LEN];

	(void)state;
	encode(TP_RK_READ_LBA, 0x80000001u, 0xFFFFFFFEu, 65535, 0, got);
	assert_memory_equal(got, want, sizeof(want));
}

static void cbw_short_commands(void **state)
{
	static const struct {
		enum tp_rk_op op;
		uint8_t sub;
		uint8_t dlen, flags, cblen, opcode;
	} cases[] = {
		/* §5.3: data phase, CB length, data length. */
		{ TP_RK_TEST_UNIT_READY, 0, 0, 0x00, 6, 0x00 },
		{ TP_RK_READ_FLASH_ID, 0, 5, 0x80, 6, 0x01 },
		{ TP_RK_READ_FLASH_INFO, 0, 11, 0x80, 6, 0x1A },
		{ TP_RK_READ_CHIP_INFO, 0, 16, 0x80, 6, 0x1B },
		{ TP_RK_DEVICE_RESET, TP_RK_RESET_MASKROM, 0, 0x00, 6, 0xFF },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t want[TP_RK_CBW_LEN] = { 'U', 'S', 'B', 'C', 0xEF, 0xBE, 0xAD, 0xDE };
		uint8_t got[TP_RK_CBW_LEN];

		want[8] = cases[i].dlen;
		want[12] = cases[i].flags;
		want[14] = cases[i].cblen;
		want[15] = cases[i].opcode;
		want[16] = cases[i].sub;
		/* LBA and count are ignored by these commands: stay zero. */
		encode(cases[i].op, 0xDEADBEEF, 1234, 5, cases[i].sub, got);
		assert_memory_equal(got, want, sizeof(want));
	}
}

static void cbw_erase_lba(void **state)
{
	static const uint8_t want[TP_RK_CBW_LEN] = {
		'U', 'S', 'B', 'C', 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* no data */
		0x00, 0x00, 0x0A, 0x25, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x80, 0x00,
		0, 0, 0, 0, 0, 0, 0,
	};
	uint8_t got[TP_RK_CBW_LEN];

	(void)state;
	encode(TP_RK_ERASE_LBA, 2, 32768, 32768, 0, got);
	assert_memory_equal(got, want, sizeof(want));
}

static void cbw_bad(void **state)
{
	struct tp_rk_cbw c;

	(void)state;
	assert_int_equal(tp_rk_cbw_make(&c, TP_RK_WRITE_LBA, 1, 7, 0, 0), -EINVAL);
	assert_non_null(strstr(tp_err_msg(), "WRITE_LBA at LBA 7: 0 sectors, must be 1..65535"));
	assert_int_equal(tp_rk_cbw_make(&c, TP_RK_READ_LBA, 1, 7, 65536, 0), -EINVAL);
	assert_int_equal(tp_rk_cbw_make(&c, (enum tp_rk_op)0x05, 1, 7, 1, 0), -EINVAL);
	assert_non_null(strstr(tp_err_msg(), "opcode 0x05"));
}

static void cbw_roundtrip(void **state)
{
	struct tp_rk_cbw a, b;
	uint8_t buf[TP_RK_CBW_LEN];

	(void)state;
	assert_int_equal(tp_rk_cbw_make(&a, TP_RK_WRITE_LBA, 0xA5A5A5A5, 0x12345678, 300, 0), 0);
	tp_rk_cbw_encode(&a, buf);
	assert_int_equal(tp_rk_cbw_decode(buf, sizeof(buf), &b), 0);
	assert_memory_equal(&a, &b, sizeof(a));
	assert_int_equal(tp_rk_cbw_decode(buf, 30, &b), -EPROTO);
	buf[0] = 'X';
	assert_int_equal(tp_rk_cbw_decode(buf, sizeof(buf), &b), -EPROTO);
}

static void csw_decode_check(void **state)
{
	static const uint8_t ok[TP_RK_CSW_LEN] = {
		'U', 'S', 'B', 'S', 0x78, 0x56, 0x34, 0x12, 0x10, 0x00, 0x00, 0x00, 0x00,
	};
	struct tp_rk_cbw c;
	struct tp_rk_csw s;
	uint8_t buf[TP_RK_CSW_LEN];

	(void)state;
	assert_int_equal(tp_rk_cbw_make(&c, TP_RK_WRITE_LBA, 0x12345678, 4096, 128, 0), 0);
	assert_int_equal(tp_rk_csw_decode(ok, sizeof(ok), &s), 0);
	assert_int_equal(s.tag, 0x12345678);
	assert_int_equal(s.residue, 16);
	assert_int_equal(s.status, 0);
	assert_int_equal(tp_rk_csw_check(&s, &c), 0);

	/* Encoder produces the same bytes. */
	tp_rk_csw_encode(&s, buf);
	assert_memory_equal(buf, ok, sizeof(ok));

	/* Tag mismatch, failed status, bad signature, wrong length. */
	s.tag = 0x12345679;
	assert_int_equal(tp_rk_csw_check(&s, &c), -EPROTO);
	assert_non_null(strstr(tp_err_msg(), "WRITE_LBA at LBA 4096 (+128 sectors): CSW tag "
					     "0x12345679 does not match CBW tag 0x12345678"));
	s.tag = 0x12345678;
	s.status = 1;
	assert_int_equal(tp_rk_csw_check(&s, &c), -EIO);
	assert_non_null(strstr(tp_err_msg(), "WRITE_LBA at LBA 4096 (+128 sectors): loader reports failure"));
	memcpy(buf, ok, sizeof(buf));
	buf[3] = 'C';
	assert_int_equal(tp_rk_csw_decode(buf, sizeof(buf), &s), -EPROTO);
	assert_non_null(strstr(tp_err_msg(), "bad signature 0x43425355"));
	assert_int_equal(tp_rk_csw_decode(ok, 12, &s), -EPROTO);
	assert_int_equal(tp_rk_csw_decode(ok, 31, &s), -EPROTO);
}

static void tags(void **state)
{
	uint32_t st = 41, z = 0xFFFFFFFEu;

	(void)state;
	assert_int_equal(tp_rk_tag_next(&st), 42);
	assert_int_equal(tp_rk_tag_next(&st), 43);
	assert_int_equal(tp_rk_tag_next(&z), 0xFFFFFFFFu);
	assert_int_equal(tp_rk_tag_next(&z), 1); /* never 0 */
}

static void flash_info(void **state)
{
	/* 0x01D1F000 = 30535680 sectors (a 16 GB-class eMMC), block 1024
	 * sectors, page 4, ECC 0, access 40, manufacturer 2, CS map 1. */
	static const uint8_t r[11] = { 0x00, 0xF0, 0xD1, 0x01, 0x00, 0x04, 4, 0, 40, 2, 1 };
	struct tp_rk_flash_info fi;
	uint8_t bad[11];

	(void)state;
	assert_int_equal(tp_rk_flash_info_parse(r, sizeof(r), &fi), 0);
	assert_int_equal(fi.sectors, 0x01D1F000u);
	assert_int_equal(fi.block_sectors, 1024);
	assert_int_equal(fi.page_sectors, 4);
	assert_int_equal(fi.access_time, 40);
	assert_int_equal(fi.manufacturer, 2);
	assert_int_equal(fi.cs_map, 1);
	assert_int_equal(tp_rk_flash_info_parse(r, 10, &fi), -EPROTO);
	memcpy(bad, r, sizeof(bad));
	bad[4] = bad[5] = 0; /* block size 0: rejected like rkdeveloptool */
	assert_int_equal(tp_rk_flash_info_parse(bad, sizeof(bad), &fi), -EPROTO);
	memcpy(bad, r, sizeof(bad));
	bad[6] = 0;
	assert_int_equal(tp_rk_flash_info_parse(bad, sizeof(bad), &fi), -EPROTO);
}

static void flash_id_chip_info(void **state)
{
	static const uint8_t id[5] = { 'E', 'M', 'M', 'C', ' ' };
	static const uint8_t chip[16] = { '8', '8', '5', '3' };
	char s[TP_RK_FLASH_ID_LEN + 1], c[5];
	bool emmc;

	(void)state;
	assert_int_equal(tp_rk_flash_id_parse(id, 5, s, &emmc), 0);
	assert_true(emmc);
	assert_string_equal(s, "EMMC ");
	assert_int_equal(tp_rk_flash_id_parse((const uint8_t *)"NAND\0", 5, s, &emmc), 0);
	assert_false(emmc);
	assert_int_equal(tp_rk_flash_id_parse(id, 4, s, &emmc), -EPROTO);
	assert_int_equal(tp_rk_chip_info_parse(chip, 16, c), 0);
	assert_string_equal(c, "3588");
	assert_int_equal(tp_rk_chip_info_parse(chip, 3, c), -EPROTO);
}

static void tur_progress(void **state)
{
	uint16_t cur, total;

	(void)state;
	/* High half = current, low half = total, each a BE u16 (§5.4). */
	tp_rk_tur_progress(0x0A006400u, &cur, &total);
	assert_int_equal(cur, 10);
	assert_int_equal(total, 100);
}

static void op_names(void **state)
{
	(void)state;
	assert_string_equal(tp_rk_op_name(0x15), "WRITE_LBA");
	assert_string_equal(tp_rk_op_name(0xFF), "DEVICE_RESET");
	assert_string_equal(tp_rk_op_name(0x2A), "opcode 0x2a");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cbw_write_lba),   cmocka_unit_test(cbw_read_lba),
		cmocka_unit_test(cbw_short_commands), cmocka_unit_test(cbw_erase_lba),
		cmocka_unit_test(cbw_bad),	   cmocka_unit_test(cbw_roundtrip),
		cmocka_unit_test(csw_decode_check), cmocka_unit_test(tags),
		cmocka_unit_test(flash_info),	   cmocka_unit_test(flash_id_chip_info),
		cmocka_unit_test(tur_progress),	   cmocka_unit_test(op_names),
	};

	return cmocka_run_group_tests_name("rockusb_proto", tests, NULL, NULL);
}
