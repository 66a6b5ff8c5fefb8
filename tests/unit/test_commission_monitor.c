// SPDX-License-Identifier: MIT
/* bmc/commission/monitor.c: one slot's console during commissioning
 * (docs/commission.md §5): verified reports move the state, forged ones
 * do not, the failure signatures and the timeout's verdict. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "bmc/commission/monitor.h"
#include "common/clock.h"
#include "common/log.h"

static struct tp_report_key key, other;
static char kinds[1024];

static void on_event(void *cookie, const struct tp_cevent *e)
{
	(void)cookie;
	snprintf(kinds + strlen(kinds), sizeof(kinds) - strlen(kinds), "%s:%s;", e->kind, e->state);
}

static void line(struct tp_cmon *m, const struct tp_report_key *k, uint64_t seq,
		 const char *step, const char *event, const char *text)
{
	struct tp_report r;
	char buf[1024];
	int n;

	memset(&r, 0, sizeof(r));
	r.slot = m->slot;
	snprintf(r.id, sizeof(r.id), "run-1");
	r.seq = seq;
	snprintf(r.step, sizeof(r.step), "%s", step);
	snprintf(r.event, sizeof(r.event), "%s", event);
	tp_report_set_text(&r, text);
	n = tp_report_format(buf, sizeof(buf) - 2, k, &r);
	assert_true(n > 0);
	memcpy(buf + n, "\r\n", 2);
	assert_int_equal(tp_cmon_feed(m, buf, (size_t)n + 2), 0);
}

static void setup_mon(struct tp_cmon *m, struct tp_cslot *rec)
{
	tp_cslot_init(rec, 3);
	tp_cslot_enter(rec, TP_CS_BOOTING, 1);
	tp_cmon_init(m, 3, rec, on_event, NULL);
	tp_cmon_use_key(m, &key);
	tp_cmon_arm(m);
	kinds[0] = '\0';
}

/* Reports move the slot to done; a forged `helper done` is rejected and
 * moves nothing; the deadline is pushed out by progress. */
static void reports(void **state)
{
	static struct tp_cmon m;
	struct tp_cslot rec;
	uint64_t d0;

	(void)state;
	setup_mon(&m, &rec);
	d0 = m.deadline_ns;
	assert_true(d0 > 0);
	assert_int_equal(tp_cmon_feed(&m, "U-Boot\r\n", 8), 0);
	line(&m, &key, 1, "cloudinit", "ok", "first boot");
	assert_int_equal(rec.state, TP_CS_RUNNING);
	assert_true(m.deadline_ns > d0); /* running's 1800 s from now */
	assert_true(m.dirty);
	line(&m, &other, 2, "helper", "done", "forged");
	assert_int_equal(rec.state, TP_CS_RUNNING);
	line(&m, &key, 2, "helper", "done", "really");
	assert_int_equal(rec.state, TP_CS_DONE);
	assert_string_equal(rec.text, "really");
	assert_string_equal(kinds, "report:running;rejected:running;report:done;");
	assert_false(tp_cmon_expired(&m, tp_clock_now_ns()));
	tp_cmon_close(&m);
}

/* The verdicts: no output at all; the last non-blank line; a panic,
 * which expires the state at once. */
static void verdicts(void **state)
{
	static struct tp_cmon m;
	struct tp_cslot rec;
	char v[512];

	(void)state;
	setup_mon(&m, &rec);
	tp_cmon_verdict(&m, v, sizeof(v));
	assert_string_equal(v, "no output at all on its console for 300 s (state booting): no "
			       "power, no module, or a module stuck in maskrom, which prints nothing");
	assert_false(tp_cmon_expired(&m, m.deadline_ns - 1));
	assert_true(tp_cmon_expired(&m, m.deadline_ns));

	assert_int_equal(tp_cmon_feed(&m, "Starting kernel ...\n\n  \n", 24), 0);
	tp_cmon_verdict(&m, v, sizeof(v));
	assert_string_equal(v, "no verified report for 300 s (state booting); its console's last "
			       "line: Starting kernel ...");

	assert_int_equal(tp_cmon_feed(&m, "[ 2.1] Kernel panic - not syncing: VFS\n", 39), 0);
	assert_true(tp_cmon_expired(&m, 0));
	tp_cmon_verdict(&m, v, sizeof(v));
	assert_string_equal(v, "kernel panic (state booting)");
	assert_string_equal(kinds, "signature:booting;");
	/* Armed again (a retry): the signature is forgotten. */
	tp_cmon_arm(&m);
	assert_false(tp_cmon_expired(&m, 0));
	tp_cmon_close(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reports),
		cmocka_unit_test(verdicts),
	};

	memset(key.b, 0x11, sizeof(key.b));
	memset(other.b, 0x22, sizeof(other.b));
	tp_log_set_level(TP_LOG_ERR); /* console.c warns of the forged line */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
