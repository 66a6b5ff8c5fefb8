// SPDX-License-Identifier: MIT
/*
 * The seeded k3s bundle (docs/node-helper.md §12): every file is checked
 * against the SHA256SUMS seeding wrote from the catalogue's pins before it
 * is used, then the binary and the airgap images go where k3s's air-gap
 * procedure puts them (node-helper.md §12.2), each by a copy to a
 * temporary beside the target, fsync and rename, so a power cut leaves the
 * old file or the new one.
 */
#define _GNU_SOURCE
#include "node.h"
#include "common/atomic.h"
#include "common/err.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define K3S_BIN "/usr/local/bin/k3s"
#define K3S_IMAGES "/var/lib/rancher/k3s/agent/images"
#define SUMS_MAX 8
#define CHUNK (256 * 1024)

struct sum {
	char hex[65];
	char name[128];
};

/* SHA-256 of path, streamed (the images are hundreds of MB), as 64 hex
 * digits. 0 or -errno with a message. */
static int sha256_file(const char *path, char hex[65])
{
	static unsigned char buf[CHUNK];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	EVP_MD_CTX *ctx;
	int fd, rc = 0;
	ssize_t n;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return tp_err_set(-errno, "cannot read %s: %s", path, strerror(errno));
	ctx = EVP_MD_CTX_new();
	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		rc = tp_err_set(-ENOMEM, "%s: cannot start SHA-256", path);
		goto out;
	}
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = tp_err_set(-errno, "cannot read %s: %s", path, strerror(errno));
			goto out;
		}
		EVP_DigestUpdate(ctx, buf, (size_t)n);
	}
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	for (unsigned i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
out:
	EVP_MD_CTX_free(ctx);
	close(fd);
	return rc;
}

/* "<64 hex>  <name>" lines (sha256sum's format; "*name" is binary mode).
 * A name with a slash is refused: the bundle is one flat directory. */
static int parse_sums(const char *file, char *text, struct sum *s, size_t *n)
{
	char *save = NULL;
	unsigned line = 0;

	*n = 0;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *name = l + 64;

		line++;
		if (strspn(l, "0123456789abcdef") != 64 || name[0] != ' ' ||
		    (name[1] != ' ' && name[1] != '*'))
			return tp_err_set(-EINVAL, "%s: line %u is not \"SHA256  NAME\"", file, line);
		name += 2;
		if (!*name || strchr(name, '/') || strlen(name) >= sizeof(s->name) || *n == SUMS_MAX)
			return tp_err_set(-EINVAL, "%s: line %u: bad or too many names", file, line);
		memcpy(s[*n].hex, l, 64);
		s[*n].hex[64] = '\0';
		snprintf(s[*n].name, sizeof(s->name), "%s", name);
		(*n)++;
	}
	return 0;
}

static const struct sum *find(const struct sum *s, size_t n, const char *prefix, int exact)
{
	for (size_t i = 0; i < n; i++)
		if (exact ? !strcmp(s[i].name, prefix) : !strncmp(s[i].name, prefix, strlen(prefix)))
			return &s[i];
	return NULL;
}

/* Copy src to dst (full paths) through dst's temporary, mode applied
 * first; dst's directory is made and fsync'ed after the rename. */
