// SPDX-License-Identifier: MIT
/* bmc/commission/state.c: the per-slot state machine and its record
 * (docs/commission.md §2, §3). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bmc/commission/state.h"
#include "common/err.h"
#include "common/state.h"
#include "testutil.h"

/* The table: every row named, timeouts only where the runner waits on the
 * node or the flash, final states point at themselves. */
static void table(void **state)
{
	enum tp_cstate s;

	(void)state;
	for (unsigned i = 0; i < TP_CS_COUNT; i++) {
		const struct tp_cstate_row *r = tp_cstate_row((enum tp_cstate)i);

		assert_non_null(r);
		assert_int_equal(tp_cstate_parse(r->name, &s), 0);
		assert_int_equal(s, i);
		assert_true(r->timeout_s == 0 || r->retries > 0);
	}
	assert_null(tp_cstate_row(TP_CS_COUNT));
	assert_string_equal(tp_cstate_name(TP_CS_BOOTING), "booting");
	assert_int_equal(tp_cstate_row(TP_CS_BOOTING)->next, TP_CS_RUNNING);
	assert_int_equal(tp_cstate_row(TP_CS_DONE)->next, TP_CS_DONE);
	assert_int_equal(tp_cstate_row(TP_CS_DONE)->timeout_s, 0);
	assert_int_equal(tp_cstate_parse("Done", &s), -EINVAL);
}

/* Reports: any step is progress (RUNNING, attempts back to 0), pause is a
 * reboot, helper done is DONE, helper fail is FAILED with the text. */
static void reports(void **state)
{
	struct tp_cslot s;
	struct tp_report r;

	(void)state;
	tp_cslot_init(&s, 2);
	tp_cslot_enter(&s, TP_CS_BOOTING, 100);
	s.attempts = 1;
	r = tu_report(2, "cloudinit", "start", "waiting");
	assert_int_equal(tp_cslot_report(&s, &r, 110), TP_CS_RUNNING);
	assert_int_equal(s.attempts, 0);
	assert_int_equal(s.since, 110);
	assert_string_equal(s.step, "cloudinit");
	r = tu_report(2, "helper", "progress", "pause: rebooting for migrate");
	assert_int_equal(tp_cslot_report(&s, &r, 120), TP_CS_REBOOTING);
	r = tu_report(2, "helper", "progress", "note: not a pause");
	assert_int_equal(tp_cslot_report(&s, &r, 130), TP_CS_RUNNING);
	r = tu_report(2, "k3s_install", "fail", "exit 1");
	assert_int_equal(tp_cslot_report(&s, &r, 135), TP_CS_RUNNING);
	r = tu_report(2, "helper", "done", "all steps done");
	assert_int_equal(tp_cslot_report(&s, &r, 140), TP_CS_DONE);
	assert_int_equal(s.report_time, 140);

	tp_cslot_enter(&s, TP_CS_RUNNING, 150);
	r = tu_report(2, "helper", "fail", "stopped at k3s_install");
	assert_int_equal(tp_cslot_report(&s, &r, 160), TP_CS_FAILED);
	assert_string_equal(s.reason, "the node helper failed: stopped at k3s_install");
}

/* Timeouts: booting has 2 retries: power-cycle, then re-flash, then
 * failed with the reason; flashing has 1: re-flash. */
static void timeouts(void **state)
{
	struct tp_cslot s;

	(void)state;
	tp_cslot_init(&s, 1);
	tp_cslot_enter(&s, TP_CS_BOOTING, 0);
	assert_int_equal(tp_cslot_timeout(&s, 300, "no output"), TP_CRETRY_POWER_CYCLE);
	assert_int_equal(s.state, TP_CS_BOOTING);
	assert_int_equal(s.attempts, 1);
	assert_int_equal(tp_cslot_timeout(&s, 600, "no output"), TP_CRETRY_REFLASH);
	assert_int_equal(s.state, TP_CS_FLASHING);
	tp_cslot_enter(&s, TP_CS_BOOTING, 700); /* flashed again: attempts kept */
	assert_int_equal(s.attempts, 2);
	assert_int_equal(tp_cslot_timeout(&s, 1000, "no output at all"), TP_CRETRY_NONE);
	assert_int_equal(s.state, TP_CS_FAILED);
	assert_string_equal(s.reason, "no output at all");

	tp_cslot_init(&s, 1);
	tp_cslot_enter(&s, TP_CS_FLASHING, 0);
	assert_int_equal(tp_cslot_timeout(&s, 1, "stuck"), TP_CRETRY_REFLASH);
	assert_int_equal(tp_cslot_timeout(&s, 2, "stuck"), TP_CRETRY_NONE);
	/* A state with no timeout has no retries either. */
	tp_cslot_init(&s, 1);
	assert_int_equal(tp_cslot_timeout(&s, 1, "x"), TP_CRETRY_NONE);

	/* In its boot ROM: no power cycle, the same count of attempts. */
	tp_cslot_init(&s, 1);
	tp_cslot_enter(&s, TP_CS_BOOTING, 0);
	assert_int_equal(tp_cslot_timeout_flash(&s, 300, "rom"), TP_CRETRY_REFLASH);
	assert_int_equal(s.state, TP_CS_FLASHING);
	assert_int_equal(s.attempts, 1);
	tp_cslot_enter(&s, TP_CS_BOOTING, 400);
	assert_int_equal(tp_cslot_timeout_flash(&s, 700, "rom"), TP_CRETRY_REFLASH);
	tp_cslot_enter(&s, TP_CS_BOOTING, 800);
	assert_int_equal(tp_cslot_timeout_flash(&s, 1100, "in its boot ROM"), TP_CRETRY_NONE);
	assert_int_equal(s.state, TP_CS_FAILED);
	assert_string_equal(s.reason, "in its boot ROM");
}

