// SPDX-License-Identifier: MIT
/* Revision detection: DT model strings as the kernel gives them, EEPROM
 * board-info blocks as bmcd and U-Boot write them, and the whole procedure
 * against a fake root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "board/turingpi2/board.h"
#include "common/crc32.h"
#include "common/err.h"
#include "common/path.h"

static void crc32_check_value(void **state)
{
	(void)state;
	/* The CRC-32/ISO-HDLC check value. */
	assert_int_equal(tp_crc32("123456789", 9), 0xCBF43926u);
	assert_int_equal(tp_crc32("", 0), 0);
}

static void model_strings(void **state)
{
	(void)state;
	assert_int_equal(tp_rev_from_model("Turing Pi 2 (v2.4)"), TP_REV_2_4);
	assert_int_equal(tp_rev_from_model("Turing Pi 2 (v2.5)"), TP_REV_2_5);
	/* v2.5.1 contains "v2.5": the longer tag must win. */
	assert_int_equal(tp_rev_from_model("Turing Pi 2 (v2.5.1)"), TP_REV_2_5_1);
	assert_int_equal(tp_rev_from_model("Turing Pi 2 (v2.6)"), TP_REV_UNKNOWN);
	assert_int_equal(tp_rev_from_model("Raspberry Pi 4 Model B Rev 1.4"), TP_REV_UNKNOWN);
	assert_int_equal(tp_rev_from_model("Allwinner T113 (v2.4)"), TP_REV_UNKNOWN);
	assert_int_equal(tp_rev_from_model(""), TP_REV_UNKNOWN);
	assert_int_equal(tp_rev_parse("v2.5.2"), TP_REV_2_5_2);
	assert_int_equal(tp_rev_parse("2.5.0"), TP_REV_2_5);
	assert_int_equal(tp_rev_parse("2.4"), TP_REV_2_4);
	assert_int_equal(tp_rev_parse("2.3"), TP_REV_UNKNOWN);
}

static void hw_codes(void **state)
{
	(void)state;
	/* 5/5/6-bit major/minor/patch (hardware.md §2.3 worked example). */
	assert_int_equal(tp_rev_from_hw_code(0x1100), TP_REV_2_4);
	assert_int_equal(tp_rev_from_hw_code(0x1140), TP_REV_2_5);
	assert_int_equal(tp_rev_from_hw_code(0x1141), TP_REV_2_5_1);
	assert_int_equal(tp_rev_from_hw_code(0x1142), TP_REV_2_5_2);
	assert_int_equal(tp_rev_from_hw_code(0x1143), TP_REV_UNKNOWN);
	assert_int_equal(tp_rev_from_hw_code(0xFFFF), TP_REV_UNKNOWN);
}

/* A board-info block laid out by hand, field by field, as §2.3 gives it. */
static void seal(uint8_t *b, unsigned coverage)
{
	uint32_t crc = tp_crc32(b + 6, coverage);

	b[2] = crc >> 24, b[3] = crc >> 16, b[4] = crc >> 8, b[5] = crc; /* BE */
}

static void make_block(uint8_t *b, uint16_t hw, unsigned coverage)
{

	memset(b, 0xFF, 256);
	b[0] = b[1] = 0xFF;                       /* reserved */
	b[6] = 1, b[7] = 0;                       /* hdr_version, LE */
	b[8] = hw & 0xFF, b[9] = hw >> 8;         /* hw_version, LE */
	b[10] = 0x2A, b[11] = 0x01;               /* factory_date */
	memset(b + 0x0C, 0, 32);
	memcpy(b + 0x0C, "TP2-0001234", 11);      /* serial */
	memcpy(b + 0x1C, "Turing Pi 2", 11);      /* product */
	memcpy(b + 0x2C, "\x02\x74\x70\x32\x00\x01", 6);
	seal(b, coverage);
}

static void eeprom_blocks(void **state)
{
	struct tp_eeprom_info e;
	uint8_t b[256];

	(void)state;
	make_block(b, 0x1141, 44);
	assert_int_equal(tp_eeprom_parse(b, sizeof(b), &e), 0);
	assert_true(e.valid);
	assert_int_equal(e.crc_coverage, 44);
	assert_int_equal(e.hw_version, 0x1141);
	assert_int_equal(e.hdr_version, 1);
	assert_string_equal(e.serial, "TP2-0001234");
	assert_string_equal(e.product, "Turing Pi 2");
	assert_memory_equal(e.mac, "\x02\x74\x70\x32\x00\x01", 6);

	/* U-Boot's burn_eeprom covers 26 bytes and zeroes factory_date. */
	make_block(b, 0x1100, 26);
	b[10] = b[11] = 0;
	seal(b, 26);
	assert_int_equal(tp_eeprom_parse(b, sizeof(b), &e), 0);
	assert_true(e.valid);
	assert_int_equal(e.crc_coverage, 26);

	/* Sealed over 44 bytes, then a flipped bit in the product name: the
	 * 44-byte CRC breaks and the 26-byte one never matched. */
	make_block(b, 0x1142, 44);
	b[0x20] ^= 0x01; /* product name: inside 44, outside 26 */
	assert_int_equal(tp_eeprom_parse(b, sizeof(b), &e), 0);
	assert_false(e.valid);
	assert_int_equal(e.crc_coverage, 0);

	assert_int_equal(tp_eeprom_parse(b, 49, &e), -EINVAL);
	assert_non_null(strstr(tp_err_msg(), "49 bytes"));
}

