// SPDX-License-Identifier: MIT
/*
 * tpkit images list|fetch|verify: the image catalogue (common/catalogue.h)
 * and its verified cache on the SD card (common/cache.h).
 */
#include "cli.h"
#include "progress.h"
#include "common/cache.h"
#include "common/cancel.h"
#include "common/err.h"
#include "common/log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void help(void)
{
	printf("Usage: tpkit images list [OPTIONS]\n"
	       "       tpkit images fetch NAME... [OPTIONS]\n"
	       "       tpkit images verify [NAME...] [OPTIONS]\n\n"
	       "The image catalogue names OS images with a pinned SHA-256; `tpkit flash\n"
	       "--image NAME` (or --image auto) uses it. Images are cached on the BMC's SD\n"
	       "card, never in /tmp (a RAM disk of about 58 MB).\n\n"
	       "  list     every catalogue image: name, module, size, and what the cache\n"
	       "           holds: cached (verified), unverified (run verify), partial\n"
	       "           (fetch resumes it) or missing\n"
	       "  fetch    download into the cache, resuming a partial download with an\n"
	       "           HTTP Range request; the file gets its name only after its SHA-256\n"
	       "           matched the catalogue (else it is kept as NAME.bad)\n"
	       "  verify   hash cached images again (all, or the NAMEs); a corrupt one is\n"
	       "           renamed NAME.bad, is never flashed, and the next fetch replaces it\n\n"
	       "  --catalogue FILE   read FILE after %s/images.conf and\n"
	       "                     /etc/tpkit/images.conf; its entries add or replace\n"
	       "  --cache-dir DIR    cache directory (default %s; the SD card\n"
	       "                     must be mounted at %s)\n"
	       "  --retries N        resume a dropped download up to N times (default %d)\n"
	       "  --json             one JSON object per line: progress, image, fetch or verify\n"
	       "                     events, then the result (docs/json.md)\n"
	       "  -v, --verbose      say what is found and done\n"
	       "  -q, --quiet        print nothing but errors\n"
	       "  -h, --help         this help\n\n"
	       "The catalogue format is described in the shipped images.conf.\n"
	       "Exit codes: 0 ok, 1 failed (SD card missing or full, download failed, a hash\n"
	       "did not match; the message says what to do), 2 usage.\n",
	       CONFIG_TPKIT_DATADIR, CONFIG_TPKIT_CACHE_DIR, TP_CACHE_SD_MOUNT, TP_HTTP_RETRIES);
}

struct ctx {
	struct tp_cli *c;
	struct tp_catalogue cat;
	struct tp_cache cache;
	struct tp_progress_ui ui;
	unsigned retries;
	unsigned count; /* images listed, fetched or verified */
};

static void json_image(const struct tp_catalogue_entry *e, enum tp_cache_state st,
		       uint64_t bytes)
{
	struct tp_json j;

	tp_json_event(&j, stdout, "image");
	tp_json_str(&j, "name", e->name);
	tp_json_str(&j, "kind", tp_catalogue_kind_name(e->kind));
	tp_json_str(&j, "module", e->module);
	tp_json_str(&j, "arch", e->arch);
	tp_json_str(&j, "version", e->version);
	tp_json_str(&j, "url", e->url);
	tp_json_str(&j, "sha256", e->sha256);
	tp_json_uint_opt(&j, "size", e->size, e->size != 0);
	tp_json_uint_opt(&j, "raw_size", e->raw_size, e->raw_size != 0);
	tp_json_bool(&j, "default", e->is_default);
	tp_json_str(&j, "state", tp_cache_state_name(st));
	tp_json_uint(&j, "cached_bytes", bytes);
	tp_json_str(&j, "origin", e->origin);
	tp_json_str(&j, "description", e->description);
	tp_json_obj_end(&j);
}

