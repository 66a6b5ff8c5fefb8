// SPDX-License-Identifier: MIT
/*
 * Format detection and decoding, byte-exact, through the public API and the
 * file sink: xz, gzip (also multi-member), zstd, bzip2, zip, tar, tar.xz,
 * tar.gz, raw; the errors for empty, unknown, text, truncated and corrupt
 * input and for an xz over the memory limit; checksum-file parsing.
 * Compressed inputs are made here with liblzma, zlib and libarchive.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <archive.h>
#include <archive_entry.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "common/checksum.h"
#include "common/err.h"
#include "common/image.h"
#include "common/sink_file.h"

#define MiB (1024 * 1024)
#define IMG_SIZE (3 * MiB + 4321)

static char dir[64];
static unsigned char *img;

static char *path(const char *name)
{
	static char p[4][128];
	static int i;

	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
	return p[i];
}

static void write_file(const char *p, const void *b, size_t n)
{
	FILE *f = fopen(p, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(b, 1, n, f), n);
	fclose(f);
}

static unsigned char *xz_encode(const unsigned char *b, size_t n, uint32_t preset, size_t *out)
{
	size_t cap = n + n / 2 + 65536, pos = 0;
	unsigned char *o = malloc(cap);

	assert_int_equal(lzma_easy_buffer_encode(preset, LZMA_CHECK_CRC64, NULL, b, n, o, &pos,
						 cap), LZMA_OK);
	*out = pos;
	return o;
}

static unsigned char *gz_encode(const unsigned char *b, size_t n, size_t *out)
{
	z_stream z = { 0 };
	size_t cap = n + n / 2 + 65536;
	unsigned char *o = malloc(cap);

	assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY),
			 Z_OK);
	z.next_in = (unsigned char *)b;
	z.avail_in = (uInt)n;
	z.next_out = o;
	z.avail_out = (uInt)cap;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	*out = z.total_out;
	deflateEnd(&z);
	return o;
}

/* format: "raw", "tar", "zip"; filter: 0 none, else ARCHIVE_FILTER_* */
static void la_write(const char *p, const char *format, int filter, const char *name,
		     const unsigned char *b, size_t n, bool second)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();

	assert_int_equal(archive_write_set_format_by_name(a, format), ARCHIVE_OK);
	if (filter)
		assert_int_equal(archive_write_add_filter(a, filter), ARCHIVE_OK);
	assert_int_equal(archive_write_open_filename(a, p), ARCHIVE_OK);
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)n);
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	assert_int_equal(archive_write_data(a, b, n), (la_ssize_t)n);
	if (second) {
		archive_entry_clear(e);
		archive_entry_set_pathname(e, "second.bin");
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_size(e, 100);
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		assert_int_equal(archive_write_data(a, b, 100), 100);
	}
	archive_entry_free(e);
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
}

static unsigned char *read_file(const char *p, size_t *n)
{
	FILE *f = fopen(p, "rb");
	struct stat st;
	unsigned char *b;

	assert_non_null(f);
	fstat(fileno(f), &st);
	b = malloc((size_t)st.st_size + 1);
	*n = fread(b, 1, (size_t)st.st_size, f);
	fclose(f);
	return b;
}

/* Open src, check format and (if want_size) the raw size known up front,
 * write it and compare with the image. */
static void roundtrip(const char *src, enum tp_format fmt, enum tp_format cont, bool want_size)
{
	struct tp_image_opts o;
	struct tp_image *im;
	struct tp_sink *s;
	struct tp_sink_file_opts so = { 0 };
	struct tp_image_result r;
	unsigned char *got;
	size_t n;

	tp_image_opts_init(&o);
	o.src = src;
	o.discover_sha256 = false;
	assert_int_equal(tp_image_open(&im, &o), 0);
	assert_int_equal(tp_image_info(im)->format, fmt);
	assert_int_equal(tp_image_info(im)->container, cont);
	assert_int_equal(tp_image_raw_size(im), want_size ? IMG_SIZE : 0);
	assert_int_equal(tp_sink_file_open(&s, path("out"), &so), 0);
	assert_int_equal(tp_image_write(im, s, &r), 0);
	tp_sink_close(s);
	tp_image_close(im);
	got = read_file(path("out"), &n);
	assert_int_equal(n, IMG_SIZE);
	assert_memory_equal(got, img, IMG_SIZE);
	assert_int_equal(r.raw_bytes, IMG_SIZE);
	free(got);
}

