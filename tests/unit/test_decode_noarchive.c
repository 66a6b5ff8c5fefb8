// SPDX-License-Identifier: MIT
/*
 * A tpkit built without libarchive (Kconfig TPKIT_ARCHIVE off, as for the
 * stock BMC image, configs/bmc_stock_defconfig): zstd, bzip2, zip and tar
 * images, bare or inside gzip, are refused at open with one message that
 * names the format and the way out; raw and gzip images still open.
 * test_decode covers the formats when libarchive is there.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "common/err.h"
#include "common/image.h"

static char dir[64];

static const char *path(const char *name)
{
	static char p[128];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return p;
}

/* NAME holds len bytes: head, then zeros. */
static void put(const char *name, const void *head, size_t hlen, size_t len)
{
	unsigned char *b = calloc(1, len);
	FILE *f = fopen(path(name), "wb");

	assert_non_null(b);
	assert_non_null(f);
	memcpy(b, head, hlen);
	assert_int_equal(fwrite(b, 1, len, f), len);
	fclose(f);
	free(b);
}

static int open_rc(const char *name)
{
	struct tp_image_opts o;
	struct tp_image *im = NULL;
	int rc;

	tp_image_opts_init(&o);
	o.src = path(name);
	o.discover_sha256 = false;
	tp_err_clear();
	rc = tp_image_open(&im, &o);
	tp_image_close(im);
	return rc;
}

static void refused(const char *name, const char *format)
{
	char want[64];

	assert_int_equal(open_rc(name), -ENOTSUP);
	snprintf(want, sizeof(want), "%s images need libarchive", format);
	assert_non_null(strstr(tp_err_msg(), want));
	assert_non_null(strstr(tp_err_msg(), "decompress or extract the image first"));
}

static void formats_refused(void **state)
{
	unsigned char tar[1024] = { 0 };

	(void)state;
	put("i.zst", "\x28\xb5\x2f\xfd\x04\x58", 6, 4096);
	refused("i.zst", "zstd");
	put("i.bz2", "BZh91AY&SY", 10, 4096);
	refused("i.bz2", "bzip2");
	put("i.zip", "PK\x03\x04\x14\x00", 6, 4096);
	refused("i.zip", "zip");
	memcpy(tar, "disk.img", 8);
	memcpy(tar + 257, "ustar", 5);
	put("i.tar", tar, sizeof(tar), sizeof(tar));
	refused("i.tar", "tar");
	/* a tar inside gzip: found once gzip has decoded its first block */
	{
		gzFile g = gzopen(path("i.tar.gz"), "wb");

		assert_non_null(g);
		assert_int_equal(gzwrite(g, tar, sizeof(tar)), (int)sizeof(tar));
		gzclose(g);
	}
	refused("i.tar.gz", "tar");
}

static void raw_and_gzip_open(void **state)
{
	unsigned char mbr[4096] = { 0 };

	(void)state;
	mbr[446 + 4] = 0x83;
	mbr[446 + 12] = 8;
	mbr[510] = 0x55;
	mbr[511] = 0xaa;
	put("disk.img", mbr, sizeof(mbr), 1 << 20);
	assert_int_equal(open_rc("disk.img"), 0);
	{
		gzFile g = gzopen(path("disk.img.gz"), "wb");

		assert_non_null(g);
		assert_int_equal(gzwrite(g, mbr, sizeof(mbr)), (int)sizeof(mbr));
		gzclose(g);
	}
	assert_int_equal(open_rc("disk.img.gz"), 0);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/tp-noarc-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(formats_refused),
		cmocka_unit_test(raw_and_gzip_open),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
