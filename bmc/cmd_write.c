// SPDX-License-Identifier: MIT
/* tpkit write IMAGE --to PATH: the image pipeline onto a file or block device. */
#include "cli.h"
#include "cli_image.h"
#include "common/cache.h"
#include "progress.h"
#include "common/err.h"
#include "common/image.h"
#include "common/log.h"
#include "common/family.h"
#ifdef CONFIG_TPKIT_CMD_FLASH
#include "flash.h"
#endif
#include "common/sink_file.h"
#include "common/slots.h"
#ifdef CONFIG_TPKIT_SEED
#include "flash_seed.h"
#endif

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void help(void)
{
	printf("Usage: tpkit write IMAGE --to PATH [OPTIONS]\n\n"
	       "Stream an OS image onto a block device or into a file: decompress it on the\n"
	       "fly, check its SHA-256, write the first MiB (partition table, boot loader)\n"
	       "last, and read everything back. An interrupted or failed write leaves the\n"
	       "target's first MiB blank, so it never boots a half-written image.\n\n"
	       "IMAGE is a file, an http:// or https:// URL, - for stdin, or a catalogue\n"
	       "name (tpkit images list; its cached copy if there is one). Its format is\n"
	       "found from its content (below).\n\n"
	       "  --to PATH          the target: a block device (/dev/sda; opened exclusively,\n"
	       "                     so not while mounted) or a regular file (replaced)\n"
	       "  --size BYTES       capacity of a regular-file target (K, M, G suffixes);\n"
	       "                     block devices report their own\n");
	tp_cli_image_help();
	printf(
#ifdef CONFIG_TPKIT_SEED
	       "  --seed SLOT        write slot SLOT's first-boot files (tpkit config) into\n"
	       "                     the image before its first MiB goes out, as tpkit flash\n"
	       "                     --seed does: for an image to be put in that slot later\n"
	       "  --module NAME      with --seed: the module it is for, rk1 or cm4 (default:\n"
	       "                     told from the image's layout)\n"
	       "  --node-helper FILE with --seed: the node helper to install, an ELF program\n"
	       "                     for the nodes (default\n"
	       "                     " TP_SEED_HELPER_DEFAULT ")\n"
#endif
	       "  --json             progress and result as JSON objects, one per line\n"
	       "                     (docs/json.md)\n"
	       "  -v, --verbose      say what is found and done\n"
	       "  -q, --quiet        print nothing but errors\n"
	       "  -h, --help         this help\n\n"
	       "Progress bars are shown when stderr is a terminal; otherwise a progress line\n"
	       "every TPKIT_PROGRESS_EVERY seconds (default 5), then a summary line.\n"
	       "Exit codes: 0 written (and verified), 1 failed (the message says where and\n"
	       "what to do), 2 usage, 4 the target is in use.\n");
}

static void json_result_fail(const struct tp_cli *c, int rc, const struct tp_image_result *r,
			     bool started)
{
	struct tp_json j;

	tp_json_event(&j, stdout, "result");
	tp_json_str(&j, "command", c->cmd);
	tp_json_bool(&j, "ok", false);
	tp_json_str(&j, "error", tp_err_msg()[0] ? tp_err_msg() : strerror(-rc));
	tp_json_int(&j, "errno", -rc);
	tp_json_int(&j, "exit", tp_cli_exit_code(rc));
	if (started) {
		tp_json_str(&j, "phase", tp_phase_name(r->fail_phase));
		tp_json_uint(&j, "offset", r->fail_offset);
		tp_json_bool(&j, "head_zeroed", r->head_zeroed);
	}
	tp_json_obj_end(&j);
}

static int fail(const struct tp_cli *c, int rc, const struct tp_image_result *r, bool started)
{
	fprintf(stderr, "tpkit %s: error: %s\n", c->cmd,
		tp_err_msg()[0] ? tp_err_msg() : strerror(-rc));
	if (started && (r->fail_offset || r->head_zeroed))
		fprintf(stderr, "tpkit %s: failed in the %s phase at byte %" PRIu64 "%s\n", c->cmd,
			tp_phase_name(r->fail_phase), r->fail_offset,
			r->head_zeroed ? "; the target's first MiB is blank, it will not boot" : "");
	if (c->json)
		json_result_fail(c, rc, r, started);
	return tp_cli_exit_code(rc);
}

#ifndef CONFIG_TPKIT_SEED
struct tp_flash_seed;
#endif