/* ---- the whole procedure under a fake root ---- */

static char root[256];

static void put(const char *rel, const void *data, size_t len)
{
	char path[512], cmd[600];
	FILE *f;

	snprintf(path, sizeof(path), "%s%s", root, rel);
	snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", path);
	assert_int_equal(system(cmd), 0);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

static int setup_root(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/tpkit-detect.XXXXXX");
	if (!mkdtemp(root))
		return -1;
	tp_root_set(root);
	return 0;
}

static int teardown_root(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd);
}

#define MODEL(s) put("/proc/device-tree/model", s, sizeof(s)) /* with its NUL */

static void detect_dt_only(void **state)
{
	struct tp_board_id id;

	(void)state;
	MODEL("Turing Pi 2 (v2.4)");
	assert_int_equal(tp_board_detect(NULL, &id), 0);
	assert_int_equal(id.rev, TP_REV_2_4);
	assert_string_equal(id.source, "device-tree");
	assert_false(id.have_eeprom);
}

static void detect_v252_needs_eeprom(void **state)
{
	struct tp_board_id id;
	uint8_t b[256];

	(void)state;
	MODEL("Turing Pi 2 (v2.5.1)");
	make_block(b, 0x1142, 44);
	put("/sys/bus/i2c/devices/2-0050/eeprom", b, sizeof(b));
	assert_int_equal(tp_board_detect(NULL, &id), 0);
	assert_int_equal(id.rev, TP_REV_2_5_2);
	assert_string_equal(id.eeprom_path, "/sys/bus/i2c/devices/2-0050/eeprom");
	assert_string_equal(id.warning, "");
}

static void detect_disagreement_trusts_dt(void **state)
{
	struct tp_board_id id;
	uint8_t b[256];

	(void)state;
	MODEL("Turing Pi 2 (v2.5)");
	make_block(b, 0x1100, 44);
	put("/sys/bus/i2c/devices/2-0050/eeprom", b, sizeof(b));
	assert_int_equal(tp_board_detect(NULL, &id), 0);
	assert_int_equal(id.rev, TP_REV_2_5);
	assert_non_null(strstr(id.warning, "device tree says v2.5 but the EEPROM says v2.4"));
}

static void detect_eeprom_fallback(void **state)
{
	struct tp_board_id id;
	char path[512];
	uint8_t b[256];

	(void)state;
	snprintf(path, sizeof(path), "%s/proc/device-tree/model", root);
	unlink(path);
	make_block(b, 0x1140, 26);
	put("/sys/bus/i2c/devices/2-0050/eeprom", b, sizeof(b));
	assert_int_equal(tp_board_detect(NULL, &id), 0);
	assert_int_equal(id.rev, TP_REV_2_5);
	assert_string_equal(id.source, "eeprom");

	/* A bad CRC is not trusted: with no DT, the board is unknown. */
	b[0x09] ^= 0x40;
	put("/sys/bus/i2c/devices/2-0050/eeprom", b, sizeof(b));
	assert_int_equal(tp_board_detect(NULL, &id), -ENODEV);
	assert_non_null(strstr(tp_err_msg(), "fails its CRC"));
	assert_non_null(strstr(tp_err_msg(), "--board-rev"));

	/* The override still works, and rejects nonsense. */
	assert_int_equal(tp_board_detect("2.5.1", &id), 0);
	assert_int_equal(id.rev, TP_REV_2_5_1);
	assert_string_equal(id.source, "override");
	assert_int_equal(tp_board_detect("3.0", &id), -EINVAL);
	assert_non_null(strstr(tp_err_msg(), "unknown board revision \"3.0\""));
}

static void detect_not_a_turing_pi(void **state)
{
	struct tp_board_id id;
	char cmd[600];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s/sys'", root);
	assert_int_equal(system(cmd), 0);
	MODEL("Raspberry Pi 4 Model B Rev 1.4");
	assert_int_equal(tp_board_detect(NULL, &id), -ENODEV);
	assert_non_null(strstr(tp_err_msg(), "\"Raspberry Pi 4 Model B Rev 1.4\""));
	assert_non_null(strstr(tp_err_msg(), "no EEPROM was found"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(crc32_check_value),
		cmocka_unit_test(model_strings),
		cmocka_unit_test(hw_codes),
		cmocka_unit_test(eeprom_blocks),
	};
	/* These share one fake root and run in order. */
	const struct CMUnitTest rooted[] = {
		cmocka_unit_test(detect_dt_only),
		cmocka_unit_test(detect_v252_needs_eeprom),
		cmocka_unit_test(detect_disagreement_trusts_dt),
		cmocka_unit_test(detect_eeprom_fallback),
		cmocka_unit_test(detect_not_a_turing_pi),
	};

	return cmocka_run_group_tests(tests, NULL, NULL) |
	       cmocka_run_group_tests(rooted, setup_root, teardown_root);
}
