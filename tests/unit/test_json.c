// SPDX-License-Identifier: MIT
/* The --json writer (common/json.h): the line framing every event has,
 * strings that are valid UTF-8 JSON whatever bytes they were given, null
 * for unknown numbers, a line dropped whole when abandoned, and the
 * TPKIT_JSON_COPY copy (docs/json.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/json.h"

/* What the writer put on a stream, as a string the test frees. */
struct sink {
	FILE *f;
	char *buf;
	size_t len;
};

static void sink_open(struct sink *s)
{
	s->buf = NULL;
	s->f = open_memstream(&s->buf, &s->len);
	assert_non_null(s->f);
}

static char *sink_close(struct sink *s)
{
	fclose(s->f);
	return s->buf;
}

/* One string through the writer: the line it makes. */
static char *one_string(const char *val)
{
	struct sink s;
	struct tp_json j;

	sink_open(&s);
	tp_json_init(&j, s.f);
	tp_json_obj_begin(&j, NULL);
	tp_json_str(&j, "s", val);
	tp_json_obj_end(&j);
	return sink_close(&s);
}

static void check_string(const char *in, const char *want)
{
	char *got = one_string(in);

	assert_string_equal(got, want);
	free(got);
}

static void event_line(void **state)
{
	struct sink s;
	struct tp_json j;
	char *got;

	(void)state;
	sink_open(&s);
	tp_json_event(&j, s.f, "progress");
	tp_json_int(&j, "slot", 2);
	tp_json_uint(&j, "done", UINT64_MAX);
	tp_json_uint_opt(&j, "total", 0, false);
	tp_json_uint_opt(&j, "rate", 7, true);
	tp_json_arr_begin(&j, "a");
	tp_json_int(&j, NULL, -1);
	tp_json_obj_begin(&j, NULL);
	tp_json_bool(&j, "b", true);
	tp_json_obj_end(&j);
	tp_json_arr_end(&j);
	tp_json_null(&j, "n");
	tp_json_obj_end(&j);
	/* A second line from the same writer starts afresh. */
	tp_json_obj_begin(&j, NULL);
	tp_json_str(&j, "x", NULL);
	tp_json_obj_end(&j);
	got = sink_close(&s);
	assert_string_equal(got, "{\"schema\":1,\"event\":\"progress\",\"slot\":2,"
				 "\"done\":18446744073709551615,\"total\":null,\"rate\":7,"
				 "\"a\":[-1,{\"b\":true}],\"n\":null}\n{\"x\":null}\n");
	free(got);
}

/* Nothing reaches the stream before the line ends: a line is written
 * whole or not at all. */
static void line_written_whole(void **state)
{
	struct sink s;
	struct tp_json j;
	char *got;

	(void)state;
	sink_open(&s);
	tp_json_event(&j, s.f, "result");
	tp_json_bool(&j, "ok", false);
	fflush(s.f);
	assert_int_equal(s.len, 0);
	tp_json_abandon(&j);
	tp_json_event(&j, s.f, "result");
	tp_json_bool(&j, "ok", true);
	tp_json_obj_end(&j);
	got = sink_close(&s);
	assert_string_equal(got, "{\"schema\":1,\"event\":\"result\",\"ok\":true}\n");
	free(got);
}

static void escapes(void **state)
{
	(void)state;
	check_string("a\"b\\c", "{\"s\":\"a\\\"b\\\\c\"}\n");
	check_string("l1\nl2\tx\r\x01\x7f", "{\"s\":\"l1\\nl2\\tx\\u000d\\u0001\\u007f\"}\n");
	/* Valid UTF-8 passes as it is: 2, 3 and 4 byte forms, U+10FFFF. */
	check_string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf",
		      "{\"s\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf\"}\n");
}

/* RFC 3629: each byte that does not belong to a valid sequence is one
 * U+FFFD; what follows it is read afresh. */
static void invalid_utf8(void **state)
{
	(void)state;
	check_string("q\xff", "{\"s\":\"q\\ufffd\"}\n");
	/* a lead byte cut short by ASCII, and one at the very end */
	check_string("\xc3(\xe2\x82", "{\"s\":\"\\ufffd(\\ufffd\\ufffd\"}\n");
	/* overlong forms of '/' and of U+0000 */
	check_string("\xc0\xaf\xe0\x80\xaf", "{\"s\":\"\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\"}\n");
	/* a UTF-16 surrogate (U+D800) and past U+10FFFF */
	check_string("\xed\xa0\x80", "{\"s\":\"\\ufffd\\ufffd\\ufffd\"}\n");
	check_string("\xf4\x90\x80\x80", "{\"s\":\"\\ufffd\\ufffd\\ufffd\\ufffd\"}\n");
	/* a stray continuation byte between valid characters */
	check_string("\xc3\xa9\x80\xc3\xa9", "{\"s\":\"\xc3\xa9\\ufffd\xc3\xa9\"}\n");
	/* keys are strings too */
	{
		struct sink s;
		struct tp_json j;
		char *got;

		sink_open(&s);
		tp_json_init(&j, s.f);
		tp_json_obj_begin(&j, NULL);
		tp_json_int(&j, "k\xfe", 1);
		tp_json_obj_end(&j);
		got = sink_close(&s);
		assert_string_equal(got, "{\"k\\ufffd\":1}\n");
		free(got);
	}
}

static void copy_to_file(void **state)
{
	char path[] = "/tmp/tp-json-copy-XXXXXX";
	struct sink s;
	struct tp_json j;
	char buf[256], *got;
	int fd = mkstemp(path);
	ssize_t n;

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	unlink(path);
	setenv("TPKIT_JSON_COPY", path, 1);
	sink_open(&s);
	for (int i = 0; i < 2; i++) {
		tp_json_event(&j, s.f, "step");
		tp_json_int(&j, "slot", i + 1);
		tp_json_obj_end(&j);
	}
	tp_json_event(&j, s.f, "step");
	tp_json_abandon(&j); /* never written: not copied either */
	unsetenv("TPKIT_JSON_COPY");
	got = sink_close(&s);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	close(fd);
	unlink(path);
	assert_string_equal(buf, got);
	assert_string_equal(got, "{\"schema\":1,\"event\":\"step\",\"slot\":1}\n"
				 "{\"schema\":1,\"event\":\"step\",\"slot\":2}\n");
	free(got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(event_line),   cmocka_unit_test(line_written_whole),
		cmocka_unit_test(escapes),      cmocka_unit_test(invalid_utf8),
		cmocka_unit_test(copy_to_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
