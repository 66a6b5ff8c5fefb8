// SPDX-License-Identifier: MIT
/*
 * LDR parser (protocols.md §3) on files built by tests/tools/mkldr.c, good
 * and broken in every way the parser must catch.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/rkrc4.h"
#include "bmc/rockchip/ldr.h"
#include "common/err.h"

#define MKLDR_NO_MAIN
#include "tests/tools/mkldr.c"

static const struct mkldr_entry rk3588[] = {
	{ 1, "UsbHead", 2048, 1, NULL },
	{ 1, "rk3588_ddr_lp4_2112MHz_lp5", 65536, 1, NULL }, /* cut to 20 units */
	{ 2, "rk3588_usbplug_v1.08", 96256, 0, NULL },
	{ 4, "FlashHead", 2048, 0, NULL },
	{ 4, "FlashData", 1000, 0, NULL },
	{ 4, "FlashBoot", 1500, 0, NULL },
};

static uint8_t *build(enum mkldr_corrupt c, int rc4, const char *chip, size_t *len)
{
	struct mkldr_opts o = { .chip = chip, .rc4 = rc4, .corrupt = c, .e = rk3588, .n = 6 };
	uint8_t *f = mkldr_build(&o, len);

	assert_non_null(f);
	return f;
}

/* Parse must fail with -EINVAL and a message naming the file and containing
 * what. */
static void expect_bad(const uint8_t *f, size_t len, const char *chip, const char *what)
{
	struct tp_ldr *l = (struct tp_ldr *)&l;

	tp_err_clear();
	assert_int_equal(tp_ldr_parse(f, len, "bad.bin", chip, &l), -EINVAL);
	assert_null(l);
	if (!strstr(tp_err_msg(), what) || strncmp(tp_err_msg(), "bad.bin: ", 9))
		fail_msg("message \"%s\" lacks \"%s\"", tp_err_msg(), what);
}

static void crc32_check_value(void **state)
{
	(void)state;
	/* §3.3: Rockchip's variant, not zlib's (which gives 0xCBF43926). */
	assert_int_equal(tp_ldr_crc32(0, "123456789", 9), 0x889A9615u);
	assert_int_equal(tp_ldr_crc32(0, "", 0), 0);
	assert_int_equal(tp_ldr_crc32(tp_ldr_crc32(0, "1234", 4), "56789", 5), 0x889A9615u);
	assert_int_equal(tp_ldr_crc32(0, "LDR ", 4), 0x44F6F4AAu);
}

static void rc4_keystream(void **state)
{
	/* RC4 with the §3.4 key over zeros = the keystream; computed with an
	 * independent Python model. */
	static const uint8_t ks[16] = { 0x6e, 0x26, 0x2c, 0xf3, 0xbe, 0x9f, 0x9d, 0x51,
					0xea, 0x30, 0x34, 0xce, 0x20, 0x51, 0x1f, 0x98 };
	uint8_t buf[600] = { 0 }, copy[600];

	(void)state;
	tp_rk_rc4(buf, sizeof(buf));
	assert_memory_equal(buf, ks, sizeof(ks));
	memset(copy, 0, sizeof(copy));
	mkldr_rc4(copy, sizeof(copy));
	assert_memory_equal(buf, copy, sizeof(buf));
	tp_rk_rc4(buf, sizeof(buf)); /* symmetric */
	for (size_t i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0);
}

static void valid_rk3588(void **state)
{
	const struct tp_ldr_info *in;
	struct tp_ldr *l;
	size_t len;
	uint8_t *f = build(MKLDR_OK, 0, "3588", &len);

	(void)state;
	assert_int_equal(memcmp(f + 0x15, "8853", 4), 0); /* §3.1: bytes read reversed */
	assert_int_equal(tp_ldr_parse(f, len, "good.bin", "3588", &l), 0);
	in = tp_ldr_info(l);
	assert_string_equal(in->tag, "LDR ");
	assert_string_equal(in->chip, "3588");
	assert_int_equal(in->chip_raw, 0x33353838u);
	assert_int_equal(in->year, 2022);
	assert_int_equal(in->month, 8);
	assert_int_equal(in->second, 13);
	assert_false(in->rc4);
	assert_false(in->signed_);
	assert_string_equal(tp_ldr_name(l), "good.bin");

	assert_int_equal(tp_ldr_count(l, TP_LDR_471), 2);
	assert_int_equal(tp_ldr_count(l, TP_LDR_472), 1);
	assert_int_equal(tp_ldr_count(l, TP_LDR_LOADER), 3);
	assert_null(tp_ldr_entry(l, TP_LDR_471, 2));
	assert_null(tp_ldr_entry(l, (enum tp_ldr_type)3, 0));
	for (int t = 0; t < 3; t++) {
		static const enum tp_ldr_type types[3] = { TP_LDR_471, TP_LDR_472, TP_LDR_LOADER };

		for (size_t k = 0; k < tp_ldr_count(l, types[t]); k++) {
			const struct tp_ldr_entry *e = tp_ldr_entry(l, types[t], k);

			assert_int_equal(e->type, types[t]);
			for (uint32_t b = 0; b < e->size; b++)
				if (e->data[b] != mkldr_pattern(types[t], k, b))
					fail_msg("entry %s byte %u", e->name, b);
		}
	}
	assert_string_equal(tp_ldr_entry(l, TP_LDR_471, 0)->name, "UsbHead");
	assert_string_equal(tp_ldr_entry(l, TP_LDR_471, 1)->name, "rk3588_ddr_lp4_2112M");
	assert_int_equal(tp_ldr_entry(l, TP_LDR_471, 1)->size, 65536);
	assert_int_equal(tp_ldr_entry(l, TP_LDR_471, 1)->delay_ms, 1);
	assert_int_equal(tp_ldr_entry(l, TP_LDR_472, 0)->size, 96256);
	assert_int_equal(tp_ldr_entry(l, TP_LDR_472, 0)->delay_ms, 0);
	/* Tables right after the header: 0x471 at 102, 0x472 at 216 (§3.5). */
	assert_int_equal(tp_ldr_entry(l, TP_LDR_471, 0)->offset, 102 + 6 * 57);
	tp_ldr_free(l);
	free(f);
}

