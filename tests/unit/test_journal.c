// SPDX-License-Identifier: MIT
/* The node helper's journal (node/journal.c; docs/node-helper.md §4): the
 * exact bytes written, atomic replacement with mode 0600 and no temporary
 * left, reading it back to resume, another instance_id starting afresh, and
 * a damaged journal moved aside with a note. */
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
#include "node/node.h"

static char base[256], dir[300], file[340];

static int setup(void **state)
{
	(void)state;
	snprintf(base, sizeof(base), "%s/tpkit-test-journal.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(base))
		return -1;
	/* Two levels the journal makes itself, as /var/lib/tpkit-node. */
	snprintf(dir, sizeof(dir), "%s/var/tpkit-node", base);
	snprintf(file, sizeof(file), "%s/journal", dir);
	return 0;
}

static int teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	return system(cmd) == 0 ? 0 : -1;
}

static void slurp(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	fclose(f);
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* Files in dir other than the journal (temporaries left behind). */
static int others(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
		    strcmp(e->d_name, "journal"))
			n++;
	closedir(d);
	return n;
}

static void test_write_exact(void **state)
{
	struct tp_journal j;
	struct stat st;
	char note[512], text[1024];

	(void)state;
	assert_int_equal(tp_journal_open(&j, dir, "iid-1", note, sizeof(note)), 0);
	assert_string_equal(note, "");
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	/* Nothing is written until a step finishes. */
	assert_int_equal(access(file, F_OK), -1);
	assert_int_equal(tp_journal_record(&j, "cloudinit", "done", 1000), 0);
	assert_int_equal(tp_journal_record(&j, "migrate", "failed", 1001), 0);
	assert_int_equal(tp_journal_record(&j, "migrate", "skipped", 1002), 0);
	slurp(file, text, sizeof(text));
	assert_string_equal(text, "tpkit-node journal 1\n"
				  "instance_id=iid-1\n"
				  "cloudinit done 1000\n"
				  "migrate skipped 1002\n");
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(others(), 0);
	/* Bad entries are refused, and the file is left as it was. */
	assert_int_equal(tp_journal_record(&j, "k3s prep", "done", 1), -EINVAL);
	assert_int_equal(tp_journal_record(&j, "k3s_prep", "maybe", 1), -EINVAL);
	assert_string_equal(tp_err_msg(), "journal: bad entry for step k3s_prep");
	slurp(file, text, sizeof(text));
	assert_non_null(strstr(text, "migrate skipped 1002\n"));
	assert_null(strstr(text, "k3s"));
}

static void test_resume(void **state)
{
	struct tp_journal j, k;
	const struct tp_journal_entry *e;
	char note[512];

	(void)state;
	assert_int_equal(tp_journal_open(&j, dir, "iid-1", NULL, 0), 0);
	assert_int_equal(tp_journal_record(&j, "cloudinit", "done", 1000), 0);
	assert_int_equal(tp_journal_record(&j, "migrate", "skipped", 1001), 0);
	/* A new run (after a reboot or a kill) sees what the last one did. */
	assert_int_equal(tp_journal_open(&k, dir, "iid-1", note, sizeof(note)), 0);
	assert_string_equal(note, "");
	assert_int_equal(k.n, 2);
	e = tp_journal_find(&k, "cloudinit");
	assert_non_null(e);
	assert_string_equal(e->result, "done");
	assert_int_equal(e->time, 1000);
	e = tp_journal_find(&k, "migrate");
	assert_non_null(e);
	assert_string_equal(e->result, "skipped");
	assert_null(tp_journal_find(&k, "k3s_prep"));
	/* status reads without changing anything. */
	assert_int_equal(tp_journal_load(&k, dir), 0);
	assert_string_equal(k.instance_id, "iid-1");
	assert_int_equal(tp_journal_reset(&k), 0);
	assert_int_equal(access(file, F_OK), -1);
	assert_int_equal(tp_journal_load(&k, dir), -ENOENT);
}

