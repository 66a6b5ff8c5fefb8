// SPDX-License-Identifier: MIT
/* A node's console on the BMC side (bmc/console.c, report-protocol.md §8):
 * lines split across reads, \r\n, cut long lines, the ring of recent
 * lines, and each line's verdict. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "bmc/console.h"

struct seen {
	char text[64][TP_CONSOLE_LINE_MAX + 1];
	enum tp_console_kind kind[64];
	bool cut[64];
	unsigned n;
};

static int collect(void *cookie, const struct tp_console_line *l)
{
	struct seen *s = cookie;

	assert_true(s->n < 64);
	assert_int_equal(strlen(l->text), l->len);
	memcpy(s->text[s->n], l->text, l->len + 1);
	s->kind[s->n] = l->kind;
	s->cut[s->n] = l->cut;
	s->n++;
	return 0;
}

static struct tp_report_key key(unsigned char b)
{
	struct tp_report_key k;

	memset(k.b, b, sizeof(k.b));
	return k;
}

static int report(char *buf, size_t size, unsigned char keybyte, unsigned slot, uint64_t seq)
{
	struct tp_report_key k = key(keybyte);
	struct tp_report r = { .slot = slot, .seq = seq };

	strcpy(r.id, "run");
	strcpy(r.step, "k3s");
	strcpy(r.event, "ok");
	strcpy(r.text, "ready");
	return tp_report_format(buf, size, &k, &r);
}

static void split_lines(void **state)
{
	static struct tp_console c;
	static struct seen s;
	struct tp_report_key k = key(7);
	const char *in = "U-Boot\r\nStarting kernel ...\n\nlogin: ";

	(void)state;
	tp_console_init(&c, 2, &k);
	/* one byte at a time: a line waits for its newline */
	for (size_t i = 0; in[i]; i++)
		assert_int_equal(tp_console_feed(&c, in + i, 1, collect, &s), 0);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.text[0], "U-Boot");
	assert_string_equal(s.text[1], "Starting kernel ...");
	assert_string_equal(s.text[2], "");
	assert_int_equal(s.kind[0], TP_CONSOLE_LINE);
	assert_int_equal(tp_console_flush(&c, collect, &s), 0);
	assert_int_equal(s.n, 4);
	assert_string_equal(s.text[3], "login: ");
	assert_int_equal(tp_console_flush(&c, collect, &s), 0);
	assert_int_equal(s.n, 4);
	assert_int_equal(c.lines, 4);
	tp_console_close(&c);
}

static void long_line(void **state)
{
	static struct tp_console c;
	static struct seen s;
	static char big[TP_CONSOLE_LINE_MAX * 2 + 10];
	struct tp_report_key k = key(7);

	(void)state;
	tp_console_init(&c, 1, &k);
	memset(big, 'a', sizeof(big));
	big[sizeof(big) - 1] = '\n';
	assert_int_equal(tp_console_feed(&c, big, sizeof(big), collect, &s), 0);
	assert_int_equal(s.n, 3);
	assert_int_equal(strlen(s.text[0]), TP_CONSOLE_LINE_MAX);
	assert_true(s.cut[0] && s.cut[1] && !s.cut[2]);
	assert_int_equal(strlen(s.text[2]), 9);
}

static void verdicts(void **state)
{
	static struct tp_console c;
	static struct seen s;
	struct tp_report_key k = key(7);
	char good[TP_REPORT_LINE_MAX + 1], forged[TP_REPORT_LINE_MAX + 1],
		other_slot[TP_REPORT_LINE_MAX + 1], next[TP_REPORT_LINE_MAX + 1], in[4096];

	(void)state;
	assert_true(report(good, sizeof(good), 7, 3, 1) > 0);
	assert_true(report(forged, sizeof(forged), 8, 3, 2) > 0);
	assert_true(report(other_slot, sizeof(other_slot), 7, 2, 3) > 0);
	assert_true(report(next, sizeof(next), 7, 3, 4) > 0);
	snprintf(in, sizeof(in), "noise %s\r\n%s\n%s\n%s\n%.30s\n%s\n", good, forged, good,
		 other_slot, next, next);
	tp_console_init(&c, 3, &k);
	assert_int_equal(tp_console_feed(&c, in, strlen(in), collect, &s), 0);
	assert_int_equal(s.n, 6);
	assert_int_equal(s.kind[0], TP_CONSOLE_REPORT);
	assert_int_equal(s.kind[1], TP_CONSOLE_FORGED);
	assert_int_equal(s.kind[2], TP_CONSOLE_REPLAYED);
	assert_int_equal(s.kind[3], TP_CONSOLE_FORGED);
	assert_int_equal(s.kind[4], TP_CONSOLE_GARBLED);
	assert_int_equal(s.kind[5], TP_CONSOLE_REPORT);
	assert_int_equal(c.reports, 2);
	assert_int_equal(c.forged, 2);
	assert_int_equal(c.replayed, 1);
	assert_int_equal(c.garbled, 1);
	tp_console_close(&c);
	/* closing wipes the key */
	for (size_t i = 0; i < sizeof(c.key.b); i++)
		assert_int_equal(c.key.b[i], 0);
}

static void recent_lines(void **state)
{
	static struct tp_console c;
	static struct seen s;
	struct tp_report_key k = key(7);
	char in[64], buf[4096], want[4096] = "";

	(void)state;
	tp_console_init(&c, 1, &k);
	assert_int_equal(tp_console_recent(&c, 5, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	for (int i = 0; i < TP_CONSOLE_RING + 8; i++) {
		snprintf(in, sizeof(in), "line %d\x1b\n", i);
		s.n = 0;
		assert_int_equal(tp_console_feed(&c, in, strlen(in), collect, &s), 0);
	}
	for (int i = TP_CONSOLE_RING + 5; i < TP_CONSOLE_RING + 8; i++)
		snprintf(want + strlen(want), sizeof(want) - strlen(want), "line %d\\x1b\n", i);
	assert_int_equal(tp_console_recent(&c, 3, buf, sizeof(buf)), strlen(want));
	assert_string_equal(buf, want);
	/* more than the ring holds: the ring */
	tp_console_recent(&c, 1000, buf, sizeof(buf));
	assert_true(!strncmp(buf, "line 8\\x1b\n", 11));
	/* a small buffer: whole lines only */
	assert_int_equal(tp_console_recent(&c, 3, buf, 20), 12);
	assert_string_equal(buf, "line 37\\x1b\n");
}

static void printable(void **state)
{
	char out[64];

	(void)state;
	tp_console_printable("a\tb\x01\xff", 5, out, sizeof(out), false);
	assert_string_equal(out, "a\tb\\x01\\xff");
	tp_console_printable("a\tb\x01\xff", 5, out, sizeof(out), true);
	assert_string_equal(out, "a\tb\x01\\xff");
	tp_console_printable("abc\x01", 4, out, 5, false);
	assert_string_equal(out, "abc");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(split_lines),	cmocka_unit_test(long_line),
		cmocka_unit_test(verdicts),	cmocka_unit_test(recent_lines),
		cmocka_unit_test(printable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