static int open_err(const char *src, uint64_t memlimit)
{
	struct tp_image_opts o;
	struct tp_image *im = NULL;
	int rc;

	tp_image_opts_init(&o);
	o.src = src;
	o.discover_sha256 = false;
	if (memlimit)
		o.xz_memlimit = memlimit;
	tp_err_clear();
	rc = tp_image_open(&im, &o);
	tp_image_close(im);
	return rc;
}

/* Open succeeds, the write fails: damage found while streaming. */
static int write_err(const char *src, struct tp_image_result *r)
{
	struct tp_image_opts o;
	struct tp_image *im;
	struct tp_sink *s;
	struct tp_sink_file_opts so = { 0 };
	int rc;

	tp_image_opts_init(&o);
	o.src = src;
	o.discover_sha256 = false;
	assert_int_equal(tp_image_open(&im, &o), 0);
	assert_int_equal(tp_sink_file_open(&s, path("out"), &so), 0);
	tp_err_clear();
	rc = tp_image_write(im, s, r);
	tp_sink_close(s);
	tp_image_close(im);
	return rc;
}

static void fmt_raw(void **state)
{
	(void)state;
	write_file(path("i.img"), img, IMG_SIZE);
	roundtrip(path("i.img"), TP_FMT_RAW, TP_FMT_UNKNOWN, true);
}

static void fmt_xz(void **state)
{
	size_t n;
	unsigned char *c = xz_encode(img, IMG_SIZE, 6, &n);

	(void)state;
	write_file(path("i.img.xz"), c, n);
	/* local file: size from the xz index */
	roundtrip(path("i.img.xz"), TP_FMT_XZ, TP_FMT_UNKNOWN, true);
	/* concatenated streams decode as one */
	{
		unsigned char *two = malloc(2 * n);
		unsigned char *h1 = xz_encode(img, MiB, 6, &n);
		size_t n2;
		unsigned char *h2 = xz_encode(img + MiB, IMG_SIZE - MiB, 1, &n2);

		memcpy(two, h1, n);
		memcpy(two + n, h2, n2);
		write_file(path("cat.img.xz"), two, n + n2);
		roundtrip(path("cat.img.xz"), TP_FMT_XZ, TP_FMT_UNKNOWN, true);
		free(two);
		free(h1);
		free(h2);
	}
	free(c);
}

static void fmt_gzip(void **state)
{
	size_t n;
	unsigned char *c = gz_encode(img, IMG_SIZE, &n);

	(void)state;
	write_file(path("i.img.gz"), c, n);
	roundtrip(path("i.img.gz"), TP_FMT_GZIP, TP_FMT_UNKNOWN, false);
	free(c);
}

static void fmt_zstd_bzip2(void **state)
{
	(void)state;
	la_write(path("i.img.zst"), "raw", ARCHIVE_FILTER_ZSTD, "i.img", img, IMG_SIZE, false);
	roundtrip(path("i.img.zst"), TP_FMT_ZSTD, TP_FMT_UNKNOWN, false);
	la_write(path("i.img.bz2"), "raw", ARCHIVE_FILTER_BZIP2, "i.img", img, IMG_SIZE, false);
	roundtrip(path("i.img.bz2"), TP_FMT_BZIP2, TP_FMT_UNKNOWN, false);
}