static void summary(const struct tp_cli *c, const char *target, const struct tp_image_info *in,
		    const struct tp_image_result *r, const struct tp_flash_seed *seed)
{
	char raw[32], inb[32], rate[32], t[32];
	uint64_t secs = r->total_ns / 1000000000u;
	uint64_t bps = r->write_ns ? (uint64_t)(r->raw_bytes * 1e9 / (double)r->write_ns) : 0;

	if (c->json) {
		struct tp_json j;

		tp_json_event(&j, stdout, "result");
		tp_json_str(&j, "command", c->cmd);
		tp_json_bool(&j, "ok", true);
		tp_json_str(&j, "image", in->src_desc);
		tp_json_str(&j, "target", target);
		tp_json_str(&j, "format", tp_format_name(in->format));
		if (in->container)
			tp_json_str(&j, "entry", in->entry);
		tp_json_uint(&j, "bytes", r->raw_bytes);
		tp_json_uint(&j, "in_bytes", r->in_bytes);
		tp_json_str(&j, "sha256", r->sha256);
		tp_json_bool(&j, "sha256_checked", r->sum_checked);
		if (r->sum_checked)
			tp_json_str(&j, "sha256_source", in->sum_source);
		tp_json_bool(&j, "verified", r->verified);
		tp_json_int(&j, "write_ms", (int64_t)(r->write_ns / 1000000));
		tp_json_int(&j, "verify_ms", (int64_t)(r->verify_ns / 1000000));
		if (seed) {
			tp_json_bool(&j, "seeded", true);
			tp_json_str(&j, "root_uuid", seed->res.root_uuid);
			tp_json_str(&j, "instance_id", seed->res.instance_id);
		}
		tp_json_obj_end(&j);
		return;
	}
	if (c->verbosity < 0)
		return;
	tp_fmt_bytes(r->raw_bytes, raw, sizeof(raw));
	tp_fmt_bytes(r->in_bytes, inb, sizeof(inb));
	snprintf(rate, sizeof(rate), "%.1f MB/s", (double)bps / 1e6);
	tp_fmt_duration(secs, t, sizeof(t));
	printf("wrote %s to %s in %s (%s; %s, %s read); sha256 %s%s; %s\n", raw, target, t,
	       rate, tp_format_name(in->format), inb,
	       r->sum_checked ? "matches " : "not checked", r->sum_checked ? in->sum_source : "",
	       r->verified ? "read back and verified" : "not verified");
#ifdef CONFIG_TPKIT_SEED
	if (seed)
		printf("seeded the first-boot files (root filesystem %s, instance-id %s)\n",
		       seed->res.root_uuid, seed->res.instance_id);
#endif
}

#ifdef CONFIG_TPKIT_SEED
/* --seed: plan the slot's seed for the module the image is for, from
 * --module or its layout, before the target is touched. */
static int seed_plan(struct tp_image *img, unsigned slot, const char *module,
		     struct tp_flash_seed *fs)
{
	const void *head;
	size_t len;
	char why[160];
	int rc;

	if (!module) {
		if ((rc = tp_image_head(img, &head, &len)) < 0)
			return rc;
#ifdef CONFIG_TPKIT_CMD_FLASH
		const struct tp_flash_module *m =
			tp_flash_module_for(tp_family_detect(head, len, why, sizeof(why)));

		module = m ? m->name : NULL;
#else
		snprintf(why, sizeof(why), "this tpkit has no flashing to tell");
#endif
		if (!module)
			return tp_err_set(-EINVAL, "--seed: the image's layout does not say which "
					  "module it is for (%s); add --module rk1 or --module cm4",
					  why);
	}
	return tp_flash_seed_plan(fs, slot, module);
}

static int seed_before_head(void *cookie, struct tp_sink *s, const void *head, size_t len)
{
	int rc = tp_flash_seed_before_head(cookie, s, head, len);

	return rc < 0 ? tp_err_prefix(rc, "seeding slot %u: ", ((struct tp_flash_seed *)cookie)->slot) : 0;
}
#endif

