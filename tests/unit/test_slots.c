// SPDX-License-Identifier: MIT
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "common/err.h"
#include "common/slots.h"

static void parse_ok(void **state)
{
	static const struct {
		const char *in;
		unsigned mask;
	} cases[] = {
		{ "2", 0x2 },	  { "1-4", 0xF },   { "1,3", 0x5 }, { "1-2,4", 0xB },
		{ "4,1", 0x9 },	  { "3-3", 0x4 },   { "2,2", 0x2 }, { "1,2,3,4", 0xF },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned m = 0;

		assert_int_equal(tp_slots_parse(cases[i].in, 4, &m), 0);
		assert_int_equal(m, cases[i].mask);
	}
}

static void parse_bad(void **state)
{
	static const struct {
		const char *in;
		const char *msg;
	} cases[] = {
		{ "", "empty slot list" },
		{ "0", "\"0\" is not within 1-4" },
		{ "5", "\"5\" is not within 1-4" },
		{ "1-5", "\"1-5\" is not within 1-4" },
		{ "3-1", "\"3-1\" is a reversed range; write 1-3" },
		{ "5-1", "\"5-1\" is not within 1-4" },
		{ "a", "invalid slot list \"a\"" },
		{ "1,", "invalid slot list \"1,\"" },
		{ "1-", "invalid slot list \"1-\"" },
		{ "-2", "invalid slot list \"-2\"" },
		{ "1 2", "invalid slot list \"1 2\" (at \" 2\")" },
		{ "99999999999", "invalid slot list" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned m = 0x55;

		assert_int_equal(tp_slots_parse(cases[i].in, 4, &m), -EINVAL);
		assert_non_null(strstr(tp_err_msg(), cases[i].msg));
		/* A failed parse leaves the caller's mask alone. */
		assert_int_equal(m, 0x55);
	}
}

static void format_roundtrip(void **state)
{
	char buf[32];

	(void)state;
	assert_string_equal(tp_slots_format(0xF, buf, sizeof(buf)), "1-4");
	assert_string_equal(tp_slots_format(0xB, buf, sizeof(buf)), "1-2,4");
	assert_string_equal(tp_slots_format(0x5, buf, sizeof(buf)), "1,3");
	assert_string_equal(tp_slots_format(0x0, buf, sizeof(buf)), "");
	for (unsigned m = 1; m < 16; m++) {
		unsigned back = 0;

		assert_int_equal(tp_slots_parse(tp_slots_format(m, buf, sizeof(buf)), 4, &back), 0);
		assert_int_equal(back, m);
		assert_int_equal(tp_slots_count(m), __builtin_popcount(m));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_ok),
		cmocka_unit_test(parse_bad),
		cmocka_unit_test(format_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
