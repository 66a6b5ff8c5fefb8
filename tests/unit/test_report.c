// SPDX-License-Identifier: MIT
/* Node report lines (common/report.c, docs/report-protocol.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "common/report.h"

/* The key 00 01 02 ... 1f. */
static const char key_hex[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

/*
 * Known answer, computed outside tpkit with OpenSSL's command line:
 *   printf '%s' 'TPKR|1|2|b7e1c2d4a9f00e11|17|migrate|progress|copying / to nvme0n1p2: 41%25|' |
 *     openssl dgst -sha256 -mac HMAC -macopt hexkey:000102...1e1f
 *   SHA2-256(stdin)= e8a0394a57e0175824c33e80c70b256047ffe565dfa117752815f4168d507828
 * The line keeps the first 32 hex digits (report-protocol.md §5).
 */
static const char kat_line[] = "TPKR|1|2|b7e1c2d4a9f00e11|17|migrate|progress|"
			       "copying / to nvme0n1p2: 41%25|e8a0394a57e0175824c33e80c70b2560";

static struct tp_report_key key(void)
{
	struct tp_report_key k;

	assert_int_equal(tp_report_key_from_hex(&k, key_hex), 0);
	return k;
}

static struct tp_report sample(void)
{
	struct tp_report r = { .slot = 2, .seq = 17 };

	strcpy(r.id, "b7e1c2d4a9f00e11");
	strcpy(r.step, "migrate");
	strcpy(r.event, "progress");
	strcpy(r.text, "copying / to nvme0n1p2: 41%");
	return r;
}

static void known_answer(void **state)
{
	struct tp_report_key k = key();
	struct tp_report r = sample(), back;
	char buf[TP_REPORT_LINE_MAX + 1];

	(void)state;
	assert_int_equal(tp_report_format(buf, sizeof(buf), &k, &r), (int)strlen(kat_line));
	assert_string_equal(buf, kat_line);
	assert_int_equal(tp_report_parse(kat_line, strlen(kat_line), &k, &back), 0);
	assert_memory_equal(&back, &r, sizeof(r));
}

static void key_text(void **state)
{
	struct tp_report_key k;
	char up[sizeof(key_hex)];

	(void)state;
	for (size_t i = 0; i < sizeof(up); i++)
		up[i] = (char)(key_hex[i] >= 'a' ? key_hex[i] - 32 : key_hex[i]);
	assert_int_equal(tp_report_key_from_hex(&k, up), 0);
	assert_int_equal(k.b[31], 0x1f);
	assert_int_equal(tp_report_key_from_hex(&k, "00"), -EINVAL);
	up[10] = 'g';
	assert_int_equal(tp_report_key_from_hex(&k, up), -EINVAL);
	/* The message never quotes the text. */
	assert_null(strstr(tp_err_msg(), "0102"));
	assert_int_equal(tp_report_key_from_hex(&k, NULL), -EINVAL);
}

/* Every byte 1..255 in the text, every event, the largest seq. */
static void round_trip(void **state)
{
	static const char *const events[] = { "start", "progress", "ok", "fail", "done" };
	struct tp_report_key k = key();
	char buf[TP_REPORT_LINE_MAX + 1], again[TP_REPORT_LINE_MAX + 1];

	(void)state;
	for (unsigned first = 1; first < 256; first += 85) {
		struct tp_report r = sample(), back;
		size_t n = 0;

		/* 85 distinct bytes each, every third escaped or so: within 360. */
		for (unsigned b = first; b < first + 85 && b < 256; b++)
			r.text[n++] = (char)b;
		r.text[n] = '\0';
		r.seq = UINT64_MAX;
		r.slot = 4;
		memset(r.event, 0, sizeof(r.event));
		strcpy(r.event, events[first % 5]);
		memset(r.id, 0, sizeof(r.id));
		strcpy(r.id, "A.z_9-");
		int len = tp_report_format(buf, sizeof(buf), &k, &r);

		assert_true(len > 0 && len <= TP_REPORT_LINE_MAX);
		for (int i = 0; i < len; i++)
			assert_true(buf[i] >= 0x20 && buf[i] <= 0x7e);
		assert_int_equal(tp_report_parse(buf, (size_t)len, &k, &back), 0);
		assert_memory_equal(&back, &r, sizeof(r));
		assert_int_equal(tp_report_format(again, sizeof(again), &k, &back), len);
		assert_string_equal(again, buf);
	}
	for (size_t e = 0; e < 5; e++) {
		struct tp_report r = sample(), back;

		strcpy(r.event, events[e]);
		r.text[0] = '\0';
		r.seq = 0;
		int len = tp_report_format(buf, sizeof(buf), &k, &r);

		assert_true(len > 0);
		assert_int_equal(tp_report_parse(buf, (size_t)len, &k, &back), 0);
		assert_string_equal(back.event, events[e]);
		assert_string_equal(back.text, "");
	}
}

static void bad_fields(void **state)
{
	struct tp_report_key k = key();
	char buf[TP_REPORT_LINE_MAX + 1];
	struct tp_report r;

	(void)state;
	r = sample(), r.slot = 0;
	assert_int_equal(tp_report_format(buf, sizeof(buf), &k, &r), -EINVAL);
	r = sample(), r.slot = 5;
	assert_int_equal(tp_report_format(buf, sizeof(buf), &k, &r), -EINVAL);
	r = sample(), strcpy(r.id, "a|b");
	assert_int_equal(tp_report_format(buf, sizeof(buf), &k, &r), -EINVAL);
	r = sample(), r.id[0] = '\0';
	assert_int_equal(tp_report_format(buf, sizeof(buf), &k, &r), -EINVAL);
	r = sample(), strcpy(r.step, "Migrate");
	assert_int_equal(tp_report_format(buf, sizeof(buf), &k, &r), -EINVAL);
	r = sample(), strcpy(r.event, "maybe");
	assert_int_equal(tp_report_format(buf, sizeof(buf), &k, &r), -EINVAL);
	r = sample();
	assert_int_equal(tp_report_format(buf, 20, &k, &r), -ENOSPC);
}

/* The escaped text is bounded: format refuses, set_text cuts. */
static void overlong_text(void **state)
{
	struct tp_report_key k = key();
	char buf[TP_REPORT_LINE_MAX + 1], big[1000];
	struct tp_report r = sample(), back;

	(void)state;
	memset(r.text, 'x', 255);
	r.text[255] = '\0';
	assert_true(tp_report_format(buf, sizeof(buf), &k, &r) > 0); /* 255 plain: fits */
	memset(r.text, '\n', 200); /* 600 escaped */
	r.text[200] = '\0';
	assert_int_equal(tp_report_format(buf, sizeof(buf), &k, &r), -ENOSPC);
	memset(r.text, '%', 121);  /* 363 escaped */
	r.text[121] = '\0';
	assert_int_equal(tp_report_format(buf, sizeof(buf), &k, &r), -ENOSPC);
	r.text[120] = '\0';	   /* 360: the limit */
	assert_true(tp_report_format(buf, sizeof(buf), &k, &r) > 0);

	memset(big, '\t', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(tp_report_set_text(&r, big), 1);
	assert_int_equal(strlen(r.text), 119 + 3);
	assert_string_equal(r.text + 119, "...");
	int len = tp_report_format(buf, sizeof(buf), &k, &r);
	assert_true(len > 0);
	assert_int_equal(tp_report_parse(buf, (size_t)len, &k, &back), 0);
	assert_string_equal(back.text, r.text);

	memset(big, 'y', sizeof(big) - 1);
	assert_int_equal(tp_report_set_text(&r, big), 1);
	assert_int_equal(strlen(r.text), 255);
	assert_true(tp_report_format(buf, sizeof(buf), &k, &r) > 0);
	assert_int_equal(tp_report_set_text(&r, "short"), 0);
	assert_string_equal(r.text, "short");
}

static void wrong_key(void **state)
{
	struct tp_report_key k = key(), other = k;
	struct tp_report back;

	(void)state;
	other.b[0] ^= 1;
	assert_int_equal(tp_report_parse(kat_line, strlen(kat_line), &other, &back), -EPERM);
	assert_string_equal(tp_err_msg(), "report line: bad HMAC (another key, or an altered line)");
}

/* Any one byte changed anywhere: never accepted. */
static void flipped_bytes(void **state)
{
	struct tp_report_key k = key();
	struct tp_report back;
	size_t len = strlen(kat_line);
	char line[sizeof(kat_line)];

	(void)state;
	for (size_t i = 0; i < len; i++)
		for (unsigned bit = 0; bit < 8; bit++) {
			memcpy(line, kat_line, sizeof(line));
			line[i] = (char)(line[i] ^ (1u << bit));
			int rc = tp_report_parse(line, len, &k, &back);

			if (rc != -EPERM && rc != -EBADMSG && rc != -ENOMSG)
				fail_msg("byte %zu bit %u: %d", i, bit, rc);
		}
}

/* Cut at every length: -ENOMSG before the marker is whole, -EBADMSG after. */
static void truncated(void **state)
{
	struct tp_report_key k = key();
	struct tp_report back;
	size_t len = strlen(kat_line);

	(void)state;
	for (size_t n = 0; n < len; n++) {
		int rc = tp_report_parse(kat_line, n, &k, &back);

		assert_int_equal(rc, n < 5 ? -ENOMSG : -EBADMSG);
	}
	/* and with the cut line followed by a newline */
	for (size_t n = 5; n < len; n++) {
		char line[sizeof(kat_line) + 2];

		memcpy(line, kat_line, n);
		memcpy(line + n, "\r\n", 2);
		assert_int_equal(tp_report_parse(line, n + 2, &k, &back), -EBADMSG);
	}
}

/* Console noise: garbage in front, \r\n, a cut report before a whole one. */
static void noisy_console(void **state)
{
	struct tp_report_key k = key();
	struct tp_report back;
	char line[1024];

	(void)state;
	snprintf(line, sizeof(line), "[   12.345678] systemd[1]: Started x.\x1b[0m%s\r\n", kat_line);
	assert_int_equal(tp_report_parse(line, strlen(line), &k, &back), 0);
	assert_string_equal(back.text, "copying / to nvme0n1p2: 41%");
	snprintf(line, sizeof(line), "TPKR|1|2|b7e1|3|mig%s\r", kat_line);
	assert_int_equal(tp_report_parse(line, strlen(line), &k, &back), 0);
	snprintf(line, sizeof(line), "%s trailing", kat_line);
	assert_int_equal(tp_report_parse(line, strlen(line), &k, &back), -EBADMSG);
	assert_int_equal(tp_report_parse("Ubuntu 22.04.4 LTS alpha ttyS0", 30, &k, &back),
			 -ENOMSG);
	assert_int_equal(tp_report_is_candidate(kat_line, strlen(kat_line)), 1);
	assert_int_equal(tp_report_is_candidate("login:", 6), 0);
	/* A NUL inside the line is a byte like any other: not a whole report. */
	memcpy(line, kat_line, sizeof(kat_line));
	line[20] = '\0';
	assert_int_equal(tp_report_parse(line, strlen(kat_line), &k, &back), -EBADMSG);
}

/* Strict spellings: parse(format(x)) is the only accepted form. */
static void non_canonical(void **state)
{
	static const char *const lines[] = {
		"TPKR|2|2|b7e1c2d4a9f00e11|17|migrate|progress|x|",
		"TPKR|01|2|b7e1c2d4a9f00e11|17|migrate|progress|x|",
		"TPKR|1|02|b7e1c2d4a9f00e11|17|migrate|progress|x|",
		"TPKR|1|2|b7e1c2d4a9f00e11|017|migrate|progress|x|",
		"TPKR|1|2|b7e1c2d4a9f00e11|18446744073709551616|migrate|progress|x|",
		"TPKR|1|2|b7e1c2d4a9f00e11|17|migrate|progress|%41|",
		"TPKR|1|2|b7e1c2d4a9f00e11|17|migrate|progress|%0a|",
		"TPKR|1|2|b7e1c2d4a9f00e11|17|migrate|progress|%00|",
		"TPKR|1|2|b7e1c2d4a9f00e11|17|migrate|progress|%2|",
		"TPKR|1|2|b7e1c2d4a9f00e11|17|migrate|progress|\t|",
		"TPKR|1|2|b7e1c2d4a9f00e11|17|migrate|Progress|x|",
		"TPKR|1|2||17|migrate|progress|x|",
		"TPKR|1|2|b7e1c2d4a9f00e11|17||progress|x|",
	};
	struct tp_report_key k = key();
	struct tp_report back;
	char line[TP_REPORT_LINE_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		/* any MAC: the form is refused before it is looked at */
		snprintf(line, sizeof(line), "%s%s", lines[i], "e8a0394a57e0175824c33e80c70b2560");
		if (tp_report_parse(line, strlen(line), &k, &back) != -EBADMSG)
			fail_msg("accepted: %s", line);
	}
	snprintf(line, sizeof(line), "%.*sE8A0394A57E0175824C33E80C70B2560",
		 (int)(strlen(kat_line) - 32), kat_line);
	assert_int_equal(tp_report_parse(line, strlen(line), &k, &back), -EBADMSG);
}

static void replay_window(void **state)
{
	struct tp_report_window w = { 0 };
	struct tp_report r = sample();

	(void)state;
	r.seq = 5;
	assert_int_equal(tp_report_window_accept(&w, &r), 0);
	assert_int_equal(tp_report_window_accept(&w, &r), -EALREADY);
	assert_string_equal(tp_err_msg(),
			    "report replayed or out of order: seq 5 of run b7e1c2d4a9f00e11, after seq 5");
	r.seq = 4;
	assert_int_equal(tp_report_window_accept(&w, &r), -EALREADY);
	r.seq = 9; /* gaps are fine: lines get lost */
	assert_int_equal(tp_report_window_accept(&w, &r), 0);
	strcpy(r.id, "0000000000000002"); /* a new run starts over */
	r.seq = 1;
	assert_int_equal(tp_report_window_accept(&w, &r), 0);
	assert_int_equal(tp_report_window_accept(&w, &r), -EALREADY);
	r.seq = 2;
	assert_int_equal(tp_report_window_accept(&w, &r), 0);
	assert_string_equal(w.id, "0000000000000002");
	assert_int_equal(w.seq, 2);
}

static void run_ids(void **state)
{
	char a[40], b[40], small[16];

	(void)state;
	assert_int_equal(tp_report_id_new(a, sizeof(a)), 0);
	assert_int_equal(tp_report_id_new(b, sizeof(b)), 0);
	assert_int_equal(strlen(a), 16);
	assert_int_equal(strspn(a, "0123456789abcdef"), 16);
	assert_string_not_equal(a, b);
	assert_int_equal(tp_report_id_new(small, sizeof(small)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(known_answer),	 cmocka_unit_test(key_text),
		cmocka_unit_test(round_trip),	 cmocka_unit_test(bad_fields),
		cmocka_unit_test(overlong_text), cmocka_unit_test(wrong_key),
		cmocka_unit_test(flipped_bytes), cmocka_unit_test(truncated),
		cmocka_unit_test(noisy_console), cmocka_unit_test(non_canonical),
		cmocka_unit_test(replay_window), cmocka_unit_test(run_ids),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