static void fmt_zip_tar(void **state)
{
	size_t n;
	unsigned char *t, *c;

	(void)state;
	la_write(path("i.zip"), "zip", 0, "disk.img", img, IMG_SIZE, false);
	roundtrip(path("i.zip"), TP_FMT_ZIP, TP_FMT_ZIP, true);
	la_write(path("i.tar"), "ustar", 0, "disk.img", img, IMG_SIZE, false);
	roundtrip(path("i.tar"), TP_FMT_TAR, TP_FMT_TAR, true);
	la_write(path("i.tar.zst"), "ustar", ARCHIVE_FILTER_ZSTD, "disk.img", img, IMG_SIZE, false);
	roundtrip(path("i.tar.zst"), TP_FMT_ZSTD, TP_FMT_TAR, true);
	/* tar inside xz and gzip: libarchive reads our decoders' output */
	t = read_file(path("i.tar"), &n);
	c = xz_encode(t, n, 6, &n);
	write_file(path("i.tar.xz"), c, n);
	roundtrip(path("i.tar.xz"), TP_FMT_XZ, TP_FMT_TAR, true);
	free(c);
	free(t);
	t = read_file(path("i.tar"), &n);
	c = gz_encode(t, n, &n);
	write_file(path("i.tar.gz"), c, n);
	roundtrip(path("i.tar.gz"), TP_FMT_GZIP, TP_FMT_TAR, true);
	free(c);
	free(t);
}

static void two_files_refused(void **state)
{
	struct tp_image_result r;

	(void)state;
	/* The target is emptied at the first write only (a refused image
	 * leaves it as it was): start from none, so what is checked below
	 * is what this write left, not the previous test's image. */
	unlink(path("out"));
	la_write(path("two.tar"), "ustar", 0, "disk.img", img, IMG_SIZE, true);
	assert_int_equal(write_err(path("two.tar"), &r), -ENOTUNIQ);
	assert_string_equal(tp_err_msg(), "the tar holds more than one file (\"disk.img\", then "
			    "\"second.bin\"); tpkit writes a single image: extract the one you "
			    "want");
	/* Whether the writer got to zero the head before the decoder found
	 * the second file is a race, and either way is safe; what must hold
	 * is that none of the image's head reached the target. */
	{
		size_t n;
		unsigned char *out = read_file(path("out"), &n);

		for (size_t i = 0; i < n && i < (1u << 20); i++)
			if (out[i] != 0)
				fail_msg("byte %zu of the target's head is 0x%02x, not zero", i,
					 out[i]);
		free(out);
	}
}

static void bad_inputs(void **state)
{
	static const unsigned char lz4[] = { 0x04, 0x22, 0x4d, 0x18, 1, 2, 3, 4 };
	unsigned char junk[8192];

	(void)state;
	write_file(path("empty"), "", 0);
	assert_int_equal(open_err(path("empty"), 0), -ENODATA);
	assert_non_null(strstr(tp_err_msg(), "the image is empty (0 bytes): nothing to write; "
			       "check the file or URL"));
	assert_non_null(strstr(tp_err_msg(), path("empty"))); /* names which image */
	write_file(path("page"), "<html><body>404</body></html>\n", 30);
	assert_int_equal(open_err(path("page"), 0), -ENOEXEC);
	assert_non_null(strstr(tp_err_msg(), "the image is text, not a disk image"));
	/* The quote ends with the data (the peek buffer holds no NUL) or at
	 * the first line break, whichever comes first. */
	assert_non_null(strstr(tp_err_msg(), "starts with \"<html><body>404</body></html>\""));
	write_file(path("short"), "abc", 3);
	assert_int_equal(open_err(path("short"), 0), -ENOEXEC);
	assert_non_null(strstr(tp_err_msg(), "starts with \"abc\""));
	{
		static const char page[] = "<!DOCTYPE html>\r\n<html lang=\"en\">\n<body>";

		write_file(path("lines"), page, sizeof(page) - 1);
	}
	assert_int_equal(open_err(path("lines"), 0), -ENOEXEC);
	assert_non_null(strstr(tp_err_msg(), "starts with \"<!DOCTYPE html>\""));
	write_file(path("lz4"), lz4, sizeof(lz4));
	assert_int_equal(open_err(path("lz4"), 0), -ENOEXEC);
	assert_non_null(strstr(tp_err_msg(), "the image is an lz4 stream"));
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (unsigned char)(i * 7 + 1);
	write_file(path("junk"), junk, sizeof(junk));
	assert_int_equal(open_err(path("junk"), 0), -ENOEXEC);
	assert_non_null(strstr(tp_err_msg(), "unknown image format"));
	assert_non_null(strstr(tp_err_msg(), "first bytes 01 08 0f 16"));
	assert_non_null(strstr(tp_err_msg(), "--format raw"));
	assert_int_equal(open_err(path("missing"), 0), -ENOENT);
	assert_non_null(strstr(tp_err_msg(), "cannot open image"));
}

