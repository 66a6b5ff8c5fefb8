// SPDX-License-Identifier: MIT
/* node.conf (node/conf.c, common/kvconf.c; docs/node-helper.md §3): the
 * file seeding writes is read whole; modes other than 0600 are refused;
 * every missing or bad key is named with the file; unknown keys become a
 * note; the report key never appears in a message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/kvconf.h"
#include "node/node.h"

#define KEY "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define GOOD "# Written by tpkit at seeding (docs/seeding.md). Secret: 0600.\n" \
	     "slot=2\nmodule=rk1\nrole=agent\nhostname=tp-2\n"                \
	     "server=https://10.0.0.1:6443\ninstance_id=tpkit-2-abc\n"          \
	     "report_key=" KEY "\n"

static char dir[256], file[300];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "%s/tpkit-test-node-conf.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(dir))
		return -1;
	snprintf(file, sizeof(file), "%s/node.conf", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(file);
	return rmdir(dir);
}

static void put(const char *text, mode_t mode)
{
	FILE *f;

	unlink(file);
	f = fopen(file, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(file, mode), 0);
}

static int load(struct tp_node_conf *nc, char *notes, size_t size)
{
	int rc = tp_node_conf_load(nc, file, notes, size);

	/* Whatever happened, the key is not in the message. */
	assert_null(strstr(tp_err_msg(), KEY));
	return rc;
}

static void test_good(void **state)
{
	struct tp_node_conf nc;
	char notes[256];

	(void)state;
	put(GOOD, 0600);
	assert_int_equal(load(&nc, notes, sizeof(notes)), 0);
	assert_int_equal(nc.slot, 2);
	assert_string_equal(nc.module, "rk1");
	assert_string_equal(nc.role, "agent");
	assert_string_equal(nc.hostname, "tp-2");
	assert_string_equal(nc.server, "https://10.0.0.1:6443");
	assert_string_equal(nc.instance_id, "tpkit-2-abc");
	assert_string_equal(nc.report_key, KEY);
	assert_string_equal(nc.nvme, "auto");
	/* An older seeding's file: the optional keys are empty. */
	assert_string_equal(nc.k3s_version, "");
	assert_string_equal(nc.k3s_bundle, "");
	assert_string_equal(nc.argocd_repo, "");
	assert_string_equal(nc.argocd_path, "");
	assert_string_equal(nc.argocd_revision, "");
	assert_string_equal(notes, "");
	tp_node_conf_wipe(&nc);
	assert_string_equal(nc.report_key, "");
}

static void test_unknown_key_noted(void **state)
{
	struct tp_node_conf nc;
	char notes[512], want[512];

	(void)state;
	put(GOOD "colour=blue\nnvme=never\n", 0600);
	assert_int_equal(load(&nc, notes, sizeof(notes)), 0);
	snprintf(want, sizeof(want), "%s: unknown key colour (line 9) ignored", file);
	assert_string_equal(notes, want);
	assert_string_equal(nc.nvme, "never");
}

/* The contract's k3s and ArgoCD keys (docs/node-helper.md §3) are read, a
 * URL with ':' and '#' kept whole (node.conf has no quoting or comments
 * after a value). */
static void test_k3s_keys(void **state)
{
	struct tp_node_conf nc;
	char notes[256];

	(void)state;
	put(GOOD "nvme=auto\nk3s_version=v1.31.4+k3s1\nk3s_bundle=/var/lib/tpkit-node/k3s\n"
		 "argocd_repo=git@example.com:ops/cluster.git#x\nargocd_path=apps/root\n"
		 "argocd_revision=main\n", 0600);
	assert_int_equal(load(&nc, notes, sizeof(notes)), 0);
	assert_string_equal(notes, "");
	assert_string_equal(nc.k3s_version, "v1.31.4+k3s1");
	assert_string_equal(nc.k3s_bundle, "/var/lib/tpkit-node/k3s");
	assert_string_equal(nc.argocd_repo, "git@example.com:ops/cluster.git#x");
	assert_string_equal(nc.argocd_path, "apps/root");
	assert_string_equal(nc.argocd_revision, "main");
	put(GOOD "k3s_version=v1.32.0-rc2+k3s1\n", 0600);
	assert_int_equal(load(&nc, NULL, 0), 0);
	assert_string_equal(nc.k3s_version, "v1.32.0-rc2+k3s1");
}

static void test_modes(void **state)
{
	static const mode_t bad[] = { 0644, 0640, 0400, 0700, 0660, 04600 };
	struct tp_node_conf nc;
	char want[512];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		put(GOOD, bad[i]);
		assert_int_equal(load(&nc, NULL, 0), -EPERM);
		snprintf(want, sizeof(want),
			 "%s has mode %04o, not 0600: it holds the report key, refused", file,
			 (unsigned)bad[i]);
		assert_string_equal(tp_err_msg(), want);
		assert_string_equal(nc.report_key, "");
	}
	/* A symlink to a good file is not node.conf either. */
	{
		char link[320];

		put(GOOD, 0600);
		snprintf(link, sizeof(link), "%s/link.conf", dir);
		assert_int_equal(symlink(file, link), 0);
		assert_int_equal(tp_node_conf_load(&nc, link, NULL, 0), -EPERM);
		snprintf(want, sizeof(want), "%s is not a regular file: refused", link);
		assert_string_equal(tp_err_msg(), want);
		unlink(link);
	}
}

