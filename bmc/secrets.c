// SPDX-License-Identifier: MIT
/*
 * Per-cluster and per-slot secrets on the SD card (layout in secrets.h,
 * docs/config.md "Secrets"). Generated once with OpenSSL's RNG, written with
 * tp_file_write_atomic at 0600, read back on every later run: a re-flashed
 * node gets the same host keys (no known_hosts churn) and the same k3s node
 * password (no "Node password rejected"). Messages name files, never values.
 */
#include "secrets.h"
#include "common/state.h"
#include "common/atomic.h"
#include "common/cache.h"
#include "common/err.h"
#include "common/log.h"
#include "common/path.h"
#include "common/slots.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_FILE_MAX 8192

int tp_secrets_init(struct tp_secrets *s, const char *state_dir)
{
	char base[4096];
	int rc;

	memset(s, 0, sizeof(*s));
	s->lock_fd = -1;
	if (state_dir)
		snprintf(base, sizeof(base), "%s", state_dir);
	else if ((rc = tp_state_dir(base, sizeof(base))) < 0)
		return rc;
	if ((size_t)snprintf(s->dir, sizeof(s->dir), "%s/secrets", base) >= sizeof(s->dir))
		return tp_err_set(-ENAMETOOLONG, "state directory name too long: %s", base);
	return 0;
}

void tp_secrets_close(struct tp_secrets *s)
{
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	s->lock_fd = -1;
}

int tp_secrets_path(const struct tp_secrets *s, unsigned slot, const char *name, char *buf,
		    size_t size)
{
	int n = slot ? snprintf(buf, size, "%s/slot%u/%s", s->dir, slot, name)
		     : snprintf(buf, size, "%s/%s", s->dir, name);

	if (n < 0 || (size_t)n >= size)
		return tp_err_set(-ENAMETOOLONG, "path too long under %s", s->dir);
	return 0;
}

/*
 * Secrets under /mnt/sdcard need the card mounted there: written to the
 * BMC's own flash instead, they would vanish under the card at its next
 * mount and be generated anew -- every node's identity would change.
 */
static int check_card(const struct tp_secrets *s)
{
	char sd[TP_PATH_MAX], root[TP_PATH_MAX];
	struct stat st_sd, st_root;
	size_t n;
	int rc;

	if ((rc = tp_path(sd, sizeof(sd), TP_CACHE_SD_MOUNT)) < 0 ||
	    (rc = tp_path(root, sizeof(root), "/")) < 0)
		return rc;
	n = strlen(sd);
	if (strncmp(s->dir, sd, n) || s->dir[n] != '/')
		return 0;
	if (stat(sd, &st_sd) < 0 || stat(root, &st_root) < 0 || st_sd.st_dev == st_root.st_dev)
		return tp_err_set(-ENOMEDIUM, "SD card missing: nothing is mounted at %s, where "
				  "tpkit keeps the nodes' host keys and passwords (%s). Insert a "
				  "microSD card and reboot the BMC, or mount it (mount "
				  "/dev/mmcblk0p1 %s), or set TPKIT_STATE_DIR to other "
				  "persistent storage", sd, s->dir, TP_CACHE_SD_MOUNT);
	return 0;
}

/* Create the directories 0700 (and tighten them if someone loosened them)
 * and take the lock for the rest of the run: two tpkit processes must not
 * each generate a different token. */
static int prepare(struct tp_secrets *s, unsigned slot)
{
	char path[4096 + 16];
	int rc;

	if (s->lock_fd < 0) {
		if ((rc = check_card(s)) < 0)
			return rc;
		if ((rc = tp_dir_make(s->dir, 0700, 1)) < 0)
			return tp_err_prefix(rc, "secrets: ");
		snprintf(path, sizeof(path), "%s/.lock", s->dir);
		s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (s->lock_fd < 0)
			return tp_err_set(-errno, "cannot open %s: %s", path, strerror(errno));
		if (flock(s->lock_fd, LOCK_EX) < 0) {
			rc = tp_err_set(-errno, "cannot lock %s: %s", path, strerror(errno));
			tp_secrets_close(s);
			return rc;
		}
	}
	if (slot) {
		snprintf(path, sizeof(path), "%s/slot%u", s->dir, slot);
		if ((rc = tp_dir_make(path, 0700, 1)) < 0)
			return tp_err_prefix(rc, "secrets: ");
	}
	return 0;
}

/* Read a secret file into buf (NUL-terminated, trailing newline dropped),
 * wiping what it read on any failure. A file others can read is made 0600
 * again. -ENOENT without a message if there is none. */
