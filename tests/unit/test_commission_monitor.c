// SPDX-License-Identifier: MIT
/* bmc/commission/monitor.c: one slot's console during commissioning
 * (docs/commission.md §5): verified reports move the state, forged ones
 * do not, the failure signatures and the timeout's verdict. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmc/commission/monitor.h"
#include "common/clock.h"
#include "common/log.h"
#include "testutil.h"

static struct tp_report_key key, other;
static char kinds[1024];

static void on_event(void *cookie, const struct tp_cevent *e)
{
	(void)cookie;
	snprintf(kinds + strlen(kinds), sizeof(kinds) - strlen(kinds), "%s:%s;", e->kind, e->state);
}

static const char *run_id = "run-1";

/* The board root (common/path.c): one with no UARTs. */
#define NO_ROOT "/nonexistent-tpkit-root"

static void line(struct tp_cmon *m, const struct tp_report_key *k, uint64_t seq,
		 const char *step, const char *event, const char *text)
{
	struct tp_report r = tu_report(m->slot, step, event, text);
	char buf[1024];
	size_t n;

	snprintf(r.id, sizeof(r.id), "%s", run_id);
	r.seq = seq;
	n = tu_report_line(buf, sizeof(buf), k, &r);
	assert_int_equal(tp_cmon_feed(m, buf, n), 0);
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

#define SEEDED "0b5e0000-1111-4222-8333-444455556666"
#define MOVED "5eed0000-aaaa-4bbb-8ccc-ddddeeeeffff"
#define OLD "01d00000-aaaa-4bbb-8ccc-ddddeeeeffff"
#define HINT ": run `tpkit commission --slot 3 --wipe-nvme`; a system without tpkit's guard " \
	     "cannot wipe itself: log in and run wipefs -a /dev/nvme0n1 " \
	     "(docs/runbooks/old-nvme-boots.md)"

static void feed(struct tp_cmon *m, const char *s)
{
	assert_int_equal(tp_cmon_feed(m, s, strlen(s)), 0);
}

/* root= judged against the seeded root and the NVMe root reported after
 * this flash (commission.md §11), case aside; PARTUUID= and LABEL= not. */
static void root_foreign(void **state)
{
	struct tp_cslot rec;
	char f[128];
	const char *c;

	(void)state;
	tp_cslot_init(&rec, 1);
	c = "root=UUID=" OLD " rw";
	assert_int_equal(tp_cmon_root_foreign(&rec, c, strlen(c), f, sizeof(f)), 0); /* no seed */
	snprintf(rec.root_uuid, sizeof(rec.root_uuid), SEEDED);
	c = "console=ttyS0 root=UUID=" SEEDED " rootwait";
	assert_int_equal(tp_cmon_root_foreign(&rec, c, strlen(c), f, sizeof(f)), 0);
	c = "root=UUID=0B5E0000-1111-4222-8333-444455556666";
	assert_int_equal(tp_cmon_root_foreign(&rec, c, strlen(c), f, sizeof(f)), 0);
	c = "root=UUID=" MOVED " rootwait rw";
	assert_int_equal(tp_cmon_root_foreign(&rec, c, strlen(c), f, sizeof(f)), 1);
	assert_string_equal(f, "root UUID " MOVED ", seeded " SEEDED);
	c = "root=/dev/nvme0n1p2 rw";
	assert_int_equal(tp_cmon_root_foreign(&rec, c, strlen(c), f, sizeof(f)), 1);
	assert_string_equal(f, "root /dev/nvme0n1p2, seeded UUID " SEEDED);
	snprintf(rec.nvme_root_uuid, sizeof(rec.nvme_root_uuid), MOVED);
	c = "root=UUID=" MOVED "\r";
	assert_int_equal(tp_cmon_root_foreign(&rec, c, strlen(c), f, sizeof(f)), 0);
	c = "root=UUID=" OLD;
	assert_int_equal(tp_cmon_root_foreign(&rec, c, strlen(c), f, sizeof(f)), 1);
	c = "root=/dev/nvme0n1p2";
	assert_int_equal(tp_cmon_root_foreign(&rec, c, strlen(c), f, sizeof(f)), 0);
	for (unsigned i = 0; i < 4; i++) {
		const char *no[] = { "root=PARTUUID=" OLD, "root=LABEL=rootfs", "root=/dev/mmcblk0p2",
				     "xroot=UUID=" OLD " ro" };

		assert_int_equal(tp_cmon_root_foreign(&rec, no[i], strlen(no[i]), f, sizeof(f)), 0);
	}
}

/* The old NVMe system's kernel: the slot stops at once, no retry, with
 * the way out; the migration's report makes the NVMe root expected. */
static void old_nvme(void **state)
{
	static struct tp_cmon m;
	struct tp_cslot rec;
	char v[600];

	(void)state;
	setup_mon(&m, &rec);
	snprintf(rec.root_uuid, sizeof(rec.root_uuid), SEEDED);
	feed(&m, "[    0.000000] Kernel command line: root=UUID=" SEEDED " rootwait\r\n");
	assert_false(tp_cmon_fatal(&m));
	line(&m, &key, 1, "migrate", "progress", "6/6 rebooting into the NVMe, root UUID " MOVED);
	assert_string_equal(rec.nvme_root_uuid, MOVED);
	feed(&m, "[    0.000000] Kernel command line: root=UUID=" MOVED " rootwait\r\n");
	assert_false(tp_cmon_fatal(&m));
	assert_false(tp_cmon_expired(&m, 0));
	feed(&m, "[    0.000000] Kernel command line: root=UUID=" OLD " rootwait\r\n");
	assert_true(tp_cmon_fatal(&m));
	assert_true(tp_cmon_expired(&m, 0));
	tp_cmon_verdict(&m, v, sizeof(v));
	assert_string_equal(v, "the old NVMe system booted instead of the fresh eMMC (root UUID "
			       OLD ", seeded " SEEDED ")" HINT);
	assert_string_equal(kinds, "report:running;signature:running;");
	tp_cmon_close(&m);

	/* The older helper's 3/6 line names the new root too. */
	setup_mon(&m, &rec);
	line(&m, &key, 1, "migrate", "progress", "3/6 file system made: /dev/nvme0n1p2 ext4 UUID "
					       MOVED "; the seed partition stays empty");
	assert_string_equal(rec.nvme_root_uuid, MOVED);
	tp_cmon_close(&m);
}

/* With --wipe-nvme its guard gets the state's time: its progress reboots
 * the node; no guard, or the old system again, stops the slot. */
static void old_nvme_wipe(void **state)
{
	static struct tp_cmon m;
	struct tp_cslot rec;
	char v[600];

	(void)state;
	setup_mon(&m, &rec);
	snprintf(rec.root_uuid, sizeof(rec.root_uuid), SEEDED);
	snprintf(rec.wipe_nvme, sizeof(rec.wipe_nvme), "yes");
	feed(&m, "Kernel command line: root=UUID=" OLD "\r\n");
	assert_false(tp_cmon_expired(&m, m.deadline_ns - 1));
	assert_true(tp_cmon_fatal(&m)); /* if the deadline comes first */
	tp_cmon_verdict(&m, v, sizeof(v));
	assert_string_equal(v, "the old NVMe system booted instead of the fresh eMMC (root UUID " OLD
			       ", seeded " SEEDED ") and did not wipe itself: it has no tpkit guard; "
			       "log in and run wipefs -a /dev/nvme0n1, then tpkit commission --slot "
			       "3 (docs/runbooks/old-nvme-boots.md)");
	line(&m, &key, 1, "guard", "progress", "old NVMe system ...: wipe_nvme=yes: wiping");
	assert_int_equal(rec.state, TP_CS_REBOOTING);
	assert_false(tp_cmon_fatal(&m));
	feed(&m, "Kernel command line: root=UUID=" SEEDED "\r\n");
	assert_false(tp_cmon_fatal(&m));
	feed(&m, "Kernel command line: root=UUID=" OLD "\r\n");
	assert_true(tp_cmon_fatal(&m));
	assert_true(tp_cmon_expired(&m, 0));
	tp_cmon_verdict(&m, v, sizeof(v));
	assert_string_equal(v, "the old NVMe system booted again after its guard wiped the NVMe "
			       "(root UUID " OLD ", seeded " SEEDED "); log in and run wipefs -a "
			       "/dev/nvme0n1 (docs/runbooks/old-nvme-boots.md)");
	tp_cmon_close(&m);

	/* Without --wipe-nvme the guard's report stops the slot. */
	setup_mon(&m, &rec);
	line(&m, &key, 1, "guard", "fail", "old NVMe system (instance A) booted");
	assert_int_equal(rec.state, TP_CS_FAILED);
	assert_string_equal(rec.reason, "the old NVMe system booted instead of the fresh eMMC (its "
					"guard: old NVMe system (instance A) booted)" HINT);
	tp_cmon_close(&m);
}

/* A verified `helper start` of another instance than the seeding's is not
 * obeyed, nor any line of that run; it is the old system. */
static void instance(void **state)
{
	static struct tp_cmon m;
	struct tp_cslot rec;
	char v[600];

	(void)state;
	setup_mon(&m, &rec);
	snprintf(rec.instance_id, sizeof(rec.instance_id), "iid-new");
	line(&m, &key, 1, "helper", "start", "slot 3 rk1 agent instance iid-new");
	assert_int_equal(rec.state, TP_CS_RUNNING);
	assert_false(tp_cmon_fatal(&m));
	tp_cmon_close(&m);

	setup_mon(&m, &rec);
	snprintf(rec.instance_id, sizeof(rec.instance_id), "iid-new");
	run_id = "old-run";
	line(&m, &key, 1, "helper", "start", "slot 3 rk1 agent instance iid-old");
	line(&m, &key, 2, "helper", "done", "every step finished");
	run_id = "run-1";
	assert_int_equal(rec.state, TP_CS_BOOTING);
	assert_int_equal(rec.report_time, 0);
	assert_true(tp_cmon_fatal(&m));
	tp_cmon_verdict(&m, v, sizeof(v));
	assert_string_equal(v, "the old NVMe system booted instead of the fresh eMMC (its node "
			       "helper is instance iid-old, seeded iid-new)" HINT);
	assert_string_equal(kinds, "rejected:booting;signature:booting;rejected:booting;");
	tp_cmon_close(&m);
}

/* A console nobody could open is not a silent node: the timeout's verdict
 * names why, where "no output at all" would send a person to the module. */
static void unopened(void **state)
{
	static struct tp_cmon m;
	struct tp_cslot rec;
	char v[512];

	(void)state;
	tp_cslot_init(&rec, 3);
	tp_cslot_enter(&rec, TP_CS_BOOTING, 1);
	tp_cmon_init(&m, 3, &rec, on_event, NULL);
	tp_cmon_arm(&m);
	assert_int_equal(tp_cmon_open(&m), -ENOENT);
	assert_false(m.open);
	assert_true(tp_cmon_silent(&m)); /* still worth a look at its USB */
	tp_cmon_verdict(&m, v, sizeof(v));
	assert_string_equal(v, "its console could not be opened for 300 s (state booting): slot 3: "
			       "cannot open its UART " NO_ROOT "/dev/ttyS3: No such file or directory");
	tp_cmon_close(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reports),
		cmocka_unit_test(verdicts),
		cmocka_unit_test(root_foreign),
		cmocka_unit_test(old_nvme),
		cmocka_unit_test(old_nvme_wipe),
		cmocka_unit_test(instance),
		cmocka_unit_test_setup_teardown(unopened, tu_state_setup, tu_state_teardown),
	};

	memset(key.b, 0x11, sizeof(key.b));
	memset(other.b, 0x22, sizeof(other.b));
	tp_log_set_level(TP_LOG_ERR); /* console.c warns of the forged line */
	if (setenv("TPKIT_ROOT", NO_ROOT, 1))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