int cmd_write_main(struct tp_cli *c, int argc, char **argv)
{
	enum { O_TO = 256, O_SIZE, O_SEED, O_MODULE, O_HELPER };
	static const struct option longopts[] = {
		{ "to", required_argument, NULL, O_TO },
		{ "size", required_argument, NULL, O_SIZE },
#ifdef CONFIG_TPKIT_SEED
		{ "seed", required_argument, NULL, O_SEED },
		{ "module", required_argument, NULL, O_MODULE },
		{ "node-helper", required_argument, NULL, O_HELPER },
#endif
		TP_CLI_IMAGE_LONGOPTS,
		TP_CLI_COMMON_LONGOPTS,
		{ 0 }
	};
	struct tp_sink_file_opts so = { 0 };
	struct tp_cli_image ci;
	struct tp_image_opts o;
	struct tp_image_pick pick = { 0 };
	struct tp_image_result r = { 0 };
	struct tp_progress_ui ui;
	struct tp_image *img = NULL;
	struct tp_sink *s = NULL;
	const struct tp_image_info *in;
	const char *to = NULL, *module = NULL;
	struct tp_image_target t = { 0 };
	unsigned seed_slot = 0;
#ifdef CONFIG_TPKIT_SEED
	struct tp_flash_seed fs = { 0 };
#endif
	struct tp_flash_seed *seed = NULL;
	int opt, rc, code;

	tp_cli_image_init(&ci);
	while ((opt = tp_cli_getopt(argc, argv, TP_CLI_COMMON_SHORTOPTS, longopts)) != -1) {
		switch (opt) {
		case 'h':
			help();
			return TP_EXIT_OK;
		case O_TO:
			to = optarg;
			break;
		case O_SIZE:
			if (tp_cli_size(optarg, &so.size) < 0 || !so.size)
				return tp_cli_usage(c, "--size takes bytes (e.g. 32G), not \"%s\"",
						    optarg);
			break;
		case O_SEED: {
			unsigned mask;

			if (tp_slots_parse(optarg, TP_SLOTS_MAX, &mask) < 0 || mask & (mask - 1))
				return tp_cli_usage(c, "--seed takes one slot, 1-%d, not \"%s\"",
						    TP_SLOTS_MAX, optarg);
			seed_slot = (unsigned)__builtin_ctz(mask) + 1;
			break;
		}
		case O_HELPER:
#ifdef CONFIG_TPKIT_SEED
			fs.node_helper = optarg;
#endif
			break;
		case O_MODULE:
			if (strcmp(optarg, "rk1") && strcmp(optarg, "cm4"))
				return tp_cli_usage(c, "--module is rk1 or cm4, not \"%s\"", optarg);
			module = optarg;
			break;
		default:
			if (tp_cli_image_opt(c, &ci, opt, optarg, &code)) {
				if (code)
					return code;
				break;
			}
			if (!tp_cli_common_opt(c, opt, optarg))
				return tp_cli_usage(c, "%s", tp_cli_optmsg());
		}
	}
	if (optind != argc - 1)
		return tp_cli_usage(c, optind >= argc ? "give the image: a file, a URL or -"
						      : "give one image only");
	if (!to)
		return tp_cli_usage(c, "where to? give --to PATH (a block device or a file)");
	if (module && !seed_slot)
		return tp_cli_usage(c, "--module goes with --seed SLOT");
#ifdef CONFIG_TPKIT_SEED
	if (fs.node_helper && !seed_slot)
		return tp_cli_usage(c, "--node-helper goes with --seed SLOT");
#endif
	rc = tp_cli_ready(c);
	if (rc)
		return rc;
	tp_progress_ui_init(&ui, c->json ? TP_PROGRESS_JSON
				 : c->verbosity >= 0 ? TP_PROGRESS_BAR : TP_PROGRESS_NONE);
	o = ci.io;
	o.src = argv[optind];
	o.progress = tp_progress_ui_cb;
	o.progress_cookie = &ui;
	pick.catalogue = ci.catalogue;
	pick.cache_dir = ci.cache_dir;
	/* A catalogue name: its cached copy, hashed whole first, or its URL
	 * with the catalogue's pinned hash. */
	rc = tp_catalogue_resolve(o.src, module, &o, &pick);
	if (rc < 0)
		return fail(c, rc, &r, false);
	rc = tp_image_open(&img, &o);
	if (rc < 0)
		return fail(c, rc, &r, false);
	in = tp_image_info(img);
	if (!in->sum_expected[0])
		TP_WARN("no SHA-256 known for %s (no --sha256, no %s.sha256, no SHA256SUMS "
			"listing it): the image is written unchecked", in->src_desc, in->src_desc);
	else
		TP_INFO("expecting SHA-256 %s (from %s)", in->sum_expected, in->sum_source);

#ifdef CONFIG_TPKIT_SEED
	if (seed_slot) {
		rc = seed_plan(img, seed_slot, module, &fs);
		if (rc < 0) {
			code = fail(c, rc, &r, false);
			goto out;
		}
		seed = &fs;
		t.before_head = seed_before_head;
		t.before_head_cookie = seed;
	}
#endif
	rc = tp_sink_file_open(&s, to, &so);
	if (rc < 0) {
		code = fail(c, rc, &r, false);
		goto out;
	}
	t.sink = s;
	rc = tp_image_write_multi(img, &t, 1);
	r = t.res;
	tp_progress_ui_end(&ui);
	if (rc < 0)
		code = fail(c, rc, &r, true);
	else {
		summary(c, to, in, &r, seed);
		code = TP_EXIT_OK;
	}
out:
#ifdef CONFIG_TPKIT_SEED
	tp_flash_seed_free(&fs);
#endif
	tp_sink_close(s);
	tp_image_close(img);
	return code;
}
