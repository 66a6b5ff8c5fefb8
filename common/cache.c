// SPDX-License-Identifier: MIT
/*
 * The image cache on the SD card (cache.h): where it is, whether the card
 * is there, what it holds, fetching into it and re-verifying it. A file is
 * only ever called NAME after its SHA-256 matched the catalogue, so a name
 * in the cache is a promise; NAME.part and NAME.bad never are.
 */
#include "cache.h"
#include "cancel.h"
#include "err.h"
#include "log.h"

#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define HASH_BUF (256 * 1024)

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static bool under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return !strncmp(path, dir, n) && (path[n] == '\0' || path[n] == '/');
}

int tp_cache_init(struct tp_cache *c, const char *dir)
{
	char sd[TP_PATH_MAX], tmp[TP_PATH_MAX];
	int rc;

	memset(c, 0, sizeof(*c));
	if (dir) {
		if (snprintf(c->dir, sizeof(c->dir), "%s", dir) >= (int)sizeof(c->dir))
			return tp_err_set(-ENAMETOOLONG, "cache directory too long: %s", dir);
	} else if ((rc = tp_path(c->dir, sizeof(c->dir), "%s", CONFIG_TPKIT_CACHE_DIR)) < 0) {
		return rc;
	}
	if ((rc = tp_path(sd, sizeof(sd), TP_CACHE_SD_MOUNT)) < 0 ||
	    (rc = tp_path(tmp, sizeof(tmp), "/tmp")) < 0)
		return rc;
	if (under(c->dir, tmp))
		return tp_err_set(-EINVAL, "%s is in /tmp, the BMC's RAM disk (about 58 MB, "
				  "shared with bmcd; hardware.md §10.3): images do not fit there. "
				  "Use the SD card (default %s)", c->dir, CONFIG_TPKIT_CACHE_DIR);
	c->on_sd = under(c->dir, sd);
	return 0;
}

int tp_cache_check_media(const struct tp_cache *c)
{
	char sd[TP_PATH_MAX], root[TP_PATH_MAX];
	struct stat st_sd, st_root;
	int rc;

	if (!c->on_sd)
		return 0;
	if ((rc = tp_path(sd, sizeof(sd), TP_CACHE_SD_MOUNT)) < 0 ||
	    (rc = tp_path(root, sizeof(root), "/")) < 0)
		return rc;
	if (stat(sd, &st_sd) < 0)
		return tp_err_set(-ENOMEDIUM, "SD card missing: %s does not exist. tpkit keeps "
				  "images on the BMC's microSD card: insert one (ext4, FAT or "
				  "exFAT) and reboot the BMC, or mount it at %s, or give "
				  "--cache-dir DIR on other storage", sd, TP_CACHE_SD_MOUNT);
	if (stat(root, &st_root) < 0)
		return tp_err_set(-errno, "cannot stat %s: %s", root, strerror(errno));
	if (st_sd.st_dev == st_root.st_dev)
		return tp_err_set(-ENOMEDIUM, "SD card missing: nothing is mounted at %s (it is "
				  "on the same file system as /). Insert a microSD card and "
				  "reboot the BMC (S93startup mounts it), or mount it by hand: "
				  "mount /dev/mmcblk0p1 %s", sd, TP_CACHE_SD_MOUNT);
	return 0;
}

int tp_cache_file(const struct tp_cache *c, const char *name, const char *suffix, char *buf,
		  size_t size)
{
	if (snprintf(buf, size, "%s/%s%s", c->dir, name, suffix) >= (int)size)
		return tp_err_set(-ENAMETOOLONG, "path too long: %s/%s%s", c->dir, name, suffix);
	return 0;
}

