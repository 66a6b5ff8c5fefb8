// SPDX-License-Identifier: MIT
/*
 * Format detection by magic bytes, never by file name: a URL may have no
 * extension, a download may be an HTML error page, an .img may really be
 * gzipped. Then the decoder chain for what was found (decode.h).
 */
#include "decode.h"
#include "err.h"
#include "log.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Enough to see an ISO 9660 descriptor at 32 KiB and a GPT on 4 KiB sectors. */
#define PEEK_SIZE (64 * 1024)

#define STAGE_BUF (64 * 1024)

struct tp_decoder {
	struct tp_pull *in;
	/* a stream stage (xz, gzip) */
	void *st;
	int (*st_read)(void *st, void *buf, size_t len, size_t *got);
	void (*st_close)(void *st);
	struct tp_pull st_out;  /* its output as a pull: peeking, a tar inside */
	unsigned char *st_buf;
	struct tp_arc *arc;
	enum tp_format format;
};

static int stage_pull(void *ctx, const void **p, size_t *n)
{
	struct tp_decoder *d = ctx;

	if (!d->st_buf && !(d->st_buf = malloc(STAGE_BUF)))
		return tp_err_set(-ENOMEM, "out of memory for the decoder");
	*p = d->st_buf;
	return d->st_read(d->st, d->st_buf, STAGE_BUF, n);
}

struct magic {
	size_t off;
	const char *bytes;
	size_t len;
};

static bool has(const unsigned char *b, size_t n, size_t off, const void *m, size_t len)
{
	return n >= off + len && !memcmp(b + off, m, len);
}

/* Formats we recognise but do not decode: say what to do instead of
 * "unknown format". */
static const struct {
	struct magic m;
	const char *what;
} refused[] = {
	{ { 0, "\x04\x22\x4d\x18", 4 }, "an lz4 stream; decompress it with lz4 -d, or recompress with xz or zstd" },
	{ { 0, "7z\xbc\xaf\x27\x1c", 6 }, "a 7-Zip archive; extract the image first" },
	{ { 0, "Rar!\x1a\x07", 6 }, "a RAR archive; extract the image first" },
	{ { 0, "LZIP", 4 }, "an lzip stream; decompress it first" },
	{ { 0, "\x3a\xff\x26\xed", 4 }, "an Android sparse image; convert it with simg2img first" },
	{ { 0, "QFI\xfb", 4 }, "a qcow2 disk image; convert it with qemu-img convert -O raw first" },
	{ { 0, "KDMV", 4 }, "a VMDK disk image; convert it with qemu-img convert -O raw first" },
	{ { 0, "PK\x05\x06", 4 }, "an empty zip archive" },
};

/* Signs of a raw disk or file-system image in its first 64 KiB. */
static bool looks_raw(const unsigned char *b, size_t n)
{
	return has(b, n, 510, "\x55\xaa", 2) ||      /* MBR / FAT boot sector */
	       has(b, n, 512, "EFI PART", 8) ||      /* GPT, 512-byte sectors */
	       has(b, n, 4096, "EFI PART", 8) ||     /* GPT, 4 KiB sectors */
	       has(b, n, 1080, "\x53\xef", 2) ||     /* ext2/3/4 superblock */
	       has(b, n, 32769, "CD001", 5) ||       /* ISO 9660 */
	       has(b, n, 0, "hsqs", 4) ||            /* squashfs */
	       has(b, n, 0x8000, "RKNS", 4);         /* Rockchip idbloader at sector 64 */
}

static bool looks_text(const unsigned char *b, size_t n)
{
	size_t k = n < 512 ? n : 512;

	for (size_t i = 0; i < k; i++)
		if (b[i] < 0x09 || (b[i] > 0x0d && b[i] < 0x20) || b[i] == 0x7f)
			return false;
	return true;
}

static int detect(struct tp_decoder *d, const unsigned char *b, size_t n, bool force_raw,
		  enum tp_format *f)
{
	if (!n)
		return tp_err_set(-ENODATA, "the image is empty (0 bytes): nothing to write; "
				  "check the file or URL");
	if (has(b, n, 0, "\xfd" "7zXZ\0", 6))
		*f = TP_FMT_XZ;
	else if (has(b, n, 0, "\x1f\x8b", 2))
		*f = TP_FMT_GZIP;
	else if (has(b, n, 0, "\x28\xb5\x2f\xfd", 4))
		*f = TP_FMT_ZSTD;
	else if (has(b, n, 0, "BZh", 3) && n > 3 && b[3] >= '1' && b[3] <= '9')
		*f = TP_FMT_BZIP2;
	else if (has(b, n, 0, "PK\x03\x04", 4))
		*f = TP_FMT_ZIP;
	else if (has(b, n, 257, "ustar", 5))
		*f = TP_FMT_TAR;
	else if (looks_raw(b, n) || force_raw)
		*f = TP_FMT_RAW;
	else
		*f = TP_FMT_UNKNOWN;
	if (*f != TP_FMT_UNKNOWN)
		return 0;
	(void)d;
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		if (has(b, n, refused[i].m.off, refused[i].m.bytes, refused[i].m.len))
			return tp_err_set(-ENOEXEC, "the image is %s", refused[i].what);
	if (looks_text(b, n)) {
		/* b holds n bytes, no NUL: quote at most 40, up to the first
		 * line break, so the message stays one line. */
		int q = 0;

		while ((size_t)q < n && q < 40 && b[q] >= 0x20)
			q++;
		return tp_err_set(-ENOEXEC, "the image is text, not a disk image (an HTML error "
				  "page or a checksum file?); starts with \"%.*s\"", q,
				  (const char *)b);
	}
	return tp_err_set(-ENOEXEC,
			  "unknown image format: not xz, gzip, zstd, bzip2, zip or tar, and no "
			  "partition table or file system in the first %zu bytes (first bytes "
			  "%02x %02x %02x %02x); pass --format raw to write it as it is",
			  n < PEEK_SIZE ? n : (size_t)PEEK_SIZE, b[0], n > 1 ? b[1] : 0,
			  n > 2 ? b[2] : 0, n > 3 ? b[3] : 0);
}

