// SPDX-License-Identifier: MIT
/*
 * tp_catalogue_resolve() (cache.h): what `--image NAME|auto` means. The
 * rule that matters: a cached file is hashed whole against the catalogue
 * before the caller touches a node, so a partial or corrupt copy on the SD
 * card is never flashed. The pipeline hashes it again while writing (with
 * the same expected value), which also catches a change in between.
 */
#include "cache.h"
#include "checksum.h"
#include "err.h"
#include "log.h"
#include "source.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* ARG names a source rather than a catalogue entry: a URL, stdin, a path
 * with a slash, or a file that exists here (so `--image disk.img` keeps
 * meaning the file even if the catalogue has an entry "disk.img"). */
static bool is_source(const char *arg)
{
	struct stat st;

	if (!strcmp(arg, "auto"))
		return false;
	return !strcmp(arg, "-") || tp_source_is_url(arg) || strchr(arg, '/') ||
	       stat(arg, &st) == 0 || !tp_catalogue_name_ok(arg);
}

static int pick_entry(const char *arg, const char *module, const struct tp_catalogue *cat,
		      const struct tp_catalogue_entry **ep)
{
	const struct tp_catalogue_entry *e;

	if (!strcmp(arg, "auto")) {
		if (!module)
			return tp_err_set(-EINVAL, "auto is the catalogue's default image for a "
					  "module, and no module is known here: name the image "
					  "(tpkit images list)");
		e = tp_catalogue_auto(cat, module);
		if (!e)
			return -ENOENT;
		TP_INFO("--image auto: %s, the catalogue's %s image (%s)", e->name, module,
			e->origin);
	} else {
		e = tp_catalogue_find(cat, arg);
		if (!e)
			return 1;
		if (e->kind != TP_CAT_IMAGE)
			return tp_err_set(-EINVAL, "%s is a %s file (%s), not an OS image; seeding "
					  "puts it into the image (tpkit images list)", e->name,
					  tp_catalogue_kind_name(e->kind), e->origin);
		if (module && strcmp(e->module, module))
			return tp_err_set(-EINVAL, "%s is a %s image (%s), but this module is a %s; "
					  "pick a %s image (tpkit images list)", e->name, e->module,
					  e->origin, module, module);
	}
	*ep = e;
	return 0;
}

int tp_catalogue_resolve(const char *image_arg, const char *module, struct tp_image_opts *o,
			 struct tp_image_pick *pick)
{
	struct tp_catalogue cat = { 0 };
	const struct tp_catalogue_entry *e = NULL;
	struct tp_cache c;
	char hex[65];
	uint64_t bytes;
	int rc;

	if (!image_arg || is_source(image_arg))
		return 1;
	rc = tp_catalogue_load(&cat, pick->catalogue);
	if (rc == -ENOENT && strcmp(image_arg, "auto") && !pick->catalogue) {
		/* No catalogue installed: ARG can only be a file, and opening
		 * it says best what is wrong. */
		tp_err_clear();
		rc = 1;
		goto out;
	}
	if (rc < 0)
		goto out;
	rc = pick_entry(image_arg, module, &cat, &e);
	if (rc)
		goto out; /* 1: not a catalogue name; the caller opens it as a file */
	if (o->sha256 && (tp_checksum_parse_hex(o->sha256, hex) < 0 || strcmp(hex, e->sha256)))
		TP_FAIL(-EINVAL, "--sha256 %s contradicts the catalogue's %s for %s (%s); drop "
			"--sha256, the catalogue's hash is used", o->sha256, e->sha256, e->name,
			e->origin);
	snprintf(pick->name, sizeof(pick->name), "%s", e->name);
	snprintf(pick->sha256, sizeof(pick->sha256), "%s", e->sha256);
	TP_TRY(tp_cache_init(&c, pick->cache_dir));
	switch (tp_cache_state(&c, e, &bytes)) {
	case TP_CACHE_CACHED:
	case TP_CACHE_STALE:
		TP_INFO("%s: hashing the cached copy before anything is touched", e->name);
		TP_TRY(tp_cache_verify(&c, e, o->progress, o->progress_cookie, NULL));
		TP_TRY(tp_cache_file(&c, e->name, "", pick->src, sizeof(pick->src)));
		pick->cached = true;
		break;
	case TP_CACHE_PARTIAL:
		TP_INFO("%s: only partly downloaded (%llu bytes in the cache); streaming it from "
			"%s instead (tpkit images fetch %s completes the cache)", e->name,
			(unsigned long long)bytes, e->url, e->name);
		/* fall through */
	case TP_CACHE_MISSING:
		snprintf(pick->src, sizeof(pick->src), "%s", e->url);
		pick->cached = false;
		break;
	}
	o->src = pick->src;
	o->sha256 = pick->sha256;
	/* The catalogue's pinned hash is the one to trust, not a checksum
	 * file found next to the URL at run time (commissioning.md §3.1). */
	o->discover_sha256 = false;
	o->require_sha256 = true;
	if (e->raw_size)
		o->raw_size_hint = e->raw_size;
	rc = 0;
out:
	tp_catalogue_free(&cat);
	return rc;
}
