// SPDX-License-Identifier: MIT
/*
 * tp_download_file(): a URL into a file with resume (download.h). One
 * 256 KiB buffer, whatever the image size: the BMC has 128 MB of RAM and
 * the file goes to the SD card, never to a RAM disk (hardware.md §10.3).
 */
#include "download.h"
#include "cancel.h"
#include "err.h"
#include "log.h"
#include "source.h"

#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE (256 * 1024)

struct dl {
	const struct tp_download_opts *o;
	EVP_MD_CTX *md;
	unsigned char *buf;
	int fd;
	uint64_t have;             /* bytes in the file */
	uint64_t total;            /* expected, 0 if unknown */
	uint64_t last_ns, last_done, start_ns, rate;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* At most 4 events a second, and always the last one (etcher-sdk's rate,
 * pipeline.md §3). */
static void progress(struct dl *d, bool end)
{
	struct tp_progress p = { .phase = TP_PHASE_DOWNLOAD, .done = d->have, .total = d->total };
	uint64_t t = now_ns();

	if (!d->o->progress || (!end && t - d->last_ns < 250000000u))
		return;
	if (t > d->last_ns && d->have >= d->last_done) {
		uint64_t inst = (uint64_t)((double)(d->have - d->last_done) * 1e9 /
					   (double)(t - d->last_ns));

		d->rate = d->rate ? (d->rate * 7 + inst * 3) / 10 : inst;
	}
	d->last_ns = t;
	d->last_done = d->have;
	p.rate = d->rate;
	d->o->progress(d->o->progress_cookie, &p);
}

/* Hash what the file already holds: a resumed file is checked whole. */
static int hash_prefix(struct dl *d)
{
	uint64_t off = 0;

	while (off < d->have) {
		size_t want = d->have - off < BUF_SIZE ? (size_t)(d->have - off) : BUF_SIZE;
		ssize_t n = pread(d->fd, d->buf, want, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return tp_err_set(n < 0 ? -errno : -EIO, "reading %s at byte %" PRIu64
					  ": %s; the card may be failing", d->o->path, off,
					  n < 0 ? strerror(errno) : "unexpected end of file");
		EVP_DigestUpdate(d->md, d->buf, (size_t)n);
		off += (uint64_t)n;
		if (tp_cancel_check() < 0)
			return -ECANCELED;
	}
	return 0;
}

static int write_all(struct dl *d, const void *p, size_t len)
{
	while (len) {
		ssize_t n = write(d->fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == ENOSPC || errno == EDQUOT))
			return tp_err_set(-ENOSPC, "the file system of %s is full after %" PRIu64
					  " bytes: free space there (remove old images, or "
					  "use a larger SD card) and fetch again; the download "
					  "resumes where it stopped", d->o->path, d->have);
		if (n < 0)
			return tp_err_set(-errno, "writing %s at byte %" PRIu64 ": %s", d->o->path,
					  d->have, strerror(errno));
		p = (const char *)p + n;
		len -= (size_t)n;
		d->have += (uint64_t)n;
	}
	return 0;
}

/* Refuse up front what cannot fit, rather than fill the card and fail
 * gigabytes in. */
static int space_check(struct dl *d, uint64_t total)
{
	struct statvfs sv;
	uint64_t avail, need;

	if (!total || total <= d->have || fstatvfs(d->fd, &sv) < 0)
		return 0;
	avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	need = total - d->have;
	if (avail < need)
		return tp_err_set(-ENOSPC, "%s needs %" PRIu64 " more bytes but its file system "
				  "has %" PRIu64 " free: free space there (remove old images: "
				  "tpkit images list) or use a larger SD card", d->o->path, need,
				  avail);
	return 0;
}

static int fetch_rest(struct dl *d)
{
	struct tp_source_http_opts ho = { .retries = d->o->retries, .offset = d->have };
	struct tp_source *s = NULL;
	int rc;

#ifdef CONFIG_TPKIT_SOURCE_HTTP
	rc = tp_source_http_open(&s, d->o->url, &ho);
#else
	(void)ho;
	rc = tp_err_set(-EPROTONOSUPPORT, "this tpkit was built without http support "
			"(CONFIG_TPKIT_SOURCE_HTTP); cannot download %s", d->o->url);
#endif
	if (rc < 0)
		return rc;
	if (!d->total && s->size) {
		d->total = s->size;
		TP_TRY(space_check(d, d->total));
	}
	if (d->o->size && s->size && s->size != d->o->size)
		TP_FAIL(-EBADMSG, "%s is %" PRIu64 " bytes on the server, but the catalogue says "
			"%" PRIu64 "; the file was replaced upstream or the catalogue is wrong",
			d->o->url, s->size, d->o->size);
	for (;;) {
		size_t got = 0;

		TP_TRY(tp_cancel_check());
		TP_TRY(tp_source_read(s, d->buf, BUF_SIZE, &got));
		if (!got)
			break;
		EVP_DigestUpdate(d->md, d->buf, got);
		TP_TRY(write_all(d, d->buf, got));
		if (d->o->size && d->have > d->o->size)
			TP_FAIL(-EBADMSG, "%s is longer than the %" PRIu64 " bytes the catalogue "
				"says; the file was replaced upstream or the catalogue is wrong",
				d->o->url, d->o->size);
		progress(d, false);
	}
	rc = 0;
out:
	tp_source_close(s);
	return rc;
}

int tp_download_file(const struct tp_download_opts *o, struct tp_download_result *r)
{
	struct dl d = { .o = o, .fd = -1, .total = o->size };
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	struct stat st;
	int rc;

	memset(r, 0, sizeof(*r));
	d.buf = malloc(BUF_SIZE);
	d.md = EVP_MD_CTX_new();
	if (!d.buf || !d.md || !EVP_DigestInit_ex(d.md, EVP_sha256(), NULL))
		TP_FAIL(-ENOMEM, "out of memory for the download buffer");
	d.fd = open(o->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (d.fd < 0)
		TP_FAIL(-errno, "cannot open %s: %s", o->path, strerror(errno));
	if (fstat(d.fd, &st) < 0)
		TP_FAIL(-errno, "cannot stat %s: %s", o->path, strerror(errno));
	d.have = (uint64_t)st.st_size;
	if (o->size && d.have > o->size) {
		TP_WARN("%s holds %" PRIu64 " bytes, more than the %" PRIu64 " expected; starting "
			"the download again", o->path, d.have, o->size);
		if (ftruncate(d.fd, 0) < 0)
			TP_FAIL(-errno, "cannot truncate %s: %s", o->path, strerror(errno));
		d.have = 0;
	}
	TP_TRY(space_check(&d, o->size));
	r->resumed_from = d.have;
	if (d.have)
		TP_INFO("%s: %" PRIu64 " bytes already there; hashing them, then resuming %s from "
			"there", o->path, d.have, o->url);
	d.start_ns = d.last_ns = now_ns();
	d.last_done = d.have;
	TP_TRY(hash_prefix(&d));
	if (lseek(d.fd, 0, SEEK_END) < 0)
		TP_FAIL(-errno, "cannot seek in %s: %s", o->path, strerror(errno));
	if (!o->size || d.have < o->size)
		TP_TRY(fetch_rest(&d));
	progress(&d, true);
	/* On the card before the caller renames it: a power cut after the
	 * rename must not leave a name that promises a verified file. */
	if (fsync(d.fd) < 0)
		TP_FAIL(errno == ENOSPC ? -ENOSPC : -errno, "writing %s to the card: %s",
			o->path, strerror(errno));
	EVP_DigestFinal_ex(d.md, md, &mdlen);
	for (unsigned i = 0; i < mdlen && i < 32; i++)
		snprintf(r->sha256 + 2 * i, 3, "%02x", md[i]);
	rc = 0;
out:
	r->bytes = d.have;
	if (d.fd >= 0)
		close(d.fd);
	/* Nothing received and nothing there before: an empty file would only
	 * show up as a "partial" download of 0 bytes. */
	if (rc < 0 && d.fd >= 0 && !d.have)
		unlink(o->path);
	if (d.md)
		EVP_MD_CTX_free(d.md);
	free(d.buf);
	return rc;
}