static void xz_truncated_and_corrupt(void **state)
{
	struct tp_image_result r;
	size_t n;
	unsigned char *c = xz_encode(img, IMG_SIZE, 6, &n);
	char want[200];

	(void)state;
	write_file(path("t.img.xz"), c, n / 2);
	assert_int_equal(write_err(path("t.img.xz"), &r), -EBADMSG);
	snprintf(want, sizeof(want), "xz stream is truncated: the input ends at byte %zu", n / 2);
	assert_non_null(strstr(tp_err_msg(), want));
	assert_non_null(strstr(tp_err_msg(), "fetch the image again"));
	c[n / 2] ^= 0xff;
	write_file(path("c.img.xz"), c, n);
	assert_int_equal(write_err(path("c.img.xz"), &r), -EBADMSG);
	assert_non_null(strstr(tp_err_msg(), "xz data is corrupt at input byte"));
	free(c);
}

static void gzip_truncated_and_corrupt(void **state)
{
	struct tp_image_result r;
	size_t n;
	unsigned char *c = gz_encode(img, IMG_SIZE, &n);

	(void)state;
	write_file(path("t.img.gz"), c, n - 100);
	assert_int_equal(write_err(path("t.img.gz"), &r), -EBADMSG);
	assert_non_null(strstr(tp_err_msg(), "gzip stream is truncated"));
	/* the trailer's CRC: libarchive would not have noticed */
	c[n - 6] ^= 0x01;
	write_file(path("c.img.gz"), c, n);
	assert_int_equal(write_err(path("c.img.gz"), &r), -EBADMSG);
	assert_non_null(strstr(tp_err_msg(), "gzip data is corrupt"));
	assert_non_null(strstr(tp_err_msg(), "incorrect data check"));
	free(c);
}

static void xz_memlimit(void **state)
{
	size_t n;
	unsigned char *c = xz_encode(img, 100000, 9, &n); /* 64 MiB dictionary */

	(void)state;
	write_file(path("nine.img.xz"), c, n);
	assert_int_equal(open_err(path("nine.img.xz"), 32u << 20), -ENOMEM);
	assert_non_null(strstr(tp_err_msg(), "the xz image needs 65 MiB of memory to decode"));
	assert_non_null(strstr(tp_err_msg(), "limit of 32 MiB"));
	assert_non_null(strstr(tp_err_msg(), "--xz-memlimit 65"));
	assert_int_equal(open_err(path("nine.img.xz"), 65u << 20), 0);
	free(c);
}