static int read_secret(const char *path, char *buf, size_t size, bool is_secret)
{
	struct stat st;
	size_t len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	int rc;

	if (fd < 0)
		return errno == ENOENT ? -ENOENT
				       : tp_err_set(-errno, "cannot open %s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		rc = tp_err_set(-EINVAL, "%s is not a regular file", path);
		goto out;
	}
	if (is_secret && (st.st_mode & 077)) {
		TP_WARN("%s was readable by others (mode %04o); made it 0600", path,
			(unsigned)(st.st_mode & 07777));
		if (fchmod(fd, 0600) < 0) {
			rc = tp_err_set(-errno, "cannot chmod %s: %s", path, strerror(errno));
			goto out;
		}
	}
	for (;;) {
		ssize_t n = read(fd, buf + len, size - 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = tp_err_set(-errno, "cannot read %s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == size - 1) {
			rc = tp_err_set(-EFBIG, "%s is too large to be what tpkit wrote there", path);
			goto out;
		}
	}
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	buf[len] = '\0';
	rc = 0;
out:
	close(fd);
	if (rc < 0)
		OPENSSL_cleanse(buf, size);
	return rc;
}

static bool is_hex(const char *s, size_t want)
{
	size_t n = strspn(s, "0123456789abcdef");

	return n == want && s[n] == '\0';
}

static const char *const hexdig = "0123456789abcdef";

/* A random secret of nbytes, kept as 2*nbytes lower-case hex digits. */
static int hex_secret(struct tp_secrets *s, unsigned slot, const char *name, size_t nbytes,
		      char *out, size_t size)
{
	unsigned char raw[64], text[160];
	char path[4096 + 64];
	int rc;

	if (nbytes > sizeof(raw) || size < 2 * nbytes + 1)
		return tp_err_set(-EINVAL, "buffer too small for %s", name);
	if ((rc = prepare(s, slot)) < 0 || (rc = tp_secrets_path(s, slot, name, path, sizeof(path))) < 0)
		return rc;
	/* Read into a buffer with room for the newline and for a file that is
	 * too long, so either is reported as damage rather than cut. */
	rc = read_secret(path, (char *)text, sizeof(text), true);
	if (rc == 0) {
		if (is_hex((char *)text, 2 * nbytes)) {
			memcpy(out, text, 2 * nbytes + 1);
			OPENSSL_cleanse(text, sizeof(text));
			return 0;
		}
		OPENSSL_cleanse(text, sizeof(text));
		return tp_err_set(-EINVAL, "%s is damaged (not %zu hex digits); remove it and run "
				  "again to make a new one (then re-seed the nodes that use it)",
				  path, 2 * nbytes);
	}
	if (rc != -ENOENT)
		return rc;
	if (RAND_bytes(raw, (int)nbytes) != 1)
		return tp_err_set(-EIO, "OpenSSL's random generator failed for %s", path);
	for (size_t i = 0; i < nbytes; i++) {
		text[2 * i] = (unsigned char)hexdig[raw[i] >> 4];
		text[2 * i + 1] = (unsigned char)hexdig[raw[i] & 15];
	}
	text[2 * nbytes] = '\n';
	rc = tp_file_write_atomic(path, text, 2 * nbytes + 1, 0600);
	if (rc == 0) {
		memcpy(out, text, 2 * nbytes);
		out[2 * nbytes] = '\0';
		TP_INFO("generated %s", path);
	}
	OPENSSL_cleanse(raw, sizeof(raw));
	OPENSSL_cleanse(text, sizeof(text));
	return rc;
}

int tp_secrets_cluster_token(struct tp_secrets *s, char *buf, size_t size)
{
	return hex_secret(s, 0, "cluster-token", TP_SECRET_TOKEN_BYTES, buf, size);
}

static int slot_ok(unsigned slot)
{
	if (slot < 1 || slot > TP_SLOTS_MAX)
		return tp_err_set(-EINVAL, "slot %u is not within 1-%d", slot, TP_SLOTS_MAX);
	return 0;
}

int tp_secrets_node_password(struct tp_secrets *s, unsigned slot, char *buf, size_t size)
{
	int rc = slot_ok(slot);

	return rc < 0 ? rc
		      : hex_secret(s, slot, "node-password", TP_SECRET_NODE_PASSWORD_BYTES, buf, size);
}

int tp_secrets_report_key(struct tp_secrets *s, unsigned slot,
			  unsigned char key[TP_SECRET_REPORT_KEY_BYTES])
{
	char hex[2 * TP_SECRET_REPORT_KEY_BYTES + 1];
	int rc = slot_ok(slot);

	if (rc == 0)
		rc = hex_secret(s, slot, "report-key", TP_SECRET_REPORT_KEY_BYTES, hex, sizeof(hex));
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < TP_SECRET_REPORT_KEY_BYTES; i++)
		key[i] = (unsigned char)((strchr(hexdig, hex[2 * i]) - hexdig) << 4 |
					 (strchr(hexdig, hex[2 * i + 1]) - hexdig));
	OPENSSL_cleanse(hex, sizeof(hex));
	return 0;
}

