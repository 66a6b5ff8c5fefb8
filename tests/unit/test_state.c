// SPDX-License-Identifier: MIT
/* common/state.c: records that survive the process (docs/recovery.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/path.h"
#include "common/state.h"

static char base[] = "/tmp/tp-state-XXXXXX";

static int files_in(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Saved whole under TPKIT_STATE_DIR, made with its parents, 0700 / 0600,
 * no temporary file left; replaced whole; removed. */
static void save_load_remove(void **state)
{
	char dir[256], path[300], buf[64];
	struct stat st;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/a/b/state", base);
	setenv("TPKIT_STATE_DIR", dir, 1);
	assert_int_equal(tp_state_load("rec", buf, sizeof(buf)), -ENOENT);
	assert_int_equal(tp_state_save("rec", "one\ntwo\n"), 0);
	assert_int_equal(tp_state_load("rec", buf, sizeof(buf)), 8);
	assert_string_equal(buf, "one\ntwo\n");
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	snprintf(path, sizeof(path), "%s/rec", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(files_in(dir), 1);
	assert_int_equal(tp_state_save("rec", "three\n"), 0);
	assert_int_equal(tp_state_load("rec", buf, sizeof(buf)), 6);
	assert_string_equal(buf, "three\n");
	assert_int_equal(files_in(dir), 1);
	assert_int_equal(tp_state_remove("rec"), 0);
	assert_int_equal(tp_state_remove("rec"), 0);
	assert_int_equal(files_in(dir), 0);
	assert_int_equal(tp_state_load("rec", buf, sizeof(buf)), -ENOENT);
	assert_int_equal(tp_state_save("../x", "no"), -EINVAL);
}

/* Without TPKIT_STATE_DIR: the Kconfig default under TPKIT_ROOT. */
static void default_under_root(void **state)
{
	char dir[TP_PATH_MAX], want[TP_PATH_MAX];

	(void)state;
	unsetenv("TPKIT_STATE_DIR");
	tp_root_set(base);
	assert_int_equal(tp_state_dir(dir, sizeof(dir)), 0);
	snprintf(want, sizeof(want), "%s%s", base, CONFIG_TPKIT_STATE_DIR);
	assert_string_equal(dir, want);
	assert_int_equal(tp_state_save("rec", "x\n"), 0);
	strncat(want, "/rec", sizeof(want) - strlen(want) - 1);
	assert_int_equal(access(want, R_OK), 0);
	assert_int_equal(tp_state_remove("rec"), 0);
	tp_root_set(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(save_load_remove),
		cmocka_unit_test(default_under_root),
	};
	char cmd[64];
	int rc;

	if (!mkdtemp(base))
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", base);
	if (system(cmd))
		return 1;
	return rc;
}