static void boot_tag_and_any_chip(void **state)
{
	struct mkldr_opts o = { .tag = "BOOT", .chip = "3566", .e = rk3588, .n = 6 };
	struct tp_ldr *l;
	size_t len;
	uint8_t *f = mkldr_build(&o, &len);

	(void)state;
	assert_int_equal(tp_ldr_parse(f, len, "boot.bin", NULL, &l), 0);
	assert_string_equal(tp_ldr_info(l)->tag, "BOOT");
	assert_string_equal(tp_ldr_info(l)->chip, "3566");
	tp_ldr_free(l);
	free(f);
}

static void rc4_payloads(void **state)
{
	struct tp_ldr *l;
	size_t len;
	uint8_t *f = build(MKLDR_OK, 1, "3588", &len), *plain;

	(void)state;
	assert_int_equal(tp_ldr_parse(f, len, "rc4.bin", "3588", &l), 0);
	assert_true(tp_ldr_info(l)->rc4);
	plain = malloc(96256);
	for (int t = 0; t < 3; t++) {
		static const enum tp_ldr_type types[3] = { TP_LDR_471, TP_LDR_472, TP_LDR_LOADER };

		for (size_t k = 0; k < tp_ldr_count(l, types[t]); k++) {
			const struct tp_ldr_entry *e = tp_ldr_entry(l, types[t], k);
			size_t same = 0;

			tp_ldr_entry_plain(l, e, plain);
			for (uint32_t b = 0; b < e->size; b++) {
				if (plain[b] != mkldr_pattern(types[t], k, b))
					fail_msg("entry %s plain byte %u", e->name, b);
				same += e->data[b] == plain[b];
			}
			/* Stored bytes are scrambled (and sent as they are). */
			assert_true(same < e->size / 16 + 8);
		}
	}
	free(plain);
	tp_ldr_free(l);
	free(f);
}

