/* SPDX-License-Identifier: MIT */
/*
 * The image pipeline's options, one set for every command that writes an
 * image (tpkit write, tpkit flash): what the checksum must be, what the
 * decoder may use, where the catalogue and its cache are. Each is parsed
 * here once, so `--xz-memlimit 65` means and checks the same in both, and
 * a message that says "pass --format raw" is true wherever it is printed.
 */
#ifndef TP_CLI_IMAGE_H
#define TP_CLI_IMAGE_H

#include "cli.h"
#include "common/image.h"

struct tp_cli_image {
	struct tp_image_opts io; /* sha256, require_sha256, verify, force_raw,
				  * xz_memlimit, retries; src is the command's */
	const char *catalogue;   /* --catalogue FILE, or NULL */
	const char *cache_dir;   /* --cache-dir DIR, or NULL */
	bool given;              /* any of them was given */
};

/* Their codes: above the common options' (cli.h), so no command's own
 * enum can take one over. */
enum {
	TP_CLI_OPT_SHA256 = 0x1100,
	TP_CLI_OPT_REQUIRE_SHA256,
	TP_CLI_OPT_NO_VERIFY,
	TP_CLI_OPT_FORMAT,
	TP_CLI_OPT_XZ_MEMLIMIT,
	TP_CLI_OPT_XZ_THREADS,
	TP_CLI_OPT_RETRIES,
	TP_CLI_OPT_CATALOGUE,
	TP_CLI_OPT_CACHE_DIR,
};

/* Append to a command's getopt table, beside TP_CLI_COMMON_LONGOPTS. */
#define TP_CLI_IMAGE_LONGOPTS                                                                \
	{ "sha256", required_argument, NULL, TP_CLI_OPT_SHA256 },                           \
		{ "require-sha256", no_argument, NULL, TP_CLI_OPT_REQUIRE_SHA256 },          \
		{ "no-verify", no_argument, NULL, TP_CLI_OPT_NO_VERIFY },                    \
		{ "format", required_argument, NULL, TP_CLI_OPT_FORMAT },                    \
		{ "xz-memlimit", required_argument, NULL, TP_CLI_OPT_XZ_MEMLIMIT },          \
		{ "xz-threads", required_argument, NULL, TP_CLI_OPT_XZ_THREADS },            \
		{ "retries", required_argument, NULL, TP_CLI_OPT_RETRIES },                  \
		{ "catalogue", required_argument, NULL, TP_CLI_OPT_CATALOGUE },              \
		{ "cache-dir", required_argument, NULL, TP_CLI_OPT_CACHE_DIR }

/* The pipeline's defaults (tp_image_opts_init()), nothing given yet. */
void tp_cli_image_init(struct tp_cli_image *ci);

/*
 * Handle one of TP_CLI_IMAGE_LONGOPTS. false if opt is not one of them;
 * true if it was, with *code 0 when its value is good, else the usage
 * error's exit code (printed by tp_cli_usage()).
 */
bool tp_cli_image_opt(const struct tp_cli *c, struct tp_cli_image *ci, int opt, const char *arg,
		      int *code);

/* Their lines for a command's --help, on stdout. */
void tp_cli_image_help(void);

#endif