static int do_list(struct ctx *x)
{
	char sz[32], have[32];

	if (tp_cache_check_media(&x->cache) < 0)
		TP_WARN("%s", tp_err_msg());
	if (!x->c->json && x->c->verbosity >= 0)
		printf("%-28s %-6s %-10s %-22s %s\n", "NAME", "MODULE", "SIZE", "CACHE",
		       "DESCRIPTION");
	for (size_t i = 0; i < x->cat.n; i++) {
		const struct tp_catalogue_entry *e = &x->cat.e[i];
		uint64_t bytes;
		enum tp_cache_state st = tp_cache_state(&x->cache, e, &bytes);
		char state[48];

		if (x->c->json) {
			json_image(e, st, bytes);
			continue;
		}
		if (x->c->verbosity < 0)
			continue;
		if (st == TP_CACHE_PARTIAL)
			snprintf(state, sizeof(state), "partial (%s)",
				 tp_fmt_bytes(bytes, have, sizeof(have)));
		else
			snprintf(state, sizeof(state), "%s", tp_cache_state_name(st));
		/* A k3s file shows its arch where an image shows its module. */
		printf("%-28s %-6s %-10s %-22s %s%s\n", e->name,
		       e->kind == TP_CAT_IMAGE ? e->module : e->arch[0] ? e->arch : "any",
		       e->size ? tp_fmt_bytes(e->size, sz, sizeof(sz)) : "?", state,
		       e->is_default ? "[default] " : "", e->description);
	}
	if (!x->c->json && x->c->verbosity >= 0)
		printf("cache: %s\n", x->cache.dir);
	return 0;
}

/* One image fetched or verified: a "fetch" or "verify" event; the run's
 * "result" follows them all (docs/json.md). */
static void json_image_done(const char *action, const char *name, int rc, const char *state,
			    const struct tp_download_result *r)
{
	struct tp_json j;

	tp_json_event(&j, stdout, action);
	tp_json_str(&j, "name", name);
	tp_json_bool(&j, "ok", rc >= 0);
	if (state)
		tp_json_str(&j, "state", state);
	if (r) {
		tp_json_uint(&j, "bytes", r->bytes);
		tp_json_uint(&j, "resumed_from", r->resumed_from);
		tp_json_str(&j, "sha256", r->sha256);
	}
	if (rc < 0) {
		tp_json_str(&j, "error", tp_err_msg());
		tp_json_int(&j, "errno", -rc);
	}
	tp_json_obj_end(&j);
	fflush(stdout);
}

static const struct tp_catalogue_entry *lookup(struct ctx *x, const char *name)
{
	const struct tp_catalogue_entry *e = tp_catalogue_find(&x->cat, name);

	if (!e)
		tp_err_set(-ENOENT, "no image \"%s\" in the catalogue; tpkit images list shows "
			   "the names", name);
	return e;
}

static int do_fetch(struct ctx *x, int n, char **names)
{
	struct tp_cache_fetch_opts fo = { .retries = x->retries,
					  .progress = tp_progress_ui_cb,
					  .progress_cookie = &x->ui };
	int failed = 0;

	x->count = (unsigned)n;
	for (int i = 0; i < n && !tp_cancelled(); i++) {
		const struct tp_catalogue_entry *e = lookup(x, names[i]);
		struct tp_download_result r;
		char b[32], path[TP_PATH_MAX];
		int rc = e ? tp_cache_fetch(&x->cache, e, &fo, &r) : -ENOENT;

		tp_progress_ui_end(&x->ui);
		if (x->c->json) {
			json_image_done("fetch", names[i], rc, rc == 1 ? "cached" :
					rc == 0 ? "fetched" : NULL, rc >= 0 ? &r : NULL);
		}
		if (rc < 0) {
			fprintf(stderr, "tpkit images: error: %s\n", tp_err_msg());
			failed = failed ? failed : tp_cli_exit_code(rc);
			continue;
		}
		if (x->c->json || x->c->verbosity < 0)
			continue;
		tp_cache_file(&x->cache, e->name, "", path, sizeof(path));
		if (rc == 1)
			printf("%s: already cached and verified: %s\n", e->name, path);
		else
			printf("%s: fetched %s%s; sha256 matches the catalogue; %s\n", e->name,
			       tp_fmt_bytes(r.bytes, b, sizeof(b)),
			       r.resumed_from ? " (resumed)" : "", path);
	}
	return failed;
}

