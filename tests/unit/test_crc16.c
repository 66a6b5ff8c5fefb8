// SPDX-License-Identifier: MIT
/* The maskrom CRC-16 (protocols.md §4.2) against published check values and
 * an independent bit-at-a-time reference. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "bmc/rockchip/crc16.h"

/* CRC-16/CCITT-FALSE straight from its definition: width 16, poly 0x1021,
 * init 0xFFFF, MSB first, no reflection, no final XOR. */
static uint16_t ref_crc16(const uint8_t *p, size_t len)
{
	uint16_t c = 0xFFFF;

	while (len--) {
		c ^= (uint16_t)(*p++ << 8);
		for (int i = 0; i < 8; i++)
			c = (c & 0x8000) ? (uint16_t)((c << 1) ^ 0x1021) : (uint16_t)(c << 1);
	}
	return c;
}

static void check_value(void **state)
{
	(void)state;
	/* The catalogue check value of CRC-16/IBM-3740 (§4.2). */
	assert_int_equal(tp_crc16_ccitt(TP_CRC16_INIT, "123456789", 9), 0x29B1);
	assert_int_equal(tp_crc16_ccitt(TP_CRC16_INIT, "", 0), 0xFFFF);
	assert_int_equal(tp_crc16_ccitt(TP_CRC16_INIT, "A", 1), 0xB915);
}

static void zero_block(void **state)
{
	static const uint8_t z[4096];

	(void)state;
	/* Computed by an independent Python model of the same definition. */
	assert_int_equal(tp_crc16_ccitt(TP_CRC16_INIT, z, sizeof(z)), 0xEFDF);
}

static void matches_reference(void **state)
{
	uint8_t buf[5000];
	uint32_t x = 12345;

	(void)state;
	for (size_t i = 0; i < sizeof(buf); i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (uint8_t)(x >> 16);
	}
	for (size_t len = 0; len < sizeof(buf); len += 97)
		assert_int_equal(tp_crc16_ccitt(TP_CRC16_INIT, buf, len), ref_crc16(buf, len));
}

static void chains(void **state)
{
	const char *s = "123456789";

	(void)state;
	/* Continuing a CRC over a second piece equals one pass: the maskrom
	 * framing relies on this for the 0x00 pad byte. */
	for (size_t cut = 0; cut <= 9; cut++)
		assert_int_equal(tp_crc16_ccitt(tp_crc16_ccitt(TP_CRC16_INIT, s, cut), s + cut, 9 - cut),
				 0x29B1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(check_value),
		cmocka_unit_test(zero_block),
		cmocka_unit_test(matches_reference),
		cmocka_unit_test(chains),
	};

	return cmocka_run_group_tests_name("crc16", tests, NULL, NULL);
}
