// SPDX-License-Identifier: MIT
/* Secrets (bmc/secrets.c) and OpenSSH key encodings (bmc/sshkey.c): modes of
 * files and directories, stability across calls and processes' instances,
 * formats, a damaged or loosened file, and fingerprints against a value
 * ssh-keygen -l printed. tests/regress/141_secrets.test checks the keys
 * with ssh-keygen itself. */
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

#include "bmc/secrets.h"
#include "bmc/sshkey.h"
#include "common/config.h"
#include "common/err.h"
#include "common/path.h"

static char tmpdir[256];

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/tpkit-test-secrets.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[512];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static unsigned mode_of(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		fail_msg("%s: missing", path);
	return st.st_mode & 07777;
}

static void file_text(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	fclose(f);
}

static void sec_path(const struct tp_secrets *s, unsigned slot, const char *name, char *buf)
{
	assert_int_equal(tp_secrets_path(s, slot, name, buf, 1024), 0);
}

static void generate_and_keep(void **state)
{
	static const char *const hosts[5] = { NULL, NULL, "lab-2", NULL, NULL };
	struct tp_secrets s, t;
	char p[1024], tok[64], tok2[64], pw[64], pw2[64], fp[TP_SSHKEY_FP_MAX];
	char pub[TP_SSHKEY_PUB_MAX], pub2[TP_SSHKEY_PUB_MAX], filehex[80], why[256];
	unsigned char key[32], key2[32];
	char *priv, *priv2;

	(void)state;
	assert_int_equal(tp_secrets_init(&s, tmpdir), 0);
	/* Asking for a fingerprint generates nothing. */
	assert_int_equal(tp_secrets_host_fingerprint(&s, 2, TP_SSHKEY_ED25519, fp, sizeof(fp)),
			 -ENOENT);
	snprintf(p, sizeof(p), "%s/secrets", tmpdir);
	assert_int_equal(access(p, F_OK), -1);

	assert_int_equal(tp_secrets_ensure(&s, 1u << 1, hosts), 0);
	assert_int_equal(mode_of(s.dir), 0700);
	sec_path(&s, 0, "cluster-token", p);
	assert_int_equal(mode_of(p), 0600);
	snprintf(p, sizeof(p), "%s/slot2", s.dir);
	assert_int_equal(mode_of(p), 0700);
	static const char *const secret_files[] = { "ssh_host_ed25519_key", "ssh_host_rsa_key",
						    "node-password", "report-key" };
	for (size_t i = 0; i < 4; i++) {
		sec_path(&s, 2, secret_files[i], p);
		assert_int_equal(mode_of(p), 0600);
	}
	sec_path(&s, 2, "ssh_host_ed25519_key.pub", p);
	assert_int_equal(mode_of(p), 0644);
	snprintf(p, sizeof(p), "%s/slot1", s.dir);
	assert_int_equal(access(p, F_OK), -1); /* only the slots asked for */

	/* Formats. */
	assert_int_equal(tp_secrets_cluster_token(&s, tok, sizeof(tok)), 0);
	assert_int_equal(strlen(tok), 48);
	assert_int_equal(strspn(tok, "0123456789abcdef"), 48);
	assert_int_equal(tp_secrets_node_password(&s, 2, pw, sizeof(pw)), 0);
	assert_int_equal(strlen(pw), 32);
	assert_int_equal(tp_secrets_report_key(&s, 2, key), 0);
	sec_path(&s, 2, "report-key", p);
	file_text(p, filehex, sizeof(filehex));
	for (int i = 0; i < 32; i++) {
		char two[3];

		snprintf(two, sizeof(two), "%02x", key[i]);
		assert_memory_equal(filehex + 2 * i, two, 2);
	}
	assert_int_equal(tp_secrets_host_key(&s, 2, TP_SSHKEY_ED25519, "lab-2", &priv, pub,
					     sizeof(pub)), 0);
	assert_non_null(strstr(priv, "-----BEGIN OPENSSH PRIVATE KEY-----\n"));
	assert_int_equal(strncmp(pub, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI", 37), 0);
	assert_non_null(strstr(pub, " root@lab-2"));
	assert_int_equal(tp_config_check_ssh_key_line(pub, why, sizeof(why)), 0);
	sec_path(&s, 2, "ssh_host_ed25519_key.pub", p);
	file_text(p, filehex, 2); /* exists */
	{
		char rsa[TP_SSHKEY_PUB_MAX];

		assert_int_equal(tp_secrets_host_key(&s, 2, TP_SSHKEY_RSA, NULL, NULL, rsa,
						     sizeof(rsa)), 0);
		/* string "ssh-rsa", mpint e = 65537: AAAAB3NzaC1yc2EAAAADAQAB */
		assert_int_equal(strncmp(rsa, "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQ", 38), 0);
		assert_int_equal(tp_config_check_ssh_key_line(rsa, why, sizeof(why)), 0);
	}

	/* Stable: a second instance (another run of tpkit) reads the same. */
	tp_secrets_close(&s);
	assert_int_equal(tp_secrets_init(&t, tmpdir), 0);
	assert_int_equal(tp_secrets_ensure(&t, 1u << 1, hosts), 0);
	assert_int_equal(tp_secrets_cluster_token(&t, tok2, sizeof(tok2)), 0);
	assert_string_equal(tok, tok2);
	assert_int_equal(tp_secrets_node_password(&t, 2, pw2, sizeof(pw2)), 0);
	assert_string_equal(pw, pw2);
	assert_int_equal(tp_secrets_report_key(&t, 2, key2), 0);
	assert_memory_equal(key, key2, 32);
	assert_int_equal(tp_secrets_host_key(&t, 2, TP_SSHKEY_ED25519, "other", &priv2, pub2,
					     sizeof(pub2)), 0);
	assert_string_equal(priv, priv2);
	assert_string_equal(pub, pub2);
	tp_sshkey_free_text(priv2);

	/* A lost .pub comes back from the private key, the key unchanged. */
	sec_path(&t, 2, "ssh_host_ed25519_key.pub", p);
	assert_int_equal(unlink(p), 0);
	assert_int_equal(tp_secrets_host_fingerprint(&t, 2, TP_SSHKEY_ED25519, fp, sizeof(fp)),
			 -ENOENT);
	assert_int_equal(tp_secrets_host_key(&t, 2, TP_SSHKEY_ED25519, NULL, NULL, pub2,
					     sizeof(pub2)), 0);
	assert_string_equal(pub, pub2);
	assert_int_equal(tp_secrets_host_fingerprint(&t, 2, TP_SSHKEY_ED25519, fp, sizeof(fp)), 0);
	{
		char fp2[TP_SSHKEY_FP_MAX];

		assert_int_equal(tp_sshkey_public(TP_SSHKEY_ED25519, priv, NULL, 0, fp2,
						  sizeof(fp2)), 0);
		assert_string_equal(fp, fp2);
	}
	/* A secrets directory someone loosened is tightened, a loosened file too. */
	chmod(t.dir, 0755);
	sec_path(&t, 2, "node-password", p);
	chmod(p, 0644);
	tp_secrets_close(&t);
	assert_int_equal(tp_secrets_init(&t, tmpdir), 0);
	assert_int_equal(tp_secrets_node_password(&t, 2, pw2, sizeof(pw2)), 0);
	assert_string_equal(pw, pw2);
	assert_int_equal(mode_of(t.dir), 0700);
	assert_int_equal(mode_of(p), 0600);
	tp_secrets_close(&t);
	tp_sshkey_free_text(priv);
}

/* A damaged secret is an error naming the file, never echoing its content. */
static void damaged(void **state)
{
	struct tp_secrets s;
	char p[1024], pw[64];
	FILE *f;

	(void)state;
	/* A state directory of its own: a failed test above may hold its lock. */
	snprintf(p, sizeof(p), "%s/damaged", tmpdir);
	assert_int_equal(tp_secrets_init(&s, p), 0);
	assert_int_equal(tp_secrets_node_password(&s, 3, pw, sizeof(pw)), 0);
	sec_path(&s, 3, "node-password", p);
	f = fopen(p, "w");
	fputs("SECRETSECRETSECRET\n", f);
	fclose(f);
	assert_int_equal(tp_secrets_node_password(&s, 3, pw, sizeof(pw)), -EINVAL);
	assert_non_null(strstr(tp_err_msg(), p));
	assert_non_null(strstr(tp_err_msg(), "damaged"));
	assert_null(strstr(tp_err_msg(), "SECRET"));
	assert_int_equal(tp_secrets_node_password(&s, 5, pw, sizeof(pw)), -EINVAL);
	assert_non_null(strstr(tp_err_msg(), "slot 5"));
	sec_path(&s, 3, "ssh_host_ed25519_key", p);
	f = fopen(p, "w");
	fputs("-----BEGIN OPENSSH PRIVATE KEY-----\nU0VDUkVU\n-----END OPENSSH PRIVATE KEY-----\n", f);
	fclose(f);
	chmod(p, 0600);
	assert_int_equal(tp_secrets_host_key(&s, 3, TP_SSHKEY_ED25519, NULL, NULL, NULL, 0),
			 -EINVAL);
	assert_non_null(strstr(tp_err_msg(), p));
	assert_null(strstr(tp_err_msg(), "U0VDUkVU"));
	tp_secrets_close(&s);
}

static void environment(void **state)
{
	struct tp_secrets s;
	char want[600];

	(void)state;
	setenv("TPKIT_STATE_DIR", "/elsewhere/state", 1);
	assert_int_equal(tp_secrets_init(&s, NULL), 0);
	assert_string_equal(s.dir, "/elsewhere/state/secrets");
	unsetenv("TPKIT_STATE_DIR");
	setenv("TPKIT_ROOT", tmpdir, 1);
	tp_root_set(NULL);
	assert_int_equal(tp_secrets_init(&s, NULL), 0);
	snprintf(want, sizeof(want), "%s%s/secrets", tmpdir, CONFIG_TPKIT_STATE_DIR);
	assert_string_equal(s.dir, want);
	unsetenv("TPKIT_ROOT");
	tp_root_set(NULL);
}

/* Known answer: ssh-keygen -lf printed this for this public key. */
static void fingerprint_known(void **state)
{
	char fp[TP_SSHKEY_FP_MAX];

	(void)state;
	assert_int_equal(tp_sshkey_fingerprint_line(
				 "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF23YN3yxyFXZxVNdzZU50fAnN5dvJ8QY3z9"
				 "IiocIEZL me@laptop",
				 fp, sizeof(fp)),
			 0);
	assert_string_equal(fp, "SHA256:aBGDbPjwOpyyMWgMHEdxk/m4/alY8GsYf3C8ZOGpj9I");
	assert_int_equal(tp_sshkey_fingerprint_line("nospace", fp, sizeof(fp)), -EINVAL);
}

/* Two keys generated in a row differ (the RNG is really used). */
static void distinct(void **state)
{
	char *a, *b, pa[TP_SSHKEY_PUB_MAX], pb[TP_SSHKEY_PUB_MAX];

	(void)state;
	assert_int_equal(tp_sshkey_generate(TP_SSHKEY_ED25519, "x", &a), 0);
	assert_int_equal(tp_sshkey_generate(TP_SSHKEY_ED25519, "x", &b), 0);
	assert_int_equal(tp_sshkey_public(TP_SSHKEY_ED25519, a, pa, sizeof(pa), NULL, 0), 0);
	assert_int_equal(tp_sshkey_public(TP_SSHKEY_ED25519, b, pb, sizeof(pb), NULL, 0), 0);
	assert_string_not_equal(pa, pb);
	/* Parsing with the wrong type is refused. */
	assert_int_equal(tp_sshkey_public(TP_SSHKEY_RSA, a, pa, sizeof(pa), NULL, 0), -EINVAL);
	tp_sshkey_free_text(a);
	tp_sshkey_free_text(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(generate_and_keep), cmocka_unit_test(damaged),
		cmocka_unit_test(environment),	     cmocka_unit_test(fingerprint_known),
		cmocka_unit_test(distinct),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
