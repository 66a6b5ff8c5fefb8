// SPDX-License-Identifier: MIT
/*
 * The node guard's decision (docs/node-helper.md §16): an RK1 whose root
 * is on the NVMe and whose eMMC holds a tpkit seed of another instance is
 * the old system booted instead of the fresh eMMC; anything else is left
 * alone. The guard's I/O (the eMMC's root mounted read-only, the report,
 * the wipe) is test 154's, in a fake root.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "node/node.h"

static enum tp_guard_act decide(const char *module, const char *root, bool found,
				const char *seed, bool wipe, char *why)
{
	struct tp_guard_facts f = { .module = module, .instance_id = "iid-old", .root_src = root,
				    .seed_found = found, .seed_instance = seed, .seed_wipe = wipe };

	return tp_guard_decide(&f, why, 256);
}

static void nothing(void **state)
{
	char why[256];

	(void)state;
	assert_int_equal(decide("cm4", "/dev/mmcblk0p2", true, "iid-new", true, why),
			 TP_GUARD_NOTHING);
	assert_string_equal(why, "not an RK1 (module cm4)");
	assert_int_equal(decide("rk1", "/dev/mmcblk0p2", true, "iid-new", true, why),
			 TP_GUARD_NOTHING);
	assert_string_equal(why, "the root is on /dev/mmcblk0p2, not an NVMe");
	assert_int_equal(decide("rk1", "/dev/nvme0n1p2", false, "", true, why), TP_GUARD_NOTHING);
	assert_string_equal(why, "no tpkit seed on the eMMC");
	/* The eMMC this system was copied from: the same seed. */
	assert_int_equal(decide("rk1", "/dev/nvme0n1p2", true, "iid-old", true, why),
			 TP_GUARD_NOTHING);
	assert_string_equal(why, "the eMMC holds this system's own seed (instance iid-old)");
}

static void old_system(void **state)
{
	char why[256];

	(void)state;
	assert_int_equal(decide("rk1", "/dev/nvme0n1p2", true, "iid-new", false, why),
			 TP_GUARD_REPORT);
	assert_string_equal(why, "old NVMe system (instance iid-old, root /dev/nvme0n1p2) booted "
				 "instead of the fresh eMMC (instance iid-new)");
	assert_int_equal(decide("rk1", "/dev/nvme0n1p2", true, "iid-new", true, why),
			 TP_GUARD_WIPE);
	assert_string_equal(why, "old NVMe system (instance iid-old, root /dev/nvme0n1p2) booted "
				 "instead of the fresh eMMC (instance iid-new)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(nothing),
		cmocka_unit_test(old_system),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
