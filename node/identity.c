// SPDX-License-Identifier: MIT
/*
 * What first boot made of the seed, as the BMC wants to confirm it
 * (docs/node-helper.md §14): the hostname, each login user with the state
 * of its password and the fingerprint of each authorized key, and the
 * fingerprint of each SSH host key. The BMC computed the host keys' and the
 * admin keys' fingerprints when it seeded the node; seeing the same ones on
 * the console proves the node runs with what was seeded (and the host key
 * lines are what a user's known_hosts can trust).
 *
 * Fingerprints are OpenSSH's: "SHA256:" and the unpadded base64 of the
 * SHA-256 of the key blob, with the key type in parentheses, as
 * `ssh-keygen -l` prints them.
 */
#include "node.h"
#include "common/base64.h"
#include "common/err.h"

#include <errno.h>
#include <glob.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

/* Login users: the uids adduser gives to people (Debian policy 9.2.2). */
#define UID_FIRST 1000
#define UID_LAST 59999
#define FILE_MAX (256u << 10)
#define BLOB_MAX 4096

struct keytype {
	const char *name;   /* the type string at the start of the blob */
	const char *label;  /* ssh-keygen -l's label */
};

static const struct keytype keytypes[] = {
	{ "ssh-ed25519", "ED25519" },
	{ "ssh-rsa", "RSA" },
	{ "ecdsa-sha2-nistp256", "ECDSA" },
	{ "ecdsa-sha2-nistp384", "ECDSA" },
	{ "ecdsa-sha2-nistp521", "ECDSA" },
	{ "sk-ssh-ed25519@openssh.com", "ED25519-SK" },
	{ "sk-ecdsa-sha2-nistp256@openssh.com", "ECDSA-SK" },
	{ "ssh-dss", "DSA" },
};

static const struct keytype *keytype_of(const char *s, size_t len)
{
	for (size_t i = 0; i < sizeof(keytypes) / sizeof(keytypes[0]); i++)
		if (strlen(keytypes[i].name) == len && !memcmp(keytypes[i].name, s, len))
			return &keytypes[i];
	return NULL;
}

/* A small file under the root, whole, NUL-terminated; NULL when missing or
 * unreadable (the caller reports what it could not read). */
static char *slurp(const char *rooted)
{
	char *buf = malloc(FILE_MAX);

	if (buf && tp_file_read(rooted, buf, FILE_MAX) < 0) {
		free(buf);
		buf = NULL;
	}
	tp_err_clear();
	return buf;
}

/*
 * The fingerprint of the key whose type token is at tok (tlen bytes) and
 * whose base64 blob follows it: "SHA256:... (LABEL)" into out. 0, or
 * -EINVAL when tok is no key (wrong type, bad base64, or a blob whose own
 * type string disagrees with the token).
 */