static void corruptions(void **state)
{
	static const struct {
		enum mkldr_corrupt c;
		const char *what;
	} cases[] = {
		{ MKLDR_BAD_CRC, "checksum mismatch" },
		{ MKLDR_BAD_PAYLOAD, "checksum mismatch" },
		{ MKLDR_BAD_TAG, "bad tag 0x20524458 (\"XDR \")" },
		{ MKLDR_TRUNCATE, "outside" },
		{ MKLDR_ENTRY_OUTSIDE, "0x472 entry 0 (\"rk3588_usbplug_v1.08\"): 96256 bytes at offset" },
		{ MKLDR_ENTRY_TYPE, "0x471 entry 0 (\"UsbHead\") has type 2" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (int rc4 = 0; rc4 < 2; rc4++) {
			size_t len;
			uint8_t *f = build(cases[i].c, rc4, "3588", &len);

			expect_bad(f, len, "3588", cases[i].what);
			free(f);
		}
	}
}

static void truncations(void **state)
{
	size_t len;
	uint8_t *f = build(MKLDR_OK, 0, "3588", &len);

	(void)state;
	expect_bad(f, 0, NULL, "too short");
	expect_bad(f, 50, NULL, "too short");
	expect_bad(f, 105, NULL, "too short");
	/* Header complete, tables cut off. */
	expect_bad(f, 200, NULL, "0x471 table (2 entries at offset 102) lies outside");
	/* Cut inside the zero padding after the last payload: only the
	 * checksum can tell. */
	expect_bad(f, len - 1, NULL, "checksum mismatch");
	/* Cut into the last payload (1500 bytes, padded to 2048). */
	expect_bad(f, len - 600, NULL, "loader entry 2 (\"FlashBoot\"): 1500 bytes at offset");
	free(f);
}

static void wrong_chip(void **state)
{
	size_t len;
	uint8_t *f = build(MKLDR_OK, 0, "3566", &len);

	(void)state;
	expect_bad(f, len, "3588", "built for chip \"3566\" (field 0x33353636), not RK3588");
	free(f);
}

static void missing_areas(void **state)
{
	static const struct mkldr_entry no472[] = { { 1, "UsbHead", 100, 1, NULL } };
	static const struct mkldr_entry no471[] = { { 2, "usbplug", 100, 0, NULL } };
	static const struct mkldr_entry empty[] = { { 1, "UsbHead", 0, 1, NULL },
						    { 2, "usbplug", 100, 0, NULL } };
	struct mkldr_opts o = { .e = no472, .n = 1 };
	size_t len;
	uint8_t *f;

	(void)state;
	f = mkldr_build(&o, &len);
	expect_bad(f, len, NULL, "no 0x472 (usbplug) entry");
	free(f);
	o.e = no471;
	f = mkldr_build(&o, &len);
	expect_bad(f, len, NULL, "no 0x471 (DDR init) entry");
	free(f);
	o.e = empty, o.n = 2;
	f = mkldr_build(&o, &len);
	expect_bad(f, len, NULL, "0x471 entry 0 (\"UsbHead\") is empty");
	free(f);
}

/* Patch a header or entry byte and fix the CRC, so only that byte is wrong. */
static void patch(uint8_t *f, size_t len, size_t at, uint8_t v)
{
	uint32_t crc;

	f[at] = v;
	crc = mkldr_crc32(f, len - 4);
	put32(f + len - 4, crc);
}

static void header_fields(void **state)
{
	struct tp_ldr *l;
	size_t len;
	uint8_t *f = build(MKLDR_OK, 0, "3588", &len);

	(void)state;
	patch(f, len, 0x04, 0x50);
	expect_bad(f, len, NULL, "header size 80, expected 102");
	patch(f, len, 0x04, 0x66);
	patch(f, len, 0x1E, 40); /* 0x471 entry size */
	expect_bad(f, len, NULL, "0x471 table: entry size 40");
	patch(f, len, 0x1E, 57);
	patch(f, len, 102 + 57, 30); /* second 0x471 entry's own size byte */
	expect_bad(f, len, NULL, "0x471 entry 1 (\"rk3588_ddr_lp4_2112M\"): size byte 30");
	/* Size byte 0: skipped, as bmcd skips it (§4.1). */
	patch(f, len, 102 + 57, 0);
	assert_int_equal(tp_ldr_parse(f, len, "skip.bin", "3588", &l), 0);
	assert_int_equal(tp_ldr_count(l, TP_LDR_471), 1);
	assert_string_equal(tp_ldr_entry(l, TP_LDR_472, 0)->name, "rk3588_usbplug_v1.08");
	tp_ldr_free(l);
	/* RC4 flag: non-zero = off, so 0 = on (§3.1). */
	patch(f, len, 0x2C, 7);
	assert_int_equal(tp_ldr_parse(f, len, "skip.bin", "3588", &l), 0);
	assert_false(tp_ldr_info(l)->rc4);
	tp_ldr_free(l);
	free(f);
}

static void from_file(void **state)
{
	char path[] = "/tmp/tpkit-ldr-XXXXXX";
	struct tp_ldr *l;
	size_t len;
	uint8_t *f = build(MKLDR_OK, 0, "3588", &len);
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, f, len), (ssize_t)len);
	close(fd);
	assert_int_equal(tp_ldr_open(path, "3588", &l), 0);
	assert_string_equal(tp_ldr_name(l), path);
	assert_int_equal(tp_ldr_count(l, TP_LDR_472), 1);
	tp_ldr_free(l);

	/* Cut the file: the message names the path. */
	assert_int_equal(truncate(path, (off_t)len / 2), 0);
	assert_int_equal(tp_ldr_open(path, "3588", &l), -EINVAL);
	assert_non_null(strstr(tp_err_msg(), path));
	unlink(path);

	assert_int_equal(tp_ldr_open(path, "3588", &l), -ENOENT);
	assert_null(l);
	assert_non_null(strstr(tp_err_msg(), path));
	assert_int_equal(tp_ldr_open("/tmp", "3588", &l), -EINVAL);
	assert_non_null(strstr(tp_err_msg(), "not a regular file"));
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(crc32_check_value),
		cmocka_unit_test(rc4_keystream),
		cmocka_unit_test(valid_rk3588),
		cmocka_unit_test(boot_tag_and_any_chip),
		cmocka_unit_test(rc4_payloads),
		cmocka_unit_test(corruptions),
		cmocka_unit_test(truncations),
		cmocka_unit_test(wrong_chip),
		cmocka_unit_test(missing_areas),
		cmocka_unit_test(header_fields),
		cmocka_unit_test(from_file),
	};

	return cmocka_run_group_tests_name("ldr", tests, NULL, NULL);
}