static int copy_atomic(const char *src, const char *dst, mode_t mode)
{
	static char buf[CHUNK];
	char tmp[TP_PATH_MAX + 16], dir[TP_PATH_MAX];
	int in = -1, out = -1, dfd, rc = 0;
	ssize_t n;

	snprintf(dir, sizeof(dir), "%s", dst);
	rc = tp_dir_make(dirname(dir), 0755, 0);
	if (rc < 0)
		return rc;
	snprintf(tmp, sizeof(tmp), "%s.tpkit-new", dst);
	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return tp_err_set(-errno, "cannot read %s: %s", src, strerror(errno));
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (out < 0 || fchmod(out, mode) < 0) {
		rc = tp_err_set(-errno, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	while ((n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || write(out, buf, (size_t)n) != n) {
			rc = tp_err_set(-EIO, "cannot copy %s to %s: %s", src, tmp, strerror(errno));
			goto out;
		}
	}
	if (fsync(out) < 0 || close(out) < 0) {
		out = -1;
		rc = tp_err_set(-errno, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	out = -1;
	if (rename(tmp, dst) < 0) {
		rc = tp_err_set(-errno, "cannot rename %s to %s: %s", tmp, dst, strerror(errno));
		goto out;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
out:
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	if (rc < 0)
		unlink(tmp);
	return rc;
}

int tp_k3s_bundle_install(const char *bundle, const char *version,
			  const struct tp_node_reporter *rep)
{
	char text[4096], file[TP_PATH_MAX], dir[TP_PATH_MAX], dst[TP_PATH_MAX], hex[65];
	const struct sum *bin, *sh, *img;
	struct sum sums[SUMS_MAX];
	size_t n;
	ssize_t len;
	int rc;

	rc = tp_path(dir, sizeof(dir), "%s", bundle);
	if (rc < 0)
		return rc;
	snprintf(file, sizeof(file), "%s/SHA256SUMS", bundle);
	len = tp_file_read(file, text, sizeof(text));
	if (len < 0)
		return tp_err_prefix((int)len, "the k3s bundle: ");
	rc = parse_sums(file, text, sums, &n);
	if (rc < 0)
		return rc;
	bin = find(sums, n, "k3s", 1);
	sh = find(sums, n, "install.sh", 1);
	img = find(sums, n, "k3s-airgap-images-", 0);
	if (!bin || !sh || !img)
		return tp_err_set(-EINVAL, "%s names no %s", file,
				  !bin ? "k3s" : !sh ? "install.sh" : "k3s-airgap-images-*");
	/* Every file the helper uses is checked before any is used. */
	for (size_t i = 0; i < n; i++) {
		char path[TP_PATH_MAX + 130];

		snprintf(path, sizeof(path), "%s/%s", dir, sums[i].name);
		rc = sha256_file(path, hex);
		if (rc < 0)
			return rc;
		if (strcmp(hex, sums[i].hex))
			return tp_err_set(-EBADMSG, "%s/%s: SHA-256 %s, but SHA256SUMS says %s",
					  bundle, sums[i].name, hex, sums[i].hex);
	}
	snprintf(file, sizeof(file), "%s/VERSION", bundle);
	len = tp_file_read(file, text, sizeof(text));
	if (len < 0)
		return tp_err_prefix((int)len, "the k3s bundle: ");
	text[strcspn(text, " \r\n")] = '\0';
	if (strcmp(text, version))
		return tp_err_set(-EINVAL, "the k3s bundle is %s, node.conf wants %s", text,
				  version);
	tp_node_report(rep, "k3s_install", "progress", "bundle %s verified (%zu files, SHA-256)",
		       bundle, n);

	/* The binary: copied only when the installed one differs, so a
	 * second run does not replace a running k3s's file. */
	rc = tp_path(dst, sizeof(dst), "%s", K3S_BIN);
	if (rc < 0)
		return rc;
	if (access(dst, F_OK) < 0 || sha256_file(dst, hex) < 0 || strcmp(hex, bin->hex)) {
		snprintf(file, sizeof(file), "%s/k3s", dir);
		rc = copy_atomic(file, dst, 0755);
		if (rc < 0)
			return rc;
	}
	rc = tp_path(dst, sizeof(dst), "%s/%s", K3S_IMAGES, img->name);
	if (rc < 0)
		return rc;
	if (access(dst, F_OK) < 0 || sha256_file(dst, hex) < 0 || strcmp(hex, img->hex)) {
		snprintf(file, sizeof(file), "%s/%s", dir, img->name);
		rc = copy_atomic(file, dst, 0644);
		if (rc < 0)
			return rc;
	}
	return 0;
}