static void filled(struct tp_cslot *s)
{
	tp_cslot_init(s, 3);
	tp_cslot_enter(s, TP_CS_RUNNING, 1700000000);
	strcpy(s->module, "rk1");
	strcpy(s->image, "ubuntu-24.04-server-rk1");
	strcpy(s->sha256, "ab12");
	strcpy(s->instance_id, "turing-3-0001");
	strcpy(s->root_uuid, "0f0e0d0c-0000-4000-8000-000000000001");
	s->attempts = 1;
	s->flashes = 2;
	strcpy(s->step, "migrate");
	strcpy(s->event, "progress");
	strcpy(s->text, "a\\b\nc=d\x01 \xff|e");
	s->report_time = 1700000042;
	strcpy(s->reason, "");
}

/* format → parse gives the record back byte for byte, odd bytes included;
 * save → load through the state directory too, 0600. */
static void round_trip(void **state)
{
	struct tp_cslot a, b;
	char text[4096], path[300];
	struct stat st;

	(void)state;
	filled(&a);
	assert_true(tp_cslot_format(&a, text, sizeof(text)) > 0);
	assert_non_null(strstr(text, "state=running\n"));
	assert_non_null(strstr(text, "report_text=a\\x5cb\\x0ac=d\\x01 \\xff|e\n"));
	assert_int_equal(tp_cslot_parse(&b, 3, text, "t"), 0);
	assert_memory_equal(&a, &b, sizeof(a));

	assert_int_equal(tp_cslot_load(&b, 3), -ENOENT);
	assert_int_equal(b.state, TP_CS_NEW);
	assert_int_equal(tp_cslot_save(&a), 0);
	memset(&b, 0x55, sizeof(b));
	assert_int_equal(tp_cslot_load(&b, 3), 0);
	assert_memory_equal(&a, &b, sizeof(a));
	snprintf(path, sizeof(path), "%s/commission-slot3", tu_dir());
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
}

/* Damaged records: refused whole, with a message that says which line. */
static void damaged(void **state)
{
	static const struct {
		const char *text, *msg;
	} cases[] = {
		{ "version=1\nslot=3\nstate=running\nattempts=1", "line 4: the last line has no newline" },
		{ "version=1\nslot=3\n", "no state= line" },
		{ "version=2\nslot=3\nstate=new\n", "line 1: a version this tpkit does not know" },
		{ "version=1\nslot=2\nstate=new\n", "line 2: bad value" },
		{ "state=flying\n", "line 1: bad value" },
		{ "state=new\nnonsense\n", "line 2: not key=value" },
		{ "state=new\ncolour=red\n", "line 2: unknown key" },
		{ "state=new\nattempts=-1\n", "line 2: bad value" },
		{ "state=new\nsince=12x\n", "line 2: bad value" },
		{ "state=new\nreport_text=bad\\q\n", "line 2: bad value" },
		{ "state=new\nreport_text=nul\\x00\n", "line 2: bad value" },
		{ "state=new\nmodule=waytoolongname\n", "line 2: bad value" },
	};
	struct tp_cslot s;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(tp_cslot_parse(&s, 3, cases[i].text, "rec"), -EBADMSG);
		if (!strstr(tp_err_msg(), cases[i].msg))
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, tp_err_msg(), cases[i].msg);
	}
	/* Through the directory: loaded as a fresh record, error kept. */
	assert_int_equal(tp_state_save("commission-slot4", "state=done\ngarbage\n"), 0);
	assert_int_equal(tp_cslot_load(&s, 4), -EBADMSG);
	assert_int_equal(s.state, TP_CS_NEW);
	assert_non_null(strstr(tp_err_msg(), "commission-slot4: damaged commissioning record"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(table),    cmocka_unit_test(reports), cmocka_unit_test(timeouts),
		cmocka_unit_test(round_trip), cmocka_unit_test(damaged),
	};

	return cmocka_run_group_tests(tests, tu_state_setup, tu_state_teardown);
}
