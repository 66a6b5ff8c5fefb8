// SPDX-License-Identifier: MIT
/* The rpiboot message codec (protocols.md §7.3, §7.4). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "bmc/rpiboot/rpiboot_proto.h"

static void boot_msg(void **state)
{
	uint8_t m[TP_RPI_BOOT_MSG_LEN], zero[20] = { 0 };

	(void)state;
	memset(m, 0xee, sizeof(m));
	assert_int_equal(tp_rpi_boot_msg(m, 105984), 0);
	/* 105984 = 0x00019e00, little-endian, then 20 zero signature bytes */
	assert_int_equal(m[0], 0x00);
	assert_int_equal(m[1], 0x9e);
	assert_int_equal(m[2], 0x01);
	assert_int_equal(m[3], 0x00);
	assert_memory_equal(m + 4, zero, sizeof(zero));
	assert_int_equal(tp_rpi_boot_msg(m, 0), -EFBIG);
	assert_int_equal(tp_rpi_boot_msg(m, (uint64_t)INT32_MAX + 1), -EFBIG);
	assert_int_equal(tp_rpi_boot_msg(m, INT32_MAX), 0);
	assert_int_equal(m[3], 0x7f);
}

static void matching(void **state)
{
	(void)state;
	assert_string_equal(tp_rpi_second_stage(0x2711), "bootcode4.bin");
	assert_string_equal(tp_rpi_second_stage(0x2763), "bootcode.bin");
	assert_string_equal(tp_rpi_second_stage(0x2764), "bootcode.bin");
	assert_string_equal(tp_rpi_second_stage(0x2712), "bootcode5.bin");
	assert_null(tp_rpi_second_stage(0x0001));
	assert_true(tp_rpi_is_bootrom(0x0a5c, 0x2711));
	assert_false(tp_rpi_is_bootrom(0x0a5c, 0x0001)); /* the msd disk */
	assert_false(tp_rpi_is_bootrom(0x2207, 0x2711));
	assert_true(tp_rpi_is_stage1(0));
	assert_true(tp_rpi_is_stage1(3));
	assert_false(tp_rpi_is_stage1(4));
	assert_int_equal(tp_rpi_wvalue(0x0004a3c0), 0xa3c0);
	assert_int_equal(tp_rpi_windex(0x0004a3c0), 0x0004);
}

static void req(uint8_t *b, int32_t cmd, const char *name)
{
	memset(b, 0, TP_RPI_REQUEST_LEN);
	b[0] = (uint8_t)cmd;
	b[1] = (uint8_t)((uint32_t)cmd >> 8);
	b[2] = (uint8_t)((uint32_t)cmd >> 16);
	b[3] = (uint8_t)((uint32_t)cmd >> 24);
	memcpy(b + 4, name, strlen(name));
}

static void requests(void **state)
{
	static const struct {
		int32_t cmd;
		const char *name;
		enum tp_rpi_action act;
	} c[] = {
		{ 0, "start4.elf", TP_RPI_ACT_SIZE },
		{ 1, "start4.elf", TP_RPI_ACT_READ },
		{ 1, "config.txt", TP_RPI_ACT_READ },
		{ 2, "", TP_RPI_ACT_DONE },
		{ 2, "whatever", TP_RPI_ACT_DONE },
		{ 0, "", TP_RPI_ACT_DONE },
		{ 0, "*SERIAL*1234", TP_RPI_ACT_ACK },
		{ 7, "start4.elf", TP_RPI_ACT_BAD },
		{ -1, "x", TP_RPI_ACT_BAD },
		/* path traversal and absolute names: "not found" */
		{ 0, "../etc/shadow", TP_RPI_ACT_NOTFOUND },
		{ 1, "..", TP_RPI_ACT_NOTFOUND },
		{ 1, "a..b", TP_RPI_ACT_NOTFOUND },
		{ 1, "/etc/passwd", TP_RPI_ACT_NOTFOUND },
		{ 0, "sub/start4.elf", TP_RPI_ACT_NOTFOUND },
		{ 1, "bad\tname", TP_RPI_ACT_NOTFOUND },
	};
	uint8_t b[TP_RPI_REQUEST_LEN];
	struct tp_rpi_request r;

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		req(b, c[i].cmd, c[i].name);
		assert_int_equal(tp_rpi_request_parse(b, sizeof(b), &r), 0);
		assert_int_equal(r.cmd, c[i].cmd);
		assert_string_equal(r.name, c[i].name);
		if (r.action != c[i].act)
			fail_msg("request %d \"%s\": action %d, want %d", c[i].cmd, c[i].name,
				 r.action, c[i].act);
	}
	/* A name that fills all 256 bytes with no NUL is still terminated. */
	memset(b, 'a', sizeof(b));
	b[0] = 1, b[1] = b[2] = b[3] = 0;
	assert_int_equal(tp_rpi_request_parse(b, sizeof(b), &r), 0);
	assert_int_equal(strlen(r.name), 256);
	assert_int_equal(r.action, TP_RPI_ACT_READ);
	assert_int_equal(tp_rpi_request_parse(b, 3, &r), -EPROTO);
	assert_false(tp_rpi_name_ok(""));
	assert_true(tp_rpi_name_ok("boot.img"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(boot_msg),
		cmocka_unit_test(matching),
		cmocka_unit_test(requests),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