/* NAME.sha256 holds e's hash: NAME was verified against this entry. */
static bool sidecar_matches(const struct tp_cache *c, const struct tp_catalogue_entry *e)
{
	char p[TP_PATH_MAX], buf[160];
	struct stat st;
	ssize_t n;
	int fd;

	if (tp_cache_file(c, e->name, ".sha256", p, sizeof(p)) < 0)
		return false;
	/* O_NONBLOCK and a type check: a FIFO in the cache must not hang. */
	fd = open(p, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return false;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return false;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n >= 64 && !strncmp(buf, e->sha256, 64);
}

static int sidecar_write(const struct tp_cache *c, const struct tp_catalogue_entry *e)
{
	char p[TP_PATH_MAX], line[TP_CAT_NAME_MAX + 80];
	int fd, n, rc = 0;

	TP_TRY(tp_cache_file(c, e->name, ".sha256", p, sizeof(p)));
	n = snprintf(line, sizeof(line), "%s  %s\n", e->sha256, e->name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		TP_FAIL(-errno, "cannot write %s: %s", p, strerror(errno));
	if (write(fd, line, (size_t)n) != n || fsync(fd) < 0)
		rc = tp_err_set(errno == ENOSPC ? -ENOSPC : -EIO, "cannot write %s: %s", p,
				strerror(errno));
	close(fd);
out:
	return rc;
}

enum tp_cache_state tp_cache_state(const struct tp_cache *c, const struct tp_catalogue_entry *e,
				   uint64_t *bytes)
{
	char p[TP_PATH_MAX];
	struct stat st;

	*bytes = 0;
	if (tp_cache_file(c, e->name, "", p, sizeof(p)) == 0 && stat(p, &st) == 0 &&
	    S_ISREG(st.st_mode)) {
		*bytes = (uint64_t)st.st_size;
		return sidecar_matches(c, e) ? TP_CACHE_CACHED : TP_CACHE_STALE;
	}
	if (tp_cache_file(c, e->name, ".part", p, sizeof(p)) == 0 && stat(p, &st) == 0 &&
	    S_ISREG(st.st_mode)) {
		*bytes = (uint64_t)st.st_size;
		return TP_CACHE_PARTIAL;
	}
	return TP_CACHE_MISSING;
}

const char *tp_cache_state_name(enum tp_cache_state s)
{
	static const char *const n[] = { "missing", "partial", "unverified", "cached" };

	return (unsigned)s < 4 ? n[s] : "?";
}

int tp_cache_hash_file(const char *path, tp_progress_fn progress, void *cookie, char out[65],
		       uint64_t *bytes)
{
	unsigned char *buf = malloc(HASH_BUF), md[EVP_MAX_MD_SIZE];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	struct tp_progress p = { .phase = TP_PHASE_VERIFY };
	struct stat st;
	unsigned mdlen = 0, ticks = 0;
	uint64_t t0 = now_ns(), dt;
	int fd = -1, rc;

	*bytes = 0;
	if (!buf || !ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL))
		TP_FAIL(-ENOMEM, "out of memory hashing %s", path);
	/* O_NONBLOCK: a FIFO must not hang the open; fstat refuses it. */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		TP_FAIL(-errno, "cannot open %s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0)
		TP_FAIL(-errno, "cannot stat %s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		TP_FAIL(-EINVAL, "%s is not a regular file", path);
	p.total = (uint64_t)st.st_size;
	/* The file is read once, front to back: tell the kernel so it reads
	 * ahead and does not keep gigabytes in the BMC's page cache. */
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	for (;;) {
		ssize_t n = read(fd, buf, HASH_BUF);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			TP_FAIL(-errno, "reading %s at byte %" PRIu64 ": %s; the card may be "
				"failing", path, p.done, strerror(errno));
		if (n == 0)
			break;
		EVP_DigestUpdate(ctx, buf, (size_t)n);
		posix_fadvise(fd, (off_t)p.done, n, POSIX_FADV_DONTNEED);
		p.done += (uint64_t)n;
		TP_TRY(tp_cancel_check());
		if (progress && ++ticks % 64 == 0) { /* every 16 MiB */
			dt = now_ns() - t0;
			p.rate = dt ? (uint64_t)((double)p.done * 1e9 / (double)dt) : 0;
			progress(cookie, &p);
		}
	}
	if (progress) {
		dt = now_ns() - t0;
		p.rate = dt ? (uint64_t)((double)p.done * 1e9 / (double)dt) : 0;
		progress(cookie, &p);
	}
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	for (unsigned i = 0; i < mdlen && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	*bytes = p.done;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	EVP_MD_CTX_free(ctx);
	free(buf);
	return rc;
}

/* Rename from to NAME.bad (replacing an older one) and drop NAME.sha256. */
static int quarantine(const struct tp_cache *c, const struct tp_catalogue_entry *e,
		      const char *from)
{
	char bad[TP_PATH_MAX], side[TP_PATH_MAX];

	if (tp_cache_file(c, e->name, ".bad", bad, sizeof(bad)) < 0 ||
	    tp_cache_file(c, e->name, ".sha256", side, sizeof(side)) < 0)
		return -ENAMETOOLONG;
	unlink(side);
	if (rename(from, bad) < 0) {
		int err = errno;

		/* Never leave a corrupt file under a trusted name. */
		if (unlink(from) < 0)
			TP_ERR("cannot rename or remove the corrupt %s: %s; remove it by hand",
			       from, strerror(errno));
		return -err;
	}
	return 0;
}

static const char *bad_name(const struct tp_cache *c, const struct tp_catalogue_entry *e)
{
	static __thread char p[TP_PATH_MAX];

	return tp_cache_file(c, e->name, ".bad", p, sizeof(p)) == 0 ? p : "NAME.bad";
}

int tp_cache_verify(const struct tp_cache *c, const struct tp_catalogue_entry *e,
		    tp_progress_fn progress, void *cookie, char hex[65])
{
	char p[TP_PATH_MAX], got[65] = "";
	uint64_t n = 0;
	int rc;

	TP_TRY(tp_cache_file(c, e->name, "", p, sizeof(p)));
	if (access(p, F_OK) < 0)
		TP_FAIL(-ENOENT, "%s is not cached (%s missing); tpkit images fetch %s", e->name,
			p, e->name);
	TP_TRY(tp_cache_hash_file(p, progress, cookie, got, &n));
	if (strcmp(got, e->sha256)) {
		bool moved = quarantine(c, e, p) == 0;

		TP_FAIL(-EBADMSG, "the cached %s is corrupt: %s (%" PRIu64 " bytes) hashes to %s, "
			"but the catalogue (%s) says %s; it was %s%s and will not be used. Fetch "
			"it again: tpkit images fetch %s", e->name, p, n, got, e->origin, e->sha256,
			moved ? "renamed to " : "removed", moved ? bad_name(c, e) : "", e->name);
	}
	TP_TRY(sidecar_write(c, e));
	rc = 0;
out:
	if (hex)
		snprintf(hex, 65, "%s", got);
	return rc;
}

/* mkdir -p, for the cache directory below the card's mount point. */
static int mkdir_p(const char *dir)
{
	char p[TP_PATH_MAX];

	snprintf(p, sizeof(p), "%s", dir);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return tp_err_set(-errno, "cannot create %s: %s", p, strerror(errno));
		*s = '/';
	}
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		return tp_err_set(errno == ENOSPC ? -ENOSPC : -errno, "cannot create %s: %s", p,
				  strerror(errno));
	return 0;
}

int tp_cache_fetch(const struct tp_cache *c, const struct tp_catalogue_entry *e,
		   const struct tp_cache_fetch_opts *o, struct tp_download_result *r)
{
	struct tp_download_opts d = { .url = e->url, .size = e->size, .retries = o->retries,
				      .progress = o->progress,
				      .progress_cookie = o->progress_cookie };
	char final[TP_PATH_MAX], part[TP_PATH_MAX], bad[TP_PATH_MAX];
	uint64_t bytes;
	int rc, fd;

	memset(r, 0, sizeof(*r));
	TP_TRY(tp_cache_check_media(c));
	TP_TRY(mkdir_p(c->dir));
	TP_TRY(tp_cache_file(c, e->name, "", final, sizeof(final)));
	TP_TRY(tp_cache_file(c, e->name, ".part", part, sizeof(part)));
	TP_TRY(tp_cache_file(c, e->name, ".bad", bad, sizeof(bad)));
	switch (tp_cache_state(c, e, &bytes)) {
	case TP_CACHE_CACHED:
		r->bytes = bytes;
		snprintf(r->sha256, sizeof(r->sha256), "%s", e->sha256);
		return 1;
	case TP_CACHE_STALE:
		/* Verified against another hash, or by an older tpkit: the
		 * bytes may still be right, so hash before downloading. */
		rc = tp_cache_verify(c, e, o->progress, o->progress_cookie, r->sha256);
		if (rc == 0) {
			r->bytes = bytes;
			return 1;
		}
		if (rc != -EBADMSG)
			goto out;
		TP_WARN("%s", tp_err_msg());
		break;
	default:
		break;
	}
	unlink(bad); /* the space is better used for the new download */
	d.path = part;
	rc = tp_download_file(&d, r);
	if (rc == -ENOSPC && c->on_sd)
		tp_err_prefix(rc, "SD card full: ");
	if (rc < 0)
		goto out;
	if (strcmp(r->sha256, e->sha256)) {
		bool moved = rename(part, bad) == 0 || unlink(part) < 0;

		TP_FAIL(-EBADMSG, "SHA-256 mismatch: %s (%" PRIu64 " bytes) hashes to %s, but the "
			"catalogue (%s) says %s; %s%s. The file on the server changed or the "
			"download was corrupted: fetch again, or check the catalogue entry",
			e->url, r->bytes, r->sha256, e->origin, e->sha256,
			moved ? "the download was moved to " : "the download was removed",
			moved ? bad : "");
	}
	TP_TRY(sidecar_write(c, e));
	if (rename(part, final) < 0)
		TP_FAIL(-errno, "cannot rename %s to %s: %s", part, final, strerror(errno));
	/* The rename on the card, too. */
	fd = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	rc = 0;
out:
	return rc;
}