static int fingerprint(const char *tok, size_t tlen, const char *b64, size_t blen, char *out,
		       size_t size)
{
	const struct keytype *kt = keytype_of(tok, tlen);
	unsigned char blob[BLOB_MAX], md[32];
	char enc[TP_BASE64_LEN(32) + 1];
	unsigned mdlen = 0;
	size_t tl;
	long n;

	if (!kt || blen == 0 || blen / 4 * 3 > sizeof(blob))
		return -EINVAL;
	n = tp_base64_decode(b64, blen, blob);
	if (n < 4)
		return -EINVAL;
	/* The blob starts with its type as an SSH string (RFC 4253, section 6.6). */
	tl = (size_t)blob[0] << 24 | (size_t)blob[1] << 16 | (size_t)blob[2] << 8 | blob[3];
	if (tl > (size_t)n - 4 || keytype_of((char *)blob + 4, tl) != kt)
		return -EINVAL;
	if (!EVP_Digest(blob, (size_t)n, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
		return -EIO;
	tp_base64_encode(md, 32, enc, false);
	snprintf(out, size, "SHA256:%s (%s)", enc, kt->label);
	return 0;
}

/* The key on one line of authorized_keys or a .pub file: options may come
 * first (sshd(8), AUTHORIZED_KEYS FILE FORMAT), so the first token that is
 * a key type followed by a matching blob is the key. */
static int line_key(const char *line, size_t len, char *out, size_t size)
{
	const char *p = line, *end = line + len;

	while (p < end) {
		size_t t = strcspn(p, " \t"), b;

		if (p + t > end)
			t = (size_t)(end - p);
		if (p + t < end) {
			const char *q = p + t + strspn(p + t, " \t");

			b = strcspn(q, " \t");
			if (q + b > end)
				b = (size_t)(end - q);
			if (fingerprint(p, t, q, b, out, size) == 0)
				return 0;
		}
		p += t;
		p += strspn(p, " \t");
	}
	return -EINVAL;
}

static void report(const struct tp_node_reporter *r, const char *step, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void report(const struct tp_node_reporter *r, const char *step, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	tp_node_report(r, step, "progress", "%s", text);
}

/* The password state as passwd -S shows it: L (locked: '!' or '*' first),
 * NP (empty), P (usable), ? (no shadow entry). */
static const char *password_state(const char *shadow, const char *user)
{
	size_t ul = strlen(user);

	for (const char *p = shadow; p && *p; p = strchr(p, '\n'), p += p != NULL) {
		if (!strncmp(p, user, ul) && p[ul] == ':') {
			const char *pw = p + ul + 1;

			if (*pw == '!' || *pw == '*')
				return "L";
			return (*pw == ':' || *pw == '\n' || !*pw) ? "NP" : "P";
		}
	}
	return "?";
}

static void report_user(const struct tp_node_reporter *r, const char *step, const char *name,
			const char *home, const char *shadow)
{
	const char *pw = password_state(shadow, name);
	char path[TP_PATH_MAX], fp[96];
	char *keys;
	unsigned n = 0;

	snprintf(path, sizeof(path), "%s/.ssh/authorized_keys", home);
	keys = slurp(path);
	for (const char *l = keys; l && *l; l += strcspn(l, "\n"), l += *l == '\n') {
		size_t len = strcspn(l, "\n");

		if (len && *l != '#' && line_key(l, len, fp, sizeof(fp)) == 0) {
			report(r, step, "user %s password %s key %s", name, pw, fp);
			n++;
		}
	}
	if (!n)
		report(r, step, "user %s password %s keys none", name, pw);
	free(keys);
}

/* Each line of /etc/passwd with a login uid: name:x:uid:gid:gecos:home:shell. */
static void report_users(const struct tp_node_reporter *r, const char *step)
{
	char *passwd = slurp("/etc/passwd"), *shadow = slurp("/etc/shadow");

	if (!passwd) {
		report(r, step, "identity: /etc/passwd cannot be read");
		goto out;
	}
	for (char *l = passwd; *l; l += strcspn(l, "\n"), l += *l == '\n') {
		char name[64], home[256];
		unsigned long uid;
		char *f[7], *end;
		size_t len = strcspn(l, "\n");
		char line[512];
		unsigned nf = 0;

		if (len >= sizeof(line))
			continue;
		memcpy(line, l, len);
		line[len] = '\0';
		/* strtok_r would merge empty fields; split by hand. */
		for (char *p = line; nf < 7; nf++) {
			f[nf] = p;
			p = strchr(p, ':');
			if (!p) {
				nf++;
				break;
			}
			*p++ = '\0';
		}
		if (nf < 6)
			continue;
		uid = strtoul(f[2], &end, 10);
		if (*end || uid < UID_FIRST || uid > UID_LAST)
			continue;
		snprintf(name, sizeof(name), "%s", f[0]);
		snprintf(home, sizeof(home), "%s", f[5]);
		report_user(r, step, name, home, shadow ? shadow : "");
	}
out:
	free(passwd);
	free(shadow);
}

static void report_hostkeys(const struct tp_node_reporter *r, const char *step)
{
	char pattern[TP_PATH_MAX], fp[96];
	size_t rootlen;
	glob_t g;

	if (tp_path(pattern, sizeof(pattern), "/etc/ssh/ssh_host_*_key.pub") < 0)
		return;
	rootlen = strlen(pattern) - strlen("/etc/ssh/ssh_host_*_key.pub");
	if (glob(pattern, 0, NULL, &g) != 0) {
		report(r, step, "hostkey none");
		return;
	}
	for (size_t i = 0; i < g.gl_pathc; i++) {
		char *text = slurp(g.gl_pathv[i] + rootlen);

		if (text && line_key(text, strcspn(text, "\n"), fp, sizeof(fp)) == 0)
			report(r, step, "hostkey %s", fp);
		else
			report(r, step, "hostkey %s cannot be read as a public key",
			       g.gl_pathv[i] + rootlen);
		free(text);
	}
	globfree(&g);
}

void tp_node_identity_report(const struct tp_node_reporter *r, const char *step)
{
	char host[256];

	if (tp_file_read("/proc/sys/kernel/hostname", host, sizeof(host)) < 0) {
		tp_err_clear();
		snprintf(host, sizeof(host), "(unknown)");
	}
	host[strcspn(host, "\n")] = '\0';
	report(r, step, "hostname %s", host);
	report_users(r, step);
	report_hostkeys(r, step);
}