static void test_other_instance(void **state)
{
	struct tp_journal j;
	char note[1024], want[1024];

	(void)state;
	assert_int_equal(tp_journal_open(&j, dir, "iid-old", NULL, 0), 0);
	assert_int_equal(tp_journal_record(&j, "cloudinit", "done", 1000), 0);
	/* The node was flashed again: its new seed has a new instance_id. */
	assert_int_equal(tp_journal_open(&j, dir, "iid-new", note, sizeof(note)), 0);
	snprintf(want, sizeof(want), "%s belongs to instance iid-old, this node is now iid-new "
		 "(flashed again): starting afresh", file);
	assert_string_equal(note, want);
	assert_int_equal(j.n, 0);
	assert_null(tp_journal_find(&j, "cloudinit"));
	assert_int_equal(access(file, F_OK), -1);
	assert_int_equal(tp_journal_record(&j, "migrate", "done", 5), 0);
	slurp(file, want, sizeof(want));
	assert_string_equal(want, "tpkit-node journal 1\ninstance_id=iid-new\nmigrate done 5\n");
}

static void test_garbage(void **state)
{
	static const struct {
		const char *text, *why;
	} cases[] = {
		{ "", "no instance_id line (an empty or torn file?)" },
		{ "tpkit-node journal 1\ninstance_id=iid-1\ncloudinit do",
		  "line 3 has no end (a torn write?)" },
		{ "tpkit-node journal 2\ninstance_id=iid-1\n", "line 1 is not \"tpkit-node journal 1\"" },
		{ "tpkit-node journal 1\ninstance=iid-1\n", "line 2 is not instance_id=ID" },
		{ "tpkit-node journal 1\ninstance_id=iid-1\ncloudinit ok 5\n",
		  "line 3 is not \"STEP done|skipped|failed TIME\"" },
		{ "tpkit-node journal 1\ninstance_id=iid-1\ncloudinit done 5 x\n",
		  "line 3 is not \"STEP done|skipped|failed TIME\"" },
		{ "tpkit-node journal 1\ninstance_id=iid-1\na done 5\na done 6\n",
		  "line 4: step a is there twice" },
		{ "tpkit-node journal 1\ninstance_id=iid-1\n\x01\xff\n",
		  "line 3 is not \"STEP done|skipped|failed TIME\"" },
	};
	struct tp_journal j;
	char note[1024], want[1024], bad[400], got[256];

	(void)state;
	assert_int_equal(tp_journal_open(&j, dir, "iid-1", NULL, 0), 0);
	snprintf(bad, sizeof(bad), "%s.bad", file);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		put(file, cases[i].text);
		assert_int_equal(tp_journal_load(&j, dir), -EINVAL);
		snprintf(want, sizeof(want), "%s: %s", file, cases[i].why);
		assert_string_equal(tp_err_msg(), want);
		/* run: ignored with a note, kept aside, started afresh. */
		assert_int_equal(tp_journal_open(&j, dir, "iid-1", note, sizeof(note)), 0);
		snprintf(want, sizeof(want), "%s: %s; moved to journal.bad, starting afresh", file,
			 cases[i].why);
		assert_string_equal(note, want);
		assert_int_equal(j.n, 0);
		assert_int_equal(access(file, F_OK), -1);
		slurp(bad, got, sizeof(got));
		assert_string_equal(got, cases[i].text);
	}
}

static void test_parse_direct(void **state)
{
	struct tp_journal j;

	(void)state;
	assert_int_equal(tp_journal_parse(&j, "tpkit-node journal 1\ninstance_id=x\n"
					      "done done 7\nmigrate failed 3\n"), 0);
	assert_int_equal(j.n, 2);
	assert_string_equal(tp_journal_find(&j, "migrate")->result, "failed");
	assert_int_equal(tp_journal_parse(&j, "tpkit-node journal 1\ninstance_id=x\n"
					      "done done -7\n"), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_write_exact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resume, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_instance, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parse_direct, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
