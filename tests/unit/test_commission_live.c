// SPDX-License-Identifier: MIT
/* bmc/commission/live.c: the notes beside the records and a slot's row of
 * the live table (docs/commission.md §12). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmc/commission/live.h"
#include "common/state.h"
#include "testutil.h"

/* k3s_ready ok's "kubeconfig PATH" is kept; anything else is not, and a
 * path with bytes a shell would read is refused. */
static void kubeconfig(void **state)
{
	struct tp_report r;
	char path[256];

	(void)state;
	assert_int_equal(tp_clive_kubeconfig(1, path, sizeof(path)), -ENOENT);
	r = tu_report(1, "k3s_ready", "progress", "waiting; kubeconfig /etc/x.yaml");
	tp_clive_report(1, &r);
	assert_int_equal(tp_clive_kubeconfig(1, path, sizeof(path)), -ENOENT);
	r = tu_report(1, "k3s_ready", "ok", "node s1 Ready, API /readyz ok; kubeconfig /etc/rancher/k3s/k3s.yaml");
	tp_clive_report(1, &r);
	assert_int_equal(tp_clive_kubeconfig(1, path, sizeof(path)), 0);
	assert_string_equal(path, "/etc/rancher/k3s/k3s.yaml");
	r = tu_report(1, "k3s_ready", "ok", "node s1 Ready; kubeconfig /tmp/a;reboot (missing)");
	tp_clive_report(1, &r);
	assert_int_equal(tp_clive_kubeconfig(1, path, sizeof(path)), 0);
	assert_string_equal(path, "/etc/rancher/k3s/k3s.yaml");
	r = tu_report(1, "k3s_ready", "ok", "k3s-agent active, kubelet healthz ok");
	tp_clive_report(2, &r);
	assert_int_equal(tp_clive_kubeconfig(2, path, sizeof(path)), -ENOENT);
}

static void steps(void **state)
{
	unsigned n;

	(void)state;
	assert_int_equal(tp_clive_step_index("cloudinit", &n), 1);
	assert_int_equal(n, 7);
	assert_int_equal(tp_clive_step_index("k3s_ready", &n), 5);
	assert_int_equal(tp_clive_step_index("helper", &n), 0);
}

/* The phase of each state: the flash's note, the report with N/M, the
 * reason; a damaged record; no record. */
static void rows(void **state)
{
	struct tp_clive_row row;
	struct tp_cslot s;

	(void)state;
	assert_int_equal(tp_clive_row(3, &row), 0);
	assert_int_equal(row.rc, -ENOENT);
	assert_string_equal(row.state, "new");
	assert_string_equal(row.phase, "-");

	tp_cslot_init(&s, 3);
	tp_cslot_enter(&s, TP_CS_FLASHING, 100);
	assert_int_equal(tp_cslot_save(&s), 0);
	assert_int_equal(tp_clive_row(3, &row), 0);
	assert_string_equal(row.phase, "flash");
	assert_int_equal(tp_clive_progress_write(3, "write 42%\n"), 0);
	assert_int_equal(tp_clive_row(3, &row), 0);
	assert_string_equal(row.phase, "flash write 42%");
	assert_false(row.end);
	tp_clive_progress_remove(3);
	assert_int_equal(tp_clive_row(3, &row), 0);
	assert_string_equal(row.phase, "flash");

	tp_cslot_enter(&s, TP_CS_RUNNING, 200);
	snprintf(s.step, sizeof(s.step), "migrate");
	snprintf(s.event, sizeof(s.event), "progress");
	snprintf(s.text, sizeof(s.text), "copying\x01 3/9");
	s.report_time = 300;
	assert_int_equal(tp_cslot_save(&s), 0);
	assert_int_equal(tp_clive_row(3, &row), 0);
	assert_string_equal(row.phase, "migrate 2/7 progress: copying\\x01 3/9");
	assert_int_equal(row.changed, 300);

	tp_cslot_fail(&s, 400, "no output at all");
	assert_int_equal(tp_cslot_save(&s), 0);
	assert_int_equal(tp_clive_row(3, &row), 0);
	assert_string_equal(row.phase, "no output at all");
	assert_true(row.end);

	assert_int_equal(tp_state_save("commission-slot4", "state=bogus\n"), 0);
	assert_int_equal(tp_clive_row(4, &row), 0);
	assert_int_equal(row.rc, -EBADMSG);
	assert_string_equal(row.state, "damaged");
	assert_false(row.end);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(kubeconfig),
		cmocka_unit_test(steps),
		cmocka_unit_test(rows),
	};

	return cmocka_run_group_tests(tests, tu_state_setup, tu_state_teardown);
}