static void test_missing_keys(void **state)
{
	static const char *const keys[] = { "slot", "module", "role", "hostname", "server",
					    "instance_id", "report_key" };
	struct tp_node_conf nc;
	char text[1024], want[512];

	(void)state;
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		const char *p = GOOD;
		size_t len = 0;

		/* GOOD without the line of keys[k]. */
		while (*p) {
			size_t l = strcspn(p, "\n") + 1;

			if (!(strncmp(p, keys[k], strlen(keys[k])) == 0 && p[strlen(keys[k])] == '='))
				len += (size_t)snprintf(text + len, sizeof(text) - len, "%.*s", (int)l, p);
			p += l;
		}
		put(text, 0600);
		assert_int_equal(load(&nc, NULL, 0), -EINVAL);
		snprintf(want, sizeof(want), "%s: the key %s is missing", file, keys[k]);
		assert_string_equal(tp_err_msg(), want);
	}
}

static void test_bad_values(void **state)
{
	static const struct {
		const char *from, *to, *msg;
	} cases[] = {
		{ "slot=2", "slot=5", "slot \"5\" is not 1 to 4" },
		{ "slot=2", "slot=", "slot \"\" is not 1 to 4" },
		{ "slot=2", "slot=2x", "slot \"2x\" is not 1 to 4" },
		{ "module=rk1", "module=rk2", "module \"rk2\" is not rk1 or cm4" },
		{ "role=agent", "role=boss", "role \"boss\" is not server, agent or none" },
		{ "hostname=tp-2", "hostname=Tp_2", "hostname \"Tp_2\" is not a host name label" },
		{ "server=https://10.0.0.1:6443", "server=http://x",
		  "an agent's server must be an https:// URL" },
		{ "instance_id=tpkit-2-abc", "instance_id=", "instance_id is empty" },
		{ "report_key=00", "report_key=0X",
		  "report_key is not 64 lower-case hex digits" },
		{ "report_key=", "report_key=short-",
		  "report_key is not 64 lower-case hex digits" },
		{ "slot=2\n", "slot=2\nnvme=maybe\n",
		  "nvme \"maybe\" is not auto, never or required" },
		{ "slot=2\n", "slot=2\nk3s_version=1.31.4\n",
		  "k3s_version \"1.31.4\" is not vX.Y.Z+k3sN" },
		{ "slot=2\n", "slot=2\nk3s_version=v1.31.4+k3s1x\n",
		  "k3s_version \"v1.31.4+k3s1x\" is not vX.Y.Z+k3sN" },
		{ "slot=2\n", "slot=2\nk3s_bundle=var/k3s\n",
		  "k3s_bundle is not an absolute path" },
		{ "slot=2\n", "slot=2\nargocd_repo=https://x/a b\n",
		  "argocd_repo has a blank or a control character" },
	};
	struct tp_node_conf nc;
	char text[1024], want[512];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *at = strstr(GOOD, cases[i].from);

		assert_non_null(at);
		snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - GOOD), GOOD, cases[i].to,
			 at + strlen(cases[i].from));
		put(text, 0600);
		assert_int_equal(load(&nc, NULL, 0), -EINVAL);
		snprintf(want, sizeof(want), "%s: %s", file, cases[i].msg);
		assert_string_equal(tp_err_msg(), want);
		assert_string_equal(nc.report_key, "");
	}
}

static void test_syntax(void **state)
{
	static const struct {
		const char *text, *msg;
	} cases[] = {
		{ "slot=1\njust words\n", "line 2: not key=value" },
		{ "slot=1\nslot=2\n", "line 2: key slot given twice" },
		{ "Slot=1\n", "line 1: bad key \"Slot\" (a-z, 0-9, _)" },
		{ "=1\n", "line 1: bad key \"\" (a-z, 0-9, _)" },
		{ "slot=1\r\n", "line 1: carriage return in the line" },
	};
	struct tp_kvconf kv;
	char want[512];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(tp_kvconf_parse(&kv, cases[i].text, "F"), -EINVAL);
		snprintf(want, sizeof(want), "F, %s", cases[i].msg);
		assert_string_equal(tp_err_msg(), want);
	}
	/* Comments, blank lines, '=' inside a value, a last line with no end. */
	assert_int_equal(tp_kvconf_parse(&kv, "# x=y\n\na=b=c\nd=", "F"), 0);
	assert_int_equal(kv.n, 2);
	assert_string_equal(tp_kvconf_get(&kv, "a"), "b=c");
	assert_string_equal(tp_kvconf_get(&kv, "d"), "");
	assert_null(tp_kvconf_get(&kv, "x"));
	tp_kvconf_free(&kv);
}

static void test_files(void **state)
{
	struct tp_node_conf nc;
	char want[512], big[TP_KVCONF_MAX_BYTES + 16];

	(void)state;
	unlink(file);
	assert_int_equal(tp_node_conf_load(&nc, file, NULL, 0), -ENOENT);
	snprintf(want, sizeof(want), "cannot read %s: No such file or directory", file);
	assert_string_equal(tp_err_msg(), want);
	memset(big, '#', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	put(big, 0600);
	assert_int_equal(tp_node_conf_load(&nc, file, NULL, 0), -EFBIG);
	snprintf(want, sizeof(want), "%s: larger than %d bytes", file, TP_KVCONF_MAX_BYTES);
	assert_string_equal(tp_err_msg(), want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_good, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_key_noted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_k3s_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syntax, setup, teardown),
		cmocka_unit_test_setup_teardown(test_files, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
