// SPDX-License-Identifier: MIT
/* tp_err_save/restore: the one pattern for error context that must
 * outlive the calls made after a failure (common/err.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "common/err.h"

static void save_survives_cleanup(void **state)
{
	struct tp_err_ctx e;

	(void)state;
	assert_int_equal(tp_err_save(&e, tp_err_set(-EIO, "writing: %s", "short write")), -EIO);
	tp_err_set(-EPERM, "powering off failed"); /* cleanup sets its own */
	assert_string_equal(tp_err_msg(), "powering off failed");
	assert_int_equal(tp_err_restore(&e), -EIO);
	assert_string_equal(tp_err_msg(), "writing: short write");
	/* Prefixing after a restore reads the restored message. */
	tp_err_prefix(-EIO, "slot %u: ", 2u);
	assert_string_equal(tp_err_msg(), "slot 2: writing: short write");
	assert_string_equal(e.msg, "writing: short write");
}

static void first_failure_wins(void **state)
{
	struct tp_err_ctx e = { 0 };

	(void)state;
	tp_err_set(0, "not an error");
	assert_int_equal(tp_err_save_first(&e, 0), 0);
	assert_int_equal(e.rc, 0);
	tp_err_set(-EBUSY, "strap: line busy");
	assert_int_equal(tp_err_save_first(&e, -EBUSY), -EBUSY);
	tp_err_set(-EIO, "routing: write failed");
	assert_int_equal(tp_err_save_first(&e, -EIO), -EIO);
	assert_int_equal(e.rc, -EBUSY);
	assert_string_equal(e.msg, "strap: line busy");
	assert_int_equal(tp_err_restore(&e), -EBUSY);
	assert_string_equal(tp_err_msg(), "strap: line busy");
}

static void long_message_truncated_not_overrun(void **state)
{
	struct tp_err_ctx e;
	char big[TP_ERR_MAX * 2];

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	tp_err_set(-E2BIG, "%s", big);
	tp_err_save(&e, -E2BIG);
	assert_int_equal(strlen(e.msg), TP_ERR_MAX - 1);
	tp_err_clear();
	tp_err_restore(&e);
	assert_int_equal(strlen(tp_err_msg()), TP_ERR_MAX - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(save_survives_cleanup),
		cmocka_unit_test(first_failure_wins),
		cmocka_unit_test(long_message_truncated_not_overrun),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
