// SPDX-License-Identifier: MIT
/* The websocket's wire format as tpkit --host console reads it
 * (bmc/remote/wire.c): RFC 6455's own example of the accept value, frame
 * headers of each length form, partial frames, and what a server must
 * never send. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "bmc/remote/wire.h"
#include "common/err.h"

/* RFC 6455, section 1.3's worked example. */
static void accept_value(void **state)
{
	char out[TP_WS_ACCEPT_LEN + 1];

	(void)state;
	tp_ws_accept_value("dGhlIHNhbXBsZSBub25jZQ==", out);
	assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

static void answer(void **state)
{
	const char *key = "dGhlIHNhbXBsZSBub25jZQ==";

	(void)state;
	assert_int_equal(tp_ws_answer_check("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
					    "sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
					    key, "bmc"), 0);
	assert_int_equal(tp_ws_answer_check("HTTP/1.1 101 OK\r\nSec-WebSocket-Accept: "
					    "AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n", key, "bmc"),
			 -EPROTO);
	assert_string_equal(tp_err_msg(), "bmc answered the websocket key wrongly");
	assert_int_equal(tp_ws_answer_check("HTTP/1.1 101 OK\r\n\r\n", key, "bmc"), -EPROTO);
	assert_int_equal(tp_ws_answer_check("HTTP/1.1 401 Unauthorized\r\nX: y\r\n\r\n", key, "bmc"),
			 -EACCES);
	assert_string_equal(tp_err_msg(), "bmc refused the console (HTTP/1.1 401 Unauthorized)");
	assert_int_equal(tp_ws_answer_check("HTTP/1.1 1010 x\r\n\r\n", key, "bmc"), -EPROTO);
}

static void frames(void **state)
{
	static const unsigned char small[] = { 0x82, 3, 'a', 'b', 'c' };
	static const unsigned char mid[4 + 300] = { 0x82, 126, 0x01, 0x2c };
	static const unsigned char big[10] = { 0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0 };
	static const unsigned char ping[] = { 0x89, 0 };
	struct tp_ws_frame f;

	(void)state;
	assert_int_equal(tp_ws_frame_parse(small, sizeof(small), 1024, &f), 0);
	assert_int_equal(f.op, TP_WS_BINARY);
	assert_true(f.fin);
	assert_int_equal(f.head, 2);
	assert_int_equal(f.len, 3);
	/* Every cut of it waits for more. */
	for (size_t n = 0; n < sizeof(small); n++)
		assert_int_equal(tp_ws_frame_parse(small, n, 1024, &f), -EAGAIN);
	assert_int_equal(tp_ws_frame_parse(mid, sizeof(mid), 1024, &f), 0);
	assert_int_equal(f.head, 4);
	assert_int_equal(f.len, 300);
	assert_int_equal(tp_ws_frame_parse(mid, 3, 1024, &f), -EAGAIN);
	/* 64 KiB announced: over what is taken, before its bytes come. */
	assert_int_equal(tp_ws_frame_parse(big, sizeof(big), 1024, &f), -EMSGSIZE);
	assert_int_equal(tp_ws_frame_parse(ping, sizeof(ping), 1024, &f), 0);
	assert_int_equal(f.op, TP_WS_PING);
}

static void refused(void **state)
{
	static const unsigned char masked[] = { 0x82, 0x81, 1, 2, 3, 4, 'x' };
	static const unsigned char rsv[] = { 0xc2, 1, 'x' };
	static const unsigned char long_ping[] = { 0x89, 126, 0, 200 };
	static const unsigned char split_close[] = { 0x08, 0 };
	struct tp_ws_frame f;

	(void)state;
	assert_int_equal(tp_ws_frame_parse(masked, sizeof(masked), 1024, &f), -EPROTO);
	assert_int_equal(tp_ws_frame_parse(rsv, sizeof(rsv), 1024, &f), -EPROTO);
	assert_int_equal(tp_ws_frame_parse(long_ping, sizeof(long_ping), 1024, &f), -EPROTO);
	assert_int_equal(tp_ws_frame_parse(split_close, sizeof(split_close), 1024, &f), -EPROTO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(accept_value),
		cmocka_unit_test(answer),
		cmocka_unit_test(frames),
		cmocka_unit_test(refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