#ifndef CONFIG_TPKIT_ARCHIVE
/* Built without libarchive (Kconfig TPKIT_ARCHIVE, as for the stock BMC
 * image): what it would have read is named, with the way out. */
int tp_arc_open(struct tp_arc **a, struct tp_pull *in, bool tar_only, struct tp_image_info *info)
{
	(void)in;
	*a = NULL;
	return tp_err_set(-ENOTSUP, "%s images need libarchive, and this tpkit is built without "
			  "it (CONFIG_TPKIT_ARCHIVE): decompress or extract the image first (raw, "
			  ".xz and .gz images are read)",
			  tar_only ? "tar" : tp_format_name(info->format));
}
#endif

int tp_decoder_open(struct tp_decoder **dp, struct tp_pull *in, const struct tp_decode_opts *o,
		    struct tp_image_info *info)
{
	struct tp_decoder *d = calloc(1, sizeof(*d));
	const unsigned char *b;
	size_t n;
	int rc;

	*dp = NULL;
	if (!d)
		return tp_err_set(-ENOMEM, "out of memory for the decoder");
	d->in = in;
	TP_TRY(tp_pull_peek(in, PEEK_SIZE, &b, &n));
	TP_TRY(detect(d, b, n, o->force_raw, &d->format));
	info->format = d->format;
	switch (d->format) {
	case TP_FMT_RAW:
		info->raw_size = info->in_size;
		break;
	case TP_FMT_XZ:
	case TP_FMT_GZIP:
		if (d->format == TP_FMT_XZ) {
			TP_TRY(tp_xz_open((struct tp_xz **)&d->st, in, o->xz_memlimit,
						 o->xz_threads));
			d->st_read = tp_xz_read;
			d->st_close = tp_xz_close;
		} else {
			TP_TRY(tp_gz_open((struct tp_gz **)&d->st, in));
			d->st_read = tp_gz_read;
			d->st_close = tp_gz_close;
		}
		/* A tar inside? Peeking decodes the first block header, so an
		 * over-limit xz dictionary fails here, before any sink is
		 * touched. */
		tp_pull_init(&d->st_out, stage_pull, d);
		TP_TRY(tp_pull_peek(&d->st_out, 512, &b, &n));
		if (!n)
			TP_FAIL(-ENODATA, "the %s stream decodes to nothing (0 bytes): nothing to "
				"write", tp_format_name(d->format));
		if (has(b, n, 257, "ustar", 5))
			TP_TRY(tp_arc_open(&d->arc, &d->st_out, true, info));
		break;
	default: /* zstd, bzip2, zip, tar */
		TP_TRY(tp_arc_open(&d->arc, in, false, info));
		break;
	}
	*dp = d;
	return 0;
out:
	tp_decoder_close(d);
	return rc;
}

int tp_decoder_read(struct tp_decoder *d, void *buf, size_t len, size_t *got)
{
	if (d->arc)
		return tp_arc_read(d->arc, buf, len, got);
	if (d->st) {
		/* The look-ahead first, then straight into buf: no extra copy
		 * of the whole image through st_buf. */
		struct tp_pull *p = &d->st_out;
		size_t left = p->peek_len - p->peek_pos + p->cur_len, done = 0, n = 0;
		int rc;

		if (left && (rc = tp_pull_read(p, buf, len < left ? len : left, &done)) < 0)
			return rc;
		if (done < len && (rc = d->st_read(d->st, (char *)buf + done, len - done, &n)) < 0)
			return rc;
		*got = done + n;
		return 0;
	}
	return tp_pull_read(d->in, buf, len, got);
}

static int drain(struct tp_pull *p, uint64_t *bytes)
{
	const void *b;
	size_t n;
	int rc;

	*bytes = 0;
	do {
		rc = tp_pull_next(p, &b, &n);
		if (rc < 0)
			return rc;
		*bytes += n;
	} while (n);
	return 0;
}

int tp_decoder_finish(struct tp_decoder *d)
{
	uint64_t extra;
	int rc = 0;

	if (d->arc)
		TP_TRY(tp_arc_finish(d->arc));
	/* A tar ends with zero blocks libarchive need not read; decode the
	 * rest of the stream anyway so its integrity check runs. */
	if (d->st)
		TP_TRY(drain(&d->st_out, &extra));
	/* Trailing input (a zip's central directory, padding) is hashed too:
	 * the published checksum covers the whole file. */
	TP_TRY(drain(d->in, &extra));
	if (extra)
		TP_DBG("%" PRIu64 " bytes of input after the image", extra);
out:
	return rc;
}

void tp_decoder_close(struct tp_decoder *d)
{
	if (!d)
		return;
	tp_arc_close(d->arc);
	tp_pull_release(&d->st_out);
	if (d->st)
		d->st_close(d->st);
	free(d->st_buf);
	free(d);
}
