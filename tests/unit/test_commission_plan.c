// SPDX-License-Identifier: MIT
/* bmc/commission/plan.c: each record state, with and without --reflash,
 * to its action and reason (docs/commission.md §4). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmc/commission/plan.h"
#include "common/err.h"
#include "common/state.h"
#include "testutil.h"

static char conf[128];

static void put(unsigned slot, enum tp_cstate st, const char *reason)
{
	struct tp_cslot s;

	tp_cslot_init(&s, slot);
	tp_cslot_enter(&s, st, 1);
	if (reason)
		tp_cslot_fail(&s, 1, reason);
	assert_int_equal(tp_cslot_save(&s), 0);
}

static void by_state(void **state)
{
	static const struct {
		enum tp_cstate st;
		enum tp_cplan_action act, act_reflash;
		const char *why;
	} cases[] = {
		{ TP_CS_NEW, TP_CPLAN_FLASH, TP_CPLAN_FLASH, "never commissioned" },
		{ TP_CS_FLASHING, TP_CPLAN_FLASH, TP_CPLAN_FLASH, "a flash was stopped half-way: flashed again" },
		{ TP_CS_FLASHED, TP_CPLAN_BOOT, TP_CPLAN_FLASH, "flashed and seeded, not booted yet" },
		{ TP_CS_BOOTING, TP_CPLAN_FOLLOW, TP_CPLAN_FLASH, "was booting: its console is followed again" },
		{ TP_CS_RUNNING, TP_CPLAN_FOLLOW, TP_CPLAN_FLASH, "the node helper was running: its console is followed again" },
		{ TP_CS_REBOOTING, TP_CPLAN_FOLLOW, TP_CPLAN_FLASH, "was rebooting: its console is followed again" },
		{ TP_CS_DONE, TP_CPLAN_LEAVE, TP_CPLAN_FLASH, "already done: left alone" },
	};
	struct tp_config cfg;
	struct tp_cplan_slot p[TP_SLOTS_MAX];
	struct tp_cplan_opts o = { 0 }, re = { .reflash = true };

	(void)state;
	assert_int_equal(tp_config_init(&cfg, conf), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		put(2, cases[i].st, NULL);
		assert_int_equal(tp_cplan_make(&cfg, TP_SLOT_BIT(2), &o, p), 1);
		assert_int_equal(p[0].slot, 2);
		assert_int_equal(p[0].action, cases[i].act);
		assert_string_equal(p[0].why, cases[i].why);
		assert_string_equal(p[0].role, "agent");
		assert_string_equal(p[0].hostname, "turing-2");
		assert_int_equal(tp_cplan_make(&cfg, TP_SLOT_BIT(2), &re, p), 1);
		assert_int_equal(p[0].action, cases[i].act_reflash);
	}
	put(1, TP_CS_FAILED, "no verified report");
	assert_int_equal(tp_cplan_make(&cfg, TP_SLOT_BIT(1) | TP_SLOT_BIT(2), &o, p), 2);
	assert_int_equal(p[0].action, TP_CPLAN_FLASH);
	assert_string_equal(p[0].why, "failed before: starts over (no verified report)");
	assert_string_equal(p[0].role, "server");
	assert_int_equal(p[1].action, TP_CPLAN_LEAVE);
	/* At boot a failed slot waits for a person; --reflash still goes. */
	{
		struct tp_cplan_opts un = { .unattended = true }, unre = { .unattended = true,
									    .reflash = true };

		assert_int_equal(tp_cplan_make(&cfg, TP_SLOT_BIT(1), &un, p), 1);
		assert_int_equal(p[0].action, TP_CPLAN_SKIP);
		assert_string_equal(p[0].why, "failed before (no verified report): left for a person, "
				    "not started over at boot; `tpkit commission --slot 1` starts it "
				    "over");
		assert_int_equal(tp_cplan_make(&cfg, TP_SLOT_BIT(1), &unre, p), 1);
		assert_int_equal(p[0].action, TP_CPLAN_FLASH);
	}
	tp_config_free(&cfg);
}

/* A damaged record is left alone (the node may be a working one) unless
 * --reflash; role none is skipped whatever the record says. */
static void damaged_and_none(void **state)
{
	struct tp_config cfg;
	struct tp_cplan_slot p[TP_SLOTS_MAX];
	struct tp_cplan_opts o = { 0 }, re = { .reflash = true };
	char dir[300];
	FILE *f;

	(void)state;
	assert_int_equal(tp_state_save("commission-slot3", "state=done\nbroken\n"), 0);
	assert_int_equal(tp_config_init(&cfg, conf), 0);
	assert_int_equal(tp_cplan_make(&cfg, TP_SLOT_BIT(3), &o, p), 1);
	assert_int_equal(p[0].action, TP_CPLAN_SKIP);
	assert_int_equal(p[0].rec_rc, -EBADMSG);
	assert_non_null(strstr(p[0].rec_err, "line 2: not key=value"));
	assert_string_equal(p[0].why, "its record is damaged: left alone (--reflash starts it over)");
	assert_int_equal(tp_cplan_make(&cfg, TP_SLOT_BIT(3), &re, p), 1);
	assert_int_equal(p[0].action, TP_CPLAN_FLASH);

	snprintf(dir, sizeof(dir), "mkdir -p %s/slot/4", conf);
	assert_int_equal(system(dir), 0);
	snprintf(dir, sizeof(dir), "%s/slot/4/role", conf);
	f = fopen(dir, "w");
	assert_non_null(f);
	fputs("none\n", f);
	fclose(f);
	put(4, TP_CS_NEW, NULL);
	assert_int_equal(tp_config_load(&cfg), 0);
	assert_int_equal(tp_cplan_make(&cfg, TP_SLOT_BIT(4), &re, p), 1);
	assert_int_equal(p[0].action, TP_CPLAN_SKIP);
	assert_string_equal(p[0].why, "role none: not commissioned");
	assert_string_equal(tp_cplan_action_name(TP_CPLAN_FOLLOW), "follow");
	tp_config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(by_state),
		cmocka_unit_test(damaged_and_none),
	};
	const char *base = tu_tmpdir("cplan");
	char st[64];
	int rc;

	if (!base)
		return 1;
	snprintf(st, sizeof(st), "%s/state", base);
	setenv("TPKIT_STATE_DIR", st, 1);
	snprintf(conf, sizeof(conf), "%s/conf", base);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	if (tu_tmpdir_remove())
		return 1;
	return rc;
}