static int do_verify(struct ctx *x, int n, char **names)
{
	int failed = 0, done = 0;

	for (size_t i = 0; i < (n ? (size_t)n : x->cat.n) && !tp_cancelled(); i++) {
		const struct tp_catalogue_entry *e = n ? lookup(x, names[i]) : &x->cat.e[i];
		uint64_t bytes;
		char hex[65] = "";
		int rc;

		if (!e) {
			rc = -ENOENT;
		} else if (!n && tp_cache_state(&x->cache, e, &bytes) < TP_CACHE_STALE) {
			continue; /* verify all: what is there */
		} else {
			rc = tp_cache_verify(&x->cache, e, tp_progress_ui_cb, &x->ui, hex);
			tp_progress_ui_end(&x->ui);
		}
		done++;
		x->count++;
		if (x->c->json)
			json_image_done("verify", n ? names[i] : e->name, rc, rc == 0 ? "cached" :
					rc == -EBADMSG ? "corrupt" : NULL, NULL);
		if (rc < 0) {
			fprintf(stderr, "tpkit images: error: %s\n", tp_err_msg());
			failed = failed ? failed : tp_cli_exit_code(rc);
		} else if (!x->c->json && x->c->verbosity >= 0) {
			printf("%s: ok, sha256 %s matches the catalogue\n", e->name, hex);
		}
	}
	if (!done && !x->c->json && x->c->verbosity >= 0)
		printf("nothing cached in %s\n", x->cache.dir);
	return failed;
}

/* The run's result line after the per-image events: the exit code passes
 * through. */
static int json_done(const struct ctx *x, const char *action, int code)
{
	struct tp_json j;

	if (!x->c->json)
		return code;
	tp_cli_json_result(x->c, &j, NULL, code == 0);
	tp_json_str(&j, "action", action);
	tp_json_uint(&j, "count", x->count);
	if (code)
		tp_json_int(&j, "exit", code);
	tp_json_obj_end(&j);
	fflush(stdout);
	return code;
}

static int set_retries(const struct tp_cli *c, void *dst, const char *arg)
{
	unsigned long v;

	if (!tp_cli_uint(arg, 0, 100, &v))
		return tp_cli_usage(c, "--retries takes 0-100, not \"%s\"", arg);
	*(unsigned *)dst = (unsigned)v;
	return 0;
}

int cmd_images_main(struct tp_cli *c, int argc, char **argv)
{
	struct ctx x = { .c = c, .retries = TP_HTTP_RETRIES };
	const char *catalogue = NULL, *cache_dir = NULL, *action;
	const struct tp_cli_opt opts[] = {
		{ "catalogue", 0, TP_CLI_STR, &catalogue },
		{ "cache-dir", 0, TP_CLI_STR, &cache_dir },
		{ "retries", 0, TP_CLI_FN, &x.retries, set_retries },
		{ 0 }
	};
	int rc;

	if ((rc = tp_cli_parse(c, argc, argv, opts, help, TP_CLI_ARGS)) != TP_CLI_GO)
		return rc;
	if (optind >= argc)
		return tp_cli_usage(c, "what? tpkit images list|fetch NAME...|verify [NAME...]");
	action = argv[optind++];
	if (strcmp(action, "list") && strcmp(action, "fetch") && strcmp(action, "verify"))
		return tp_cli_usage(c, "\"%s\": the actions are list, fetch and verify", action);
	if (!strcmp(action, "list") && optind < argc)
		return tp_cli_usage(c, "list takes no names");
	if (!strcmp(action, "fetch") && optind >= argc)
		return tp_cli_usage(c, "fetch which image? tpkit images fetch NAME (see tpkit "
				    "images list)");
	rc = tp_cli_ready(c);
	if (rc)
		return rc;
	rc = tp_catalogue_load(&x.cat, catalogue);
	if (rc == 0)
		rc = tp_cache_init(&x.cache, cache_dir);
	if (rc < 0) {
		tp_catalogue_free(&x.cat);
		return tp_cli_fail(c, rc);
	}
	tp_progress_ui_init(&x.ui, c->json ? TP_PROGRESS_JSON
				   : c->verbosity >= 0 ? TP_PROGRESS_BAR : TP_PROGRESS_NONE);
	rc = tp_cancel_install();
	if (rc < 0) {
		rc = tp_cli_fail(c, rc);
	} else if (!strcmp(action, "list")) {
		x.count = (unsigned)x.cat.n;
		rc = json_done(&x, action, do_list(&x));
	} else if (!strcmp(action, "fetch")) {
		rc = json_done(&x, action, do_fetch(&x, argc - optind, argv + optind));
	} else {
		/* A whole cache is checked against the card being there, so
		 * "nothing cached" never hides a missing card. */
		rc = tp_cache_check_media(&x.cache);
		rc = rc < 0 ? tp_cli_fail(c, rc)
			    : json_done(&x, action, do_verify(&x, argc - optind, argv + optind));
	}
	tp_catalogue_free(&x.cat);
	return rc;
}