static void key_names(enum tp_sshkey_type t, char *priv, char *pub, size_t size)
{
	snprintf(priv, size, "ssh_host_%s_key", tp_sshkey_file_tag(t));
	snprintf(pub, size, "ssh_host_%s_key.pub", tp_sshkey_file_tag(t));
}

int tp_secrets_host_key(struct tp_secrets *s, unsigned slot, enum tp_sshkey_type t,
			const char *hostname, char **private_text, char *pub, size_t pub_size)
{
	char privname[64], pubname[64], path[4096 + 64], pubpath[4096 + 64];
	char line[TP_SSHKEY_PUB_MAX], old[TP_SSHKEY_PUB_MAX + 2], comment[128];
	char *text;
	int rc;

	if (private_text)
		*private_text = NULL;
	if ((rc = slot_ok(slot)) < 0 || (rc = prepare(s, slot)) < 0)
		return rc;
	key_names(t, privname, pubname, sizeof(privname));
	if ((rc = tp_secrets_path(s, slot, privname, path, sizeof(path))) < 0 ||
	    (rc = tp_secrets_path(s, slot, pubname, pubpath, sizeof(pubpath))) < 0)
		return rc;
	text = malloc(KEY_FILE_MAX);
	if (!text)
		return tp_err_set(-ENOMEM, "out of memory");
	rc = read_secret(path, text, KEY_FILE_MAX, true);
	if (rc == -ENOENT) {
		char *gen;

		snprintf(comment, sizeof(comment), "root@%s", hostname ? hostname : "tpkit");
		if ((rc = tp_sshkey_generate(t, comment, &gen)) < 0)
			goto out;
		snprintf(text, KEY_FILE_MAX, "%s", gen);
		tp_sshkey_free_text(gen);
		/* The old .pub, if any, belongs to a key that is gone. */
		if ((rc = tp_file_write_atomic(path, text, strlen(text), 0600)) < 0)
			goto out;
		TP_INFO("generated %s", path);
	} else if (rc < 0) {
		goto out;
	} else {
		strcat(text, "\n");
	}
	rc = tp_sshkey_public(t, text, line, sizeof(line), NULL, 0);
	if (rc < 0) {
		rc = tp_err_set(rc, "%s: %s; remove it to make a new host key (known_hosts "
				"entries for this slot then change)", path, tp_err_msg());
		goto out;
	}
	/* The .pub is derived, so it is rewritten when missing or stale. */
	if (read_secret(pubpath, old, sizeof(old), false) < 0 || strcmp(old, line)) {
		size_t n = strlen(line);

		line[n] = '\n';
		rc = tp_file_write_atomic(pubpath, line, n + 1, 0644);
		line[n] = '\0';
		if (rc < 0)
			goto out;
	}
	if (pub)
		snprintf(pub, pub_size, "%s", line);
	if (private_text) {
		*private_text = text;
		text = NULL;
	}
	rc = 0;
out:
	if (text) {
		OPENSSL_cleanse(text, KEY_FILE_MAX);
		free(text);
	}
	return rc;
}

int tp_secrets_host_fingerprint(const struct tp_secrets *s, unsigned slot,
				enum tp_sshkey_type t, char *fp, size_t fp_size)
{
	char privname[64], pubname[64], pubpath[4096 + 64], line[TP_SSHKEY_PUB_MAX + 2];
	int rc;

	if ((rc = slot_ok(slot)) < 0)
		return rc;
	key_names(t, privname, pubname, sizeof(privname));
	if ((rc = tp_secrets_path(s, slot, pubname, pubpath, sizeof(pubpath))) < 0)
		return rc;
	rc = read_secret(pubpath, line, sizeof(line), false);
	if (rc < 0)
		return rc;
	return tp_sshkey_fingerprint_line(line, fp, fp_size);
}

int tp_secrets_ensure(struct tp_secrets *s, unsigned slot_mask, const char *const hostnames[5])
{
	char buf[2 * TP_SECRET_TOKEN_BYTES + 1];
	unsigned char key[TP_SECRET_REPORT_KEY_BYTES];
	int rc;

	rc = tp_secrets_cluster_token(s, buf, sizeof(buf));
	for (unsigned slot = 1; rc == 0 && slot <= TP_SLOTS_MAX; slot++) {
		const char *h = hostnames ? hostnames[slot] : NULL;

		if (!(slot_mask & TP_SLOT_BIT(slot)))
			continue;
		for (int t = 0; rc == 0 && t < TP_SSHKEY_NTYPES; t++)
			rc = tp_secrets_host_key(s, slot, (enum tp_sshkey_type)t, h, NULL, NULL, 0);
		if (rc == 0)
			rc = tp_secrets_node_password(s, slot, buf, sizeof(buf));
		if (rc == 0)
			rc = tp_secrets_report_key(s, slot, key);
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	OPENSSL_cleanse(key, sizeof(key));
	return rc;
}
