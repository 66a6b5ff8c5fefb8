// SPDX-License-Identifier: MIT
/* tpkit serve's query parameters and bmcd's `node` (bmc/serve/query.c,
 * serve.md §4.1): decoding, keys without '=', limits, and the messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bmc/serve/serve.h"
#include "common/err.h"

static void parse_get(void **state)
{
	struct tp_query q;

	(void)state;
	assert_int_equal(tp_query_parse(&q, "opt=set&type=flash&file=a%20b.img&skip_crc&"
					    "node=1&file=second"), 0);
	assert_string_equal(tp_query_get(&q, "opt"), "set");
	assert_string_equal(tp_query_get(&q, "file"), "a b.img"); /* the first of two */
	assert_string_equal(tp_query_get(&q, "skip_crc"), "");   /* present, no value */
	assert_null(tp_query_get(&q, "local"));
	assert_null(tp_query_get(&q, "Opt"));                     /* names are exact */
	assert_int_equal(tp_query_parse(&q, NULL), 0);
	assert_null(tp_query_get(&q, "opt"));
	assert_int_equal(tp_query_parse(&q, ""), 0);
	assert_int_equal(q.n, 0);
}

static void parse_limits(void **state)
{
	char big[4096], many[512];
	size_t n = 0;
	struct tp_query q;

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(tp_query_parse(&q, big), -E2BIG);
	assert_non_null(strstr(tp_err_msg(), "at most 2047 are read"));
	for (int i = 0; i < TP_QUERY_MAX; i++)
		n += (size_t)snprintf(many + n, sizeof(many) - n, "k%d=1&", i);
	many[n - 1] = '\0';
	assert_int_equal(tp_query_parse(&q, many), 0); /* exactly the maximum */
	assert_int_equal(q.n, TP_QUERY_MAX);
	snprintf(many + n - 1, sizeof(many) - n + 1, "&one=more");
	assert_int_equal(tp_query_parse(&q, many), -E2BIG);
	assert_string_equal(tp_err_msg(), "the query has more than 32 parameters");
}

static void node_param(void **state)
{
	static const struct {
		const char *query;
		int rc;
		unsigned slot;
		const char *msg;
	} cases[] = {
		{ "node=0", 0, 1, NULL },
		{ "node=3", 0, 4, NULL },
		{ "node=4", -EINVAL, 0, "Parameter `node` is out of range 0..3 of node IDs" },
		{ "node=-1", -EINVAL, 0, "Parameter `node` is out of range 0..3 of node IDs" },
		/* bmcd would truncate 256 to node 0; tpkit refuses it */
		{ "node=256", -EINVAL, 0, "Parameter `node` is out of range 0..3 of node IDs" },
		{ "node=99999999999", -EINVAL, 0, "Parameter `node` is not a number" },
		{ "node=1x", -EINVAL, 0, "Parameter `node` is not a number" },
		{ "node=", -EINVAL, 0, "Parameter `node` is not a number" },
		{ "node", -EINVAL, 0, "Parameter `node` is not a number" },
		{ "nodes=1", -EINVAL, 0, "Missing `node` parameter" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tp_query q;
		unsigned slot = 0;

		assert_int_equal(tp_query_parse(&q, cases[i].query), 0);
		assert_int_equal(tp_query_node(&q, &slot), cases[i].rc);
		if (cases[i].rc == 0)
			assert_int_equal(slot, cases[i].slot);
		else
			assert_string_equal(tp_err_msg(), cases[i].msg);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_get),
		cmocka_unit_test(parse_limits),
		cmocka_unit_test(node_param),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
