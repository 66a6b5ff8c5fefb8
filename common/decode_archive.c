// SPDX-License-Identifier: MIT
/*
 * bzip2 and zstd streams, and a single image inside a tar or zip, through
 * libarchive. Its "raw" format turns a bare compressed stream into one
 * entry, so the same code reads image.img.zst and image.tar.zst. The xz and
 * gzip filters are deliberately not enabled here (decode.h).
 */
#include "decode.h"
#include "err.h"
#include "log.h"

#include <archive.h>
#include <archive_entry.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tp_arc {
	struct archive *a;
	struct tp_pull *in;
	int in_rc;           /* error from the input, which libarchive only sees as -1 */
	uint64_t out;        /* image bytes delivered */
	const char *what;    /* "gzip", "zip", "tar" ... for messages */
	const char *cont;    /* "tar" or "zip" */
	char entry[256];
	bool is_raw;
};

static la_ssize_t arc_read_cb(struct archive *a, void *ctx, const void **buf)
{
	struct tp_arc *t = ctx;
	size_t n = 0;
	int rc = tp_pull_next(t->in, buf, &n);

	if (rc < 0) {
		/* Keep our message (thread-local) and code; libarchive gets a
		 * placeholder it will pass back up as ARCHIVE_FATAL. */
		t->in_rc = rc;
		archive_set_error(a, -rc, "input error");
		return -1;
	}
	return (la_ssize_t)n;
}

/* libarchive's message plus where we are; or the input's own error. */
static int arc_error(struct tp_arc *t, const char *doing)
{
	const char *m = archive_error_string(t->a);

	if (t->in_rc < 0)
		return t->in_rc;
	if (m && strstr(m, "runcated"))
		return tp_err_set(-EBADMSG,
				  "%s stream is truncated: the input ends near byte %" PRIu64
				  " (image byte %" PRIu64 ") while %s (%s); the download or copy "
				  "is incomplete, fetch the image again",
				  t->what, t->in->pos, t->out, doing, m);
	return tp_err_set(-EBADMSG,
			  "%s data is corrupt near input byte %" PRIu64 " (image byte %" PRIu64
			  ") while %s: %s; the image file is damaged, fetch it again",
			  t->what, t->in->pos, t->out, doing, m ? m : "unknown libarchive error");
}

static const char *filter_name(int code)
{
	switch (code) {
	case ARCHIVE_FILTER_GZIP:
		return "gzip";
	case ARCHIVE_FILTER_BZIP2:
		return "bzip2";
	case ARCHIVE_FILTER_ZSTD:
		return "zstd";
	default:
		return NULL;
	}
}

int tp_arc_open(struct tp_arc **tp, struct tp_pull *in, bool tar_only, struct tp_image_info *info)
{
	struct tp_arc *t = calloc(1, sizeof(*t));
	struct archive_entry *e;
	int rc = 0, r, fmt;
	const char *fname;

	*tp = NULL;
	if (!t || !(t->a = archive_read_new())) {
		free(t);
		return tp_err_set(-ENOMEM, "out of memory for libarchive");
	}
	t->in = in;
	t->what = tar_only ? "tar" : "compressed";
	archive_read_support_format_tar(t->a);
	if (!tar_only) {
		/* xz and gzip have their own stages; lz4/lzma tpkit does
		 * not promise. */
		archive_read_support_filter_bzip2(t->a);
		archive_read_support_filter_zstd(t->a);
		archive_read_support_format_zip_streamable(t->a);
		archive_read_support_format_raw(t->a);
	}
	archive_read_set_read_callback(t->a, arc_read_cb);
	archive_read_set_callback_data(t->a, t);
	if (archive_read_open1(t->a) != ARCHIVE_OK) {
		rc = arc_error(t, "opening the stream");
		goto out;
	}
	fname = filter_name(archive_filter_code(t->a, 0));
	if (fname)
		t->what = fname;
	/* Skip directories and links: the image is the first regular file. */
	for (;;) {
		r = archive_read_next_header(t->a, &e);
		if (r == ARCHIVE_EOF)
			TP_FAIL(-ENODATA, "the archive holds no file: nothing to write");
		if (r < ARCHIVE_WARN) {
			rc = arc_error(t, "reading the archive's first header");
			goto out;
		}
		if (archive_entry_filetype(e) == AE_IFREG)
			break;
	}
	fmt = archive_format(t->a) & ARCHIVE_FORMAT_BASE_MASK;
	t->is_raw = fmt == ARCHIVE_FORMAT_RAW;
	if (!t->is_raw) {
		info->container = fmt == ARCHIVE_FORMAT_ZIP ? TP_FMT_ZIP : TP_FMT_TAR;
		snprintf(info->entry, sizeof(info->entry), "%s", archive_entry_pathname(e) ?: "?");
		snprintf(t->entry, sizeof(t->entry), "%s", info->entry);
		if (archive_entry_size_is_set(e))
			info->raw_size = (uint64_t)archive_entry_size(e);
		t->cont = info->container == TP_FMT_ZIP ? "zip" : "tar";
		if (!fname)
			t->what = t->cont;
	}
	if (!tar_only) {
		int code = archive_filter_code(t->a, 0);

		info->format = code == ARCHIVE_FILTER_GZIP    ? TP_FMT_GZIP
			       : code == ARCHIVE_FILTER_BZIP2 ? TP_FMT_BZIP2
			       : code == ARCHIVE_FILTER_ZSTD  ? TP_FMT_ZSTD
			       : info->container;
	}
	*tp = t;
	return 0;
out:
	tp_arc_close(t);
	return rc;
}

int tp_arc_read(struct tp_arc *t, void *buf, size_t len, size_t *got)
{
	size_t done = 0;

	while (done < len) {
		la_ssize_t n = archive_read_data(t->a, (char *)buf + done, len - done);

		if (n < 0)
			return arc_error(t, "decoding");
		if (n == 0)
			break;
		done += (size_t)n;
		t->out += (uint64_t)n;
	}
	*got = done;
	return 0;
}

/* One image per archive: a second regular file means the user meant
 * something else (a firmware bundle?) and should pick the file. */
int tp_arc_finish(struct tp_arc *t)
{
	struct archive_entry *e;

	if (t->is_raw)
		return 0;
	for (;;) {
		int r = archive_read_next_header(t->a, &e);

		if (r == ARCHIVE_EOF)
			return 0;
		if (r < ARCHIVE_WARN)
			return arc_error(t, "reading the header after the image");
		if (archive_entry_filetype(e) == AE_IFREG && archive_entry_size(e) > 0)
			return tp_err_set(-ENOTUNIQ,
					  "the %s holds more than one file (\"%s\", then \"%s\"); "
					  "tpkit writes a single image: extract the one you want",
					  t->cont, t->entry, archive_entry_pathname(e) ?: "?");
	}
}

void tp_arc_close(struct tp_arc *t)
{
	if (!t)
		return;
	if (t->a)
		archive_read_free(t->a);
	free(t);
}