static void checksum_files(void **state)
{
	static const char *const h = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	char out[65], text[1024];

	(void)state;
	snprintf(text, sizeof(text), "%s  other.img.xz\n%.63sf  ubuntu.img.xz\n", h, h);
	assert_int_equal(tp_checksum_find_in(text, "ubuntu.img.xz", 0, out), 0);
	assert_memory_equal(out, h, 63);
	assert_int_equal(out[63], 'f');
	assert_int_equal(tp_checksum_find_in(text, "img.xz", 0, out), -ENOENT);
	snprintf(text, sizeof(text), "%s *./images/ubuntu.img.xz\r\n", h);
	assert_int_equal(tp_checksum_find_in(text, "ubuntu.img.xz", 0, out), 0);
	assert_string_equal(out, h);
	snprintf(text, sizeof(text), "SHA256 (ubuntu.img.xz) = %s\n", h);
	assert_int_equal(tp_checksum_find_in(text, "ubuntu.img.xz", 0, out), 0);
	assert_string_equal(out, h);
	/* NAME.sha256 may hold a bare hash, or one under another name */
	snprintf(text, sizeof(text), "%s\n", h);
	assert_int_equal(tp_checksum_find_in(text, "x.img", 1, out), 0);
	assert_int_equal(tp_checksum_find_in(text, "x.img", 0, out), -ENOENT);
	assert_int_equal(tp_checksum_find_in("not a hash\n", "x.img", 1, out), -EBADMSG);
	/* A last line ending in CR (no newline) is read once: this used to
	 * loop forever. */
	snprintf(text, sizeof(text), "%s *other.img.xz\r", h);
	assert_int_equal(tp_checksum_find_in(text, "x.img", 0, out), -ENOENT);
	snprintf(text, sizeof(text), "%s *x.img \r \r", h);
	assert_int_equal(tp_checksum_find_in(text, "x.img", 0, out), 0);
	assert_int_equal(tp_checksum_find_in("\r", "x.img", 0, out), -EBADMSG);
	/* The same name twice: the same hash is fine, two hashes are not. */
	snprintf(text, sizeof(text), "%s  x.img\n%s  y.img\n%s  ./x.img\n", h, h, h);
	assert_int_equal(tp_checksum_find_in(text, "x.img", 0, out), 0);
	snprintf(text, sizeof(text), "%s  x.img\n%.63s0  y.img\n%.63s0  dir/x.img\n", h, h, h);
	assert_int_equal(tp_checksum_find_in(text, "x.img", 0, out), -ENOTUNIQ);
	assert_non_null(strstr(tp_err_msg(), "lines 1 and 3 give x.img different SHA-256s"));
	assert_int_equal(tp_checksum_find_in(text, "x.img", 1, out), -ENOTUNIQ);
	assert_int_equal(tp_checksum_parse_hex("0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"
					       "0123456789ABCDEF", out), 0);
	assert_string_equal(out, h);
	assert_int_equal(tp_checksum_parse_hex("abc", out), -EINVAL);
	assert_string_equal(tp_err_msg(), "a SHA-256 is 64 hex digits; \"abc\" has 3 characters");
}

static int setup(void **state)
{
	uint32_t x = 99;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/tp-decode-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	img = calloc(1, IMG_SIZE);
	for (size_t i = 0; i < IMG_SIZE; i++) {
		x = x * 1664525u + 1013904223u;
		if ((i / 65536) % 4 == 1)
			img[i] = (unsigned char)(x >> 24);
		else if ((i / 65536) % 4 == 2)
			img[i] = "lorem ipsum dolor sit amet "[i % 27];
	}
	img[510] = 0x55;
	img[511] = 0xaa;
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	free(img);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fmt_raw),
		cmocka_unit_test(fmt_xz),
		cmocka_unit_test(fmt_gzip),
		cmocka_unit_test(fmt_zstd_bzip2),
		cmocka_unit_test(fmt_zip_tar),
		cmocka_unit_test(two_files_refused),
		cmocka_unit_test(bad_inputs),
		cmocka_unit_test(xz_truncated_and_corrupt),
		cmocka_unit_test(gzip_truncated_and_corrupt),
		cmocka_unit_test(xz_memlimit),
		cmocka_unit_test(checksum_files),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
