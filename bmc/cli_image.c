// SPDX-License-Identifier: MIT
/* The image pipeline's options, shared by write and flash (cli_image.h). */
#include "cli_image.h"
#include "common/cache.h"
#include "common/checksum.h"
#include "common/err.h"

#include <stdio.h>
#include <string.h>

/* The xz decoder's limit, in MiB: xz -9 needs 65; more than 4 GiB is a
 * typing mistake on a 128 MB BMC, not a setting. */
#define XZ_MEMLIMIT_MAX_MB 4096
#define XZ_THREADS_MAX 16 /* as Kconfig's TPKIT_XZ_THREADS */
#define RETRIES_MAX 100

void tp_cli_image_init(struct tp_cli_image *ci)
{
	memset(ci, 0, sizeof(*ci));
	tp_image_opts_init(&ci->io);
}

static int set(const struct tp_cli *c, struct tp_cli_image *ci, int opt, const char *arg)
{
	unsigned long v;
	char hex[65];

	switch (opt) {
	case TP_CLI_OPT_SHA256:
		/* A malformed hash is the user's typing, found before any
		 * slot or target is touched. */
		if (tp_checksum_parse_hex(arg, hex) < 0)
			return tp_cli_usage(c, "--sha256: %s", tp_err_msg());
		ci->io.sha256 = arg;
		return 0;
	case TP_CLI_OPT_REQUIRE_SHA256:
		ci->io.require_sha256 = true;
		return 0;
	case TP_CLI_OPT_NO_VERIFY:
		ci->io.verify = false;
		return 0;
	case TP_CLI_OPT_FORMAT:
		if (strcmp(arg, "raw") && strcmp(arg, "auto"))
			return tp_cli_usage(c, "--format takes raw or auto, not \"%s\"", arg);
		ci->io.force_raw = !strcmp(arg, "raw");
		return 0;
	case TP_CLI_OPT_XZ_MEMLIMIT:
		if (!tp_cli_uint(arg, 1, XZ_MEMLIMIT_MAX_MB, &v))
			return tp_cli_usage(c, "--xz-memlimit takes MiB, 1-%d, not \"%s\"",
					    XZ_MEMLIMIT_MAX_MB, arg);
		ci->io.xz_memlimit = (uint64_t)v << 20;
		return 0;
	case TP_CLI_OPT_XZ_THREADS:
		if (!tp_cli_uint(arg, 0, XZ_THREADS_MAX, &v))
			return tp_cli_usage(c, "--xz-threads takes 0-%d (0: one per CPU), not "
					    "\"%s\"", XZ_THREADS_MAX, arg);
		ci->io.xz_threads = (unsigned)v;
		return 0;
	case TP_CLI_OPT_RETRIES:
		if (!tp_cli_uint(arg, 0, RETRIES_MAX, &v))
			return tp_cli_usage(c, "--retries takes 0-%d, not \"%s\"", RETRIES_MAX, arg);
		ci->io.retries = (unsigned)v;
		return 0;
	case TP_CLI_OPT_CATALOGUE:
		ci->catalogue = arg;
		return 0;
	case TP_CLI_OPT_CACHE_DIR:
		ci->cache_dir = arg;
		return 0;
	}
	return -1;
}

bool tp_cli_image_opt(const struct tp_cli *c, struct tp_cli_image *ci, int opt, const char *arg,
		      int *code)
{
	if (opt < TP_CLI_OPT_SHA256 || opt > TP_CLI_OPT_CACHE_DIR)
		return false;
	ci->given = true;
	*code = set(c, ci, opt, arg);
	return true;
}

void tp_cli_image_help(void)
{
#ifdef CONFIG_TPKIT_ARCHIVE
	printf("  image formats      xz, gzip, zstd, bzip2, a zip or tar holding one image\n"
	       "                     (tar also inside xz, gzip, ...), or a raw disk image\n");
#else
	printf("  image formats      xz, gzip or a raw disk image (built without libarchive:\n"
	       "                     no zstd, bzip2, zip or tar; decompress those first)\n");
#endif
	printf("  --sha256 HEX       the expected SHA-256 of the image as given (its\n"
	       "                     compressed bytes). Without it, IMAGE.sha256 or a\n"
	       "                     SHA256SUMS listing the image beside it (file or URL)\n"
	       "                     is used; a catalogue image has its own\n"
	       "  --require-sha256   refuse an image whose checksum is not known\n"
	       "  --no-verify        skip the read-back (faster, 30-50%% of the write time)\n"
	       "  --format raw       write data that is not recognised as an image as is\n"
	       "  --xz-memlimit MIB  memory the xz decoder may use (default %d; xz -9 images\n"
	       "                     need 65)\n"
	       "  --xz-threads N     threads that decode an xz -T image, within that memory\n"
	       "                     (default %d; 0: one per CPU; 1: none beside tpkit's)\n"
	       "  --retries N        resume a dropped download up to N times (default %d)\n"
	       "  --catalogue FILE   read FILE after %s/images.conf and\n"
	       "                     /etc/tpkit/images.conf (tpkit images --help)\n"
	       "  --cache-dir DIR    the catalogue's download cache (default\n"
	       "                     %s)\n",
	       CONFIG_TPKIT_XZ_MEMLIMIT_MB, CONFIG_TPKIT_XZ_THREADS, TP_HTTP_RETRIES,
	       CONFIG_TPKIT_DATADIR,
	       CONFIG_TPKIT_CACHE_DIR);
}
