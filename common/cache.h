/* SPDX-License-Identifier: MIT */
/*
 * The verified image cache on the BMC's SD card, and resolving a catalogue
 * name (or "auto") into an image source for the flash pipeline.
 *
 * Layout of the cache directory (default <root>CONFIG_TPKIT_CACHE_DIR,
 * /mnt/sdcard/tpkit/images; never /tmp, a ~58 MB RAM disk, hardware.md
 * §10.3):
 *
 *	NAME           the image, renamed from NAME.part only after its
 *	               SHA-256 matched the catalogue
 *	NAME.sha256    "HEX  NAME", the hash NAME was verified against
 *	               (sha256sum -c works on it); lets `images list` tell a
 *	               file verified for this catalogue entry from a stale one
 *	               without re-hashing gigabytes
 *	NAME.part      an unfinished download; the next fetch resumes it
 *	NAME.bad       a file that failed its hash (download or verify), kept
 *	               for inspection, never used, deleted by the next fetch
 *
 * The SD card rule: a cache directory under <root>/mnt/sdcard needs
 * <root>/mnt/sdcard to exist and to be on another device (st_dev) than
 * <root>/, i.e. something is mounted there (S93startup creates the
 * directory even without a card, hardware.md §10.3). Elsewhere (--cache-dir
 * on other storage) only <root>/tmp is refused.
 */
#ifndef TP_CACHE_H
#define TP_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/catalogue.h"
#include "common/download.h"
#include "common/image.h"
#include "common/path.h"

#define TP_CACHE_SD_MOUNT "/mnt/sdcard"

struct tp_cache {
	char dir[TP_PATH_MAX];
	bool on_sd;              /* the SD card rule applies */
};

enum tp_cache_state {
	TP_CACHE_MISSING,
	TP_CACHE_PARTIAL,        /* NAME.part only */
	TP_CACHE_STALE,          /* NAME, not verified against this entry's hash */
	TP_CACHE_CACHED,         /* NAME, verified against this entry's hash */
};

/* dir NULL: the default, under the root prefix; else dir as given.
 * -EINVAL for a directory in /tmp. Touches nothing. */
int tp_cache_init(struct tp_cache *c, const char *dir);

/* The SD card rule (above): 0, or -ENOMEDIUM "SD card missing: ...". */
int tp_cache_check_media(const struct tp_cache *c);

/* "<dir>/<name><suffix>" */
int tp_cache_file(const struct tp_cache *c, const char *name, const char *suffix, char *buf,
		  size_t size);

/* What the cache holds for e; *bytes: the size of NAME or NAME.part. */
enum tp_cache_state tp_cache_state(const struct tp_cache *c, const struct tp_catalogue_entry *e,
				   uint64_t *bytes);

const char *tp_cache_state_name(enum tp_cache_state s);

/* SHA-256 of a whole file, progress as TP_PHASE_VERIFY (done/total bytes). */
int tp_cache_hash_file(const char *path, tp_progress_fn progress, void *cookie, char out[65],
		       uint64_t *bytes);

/*
 * Re-hash NAME against e->sha256. 0 good (NAME.sha256 rewritten);
 * -EBADMSG corrupt: NAME was renamed NAME.bad, message says so; -ENOENT not
 * cached. hex (may be NULL) gets what the file hashes to.
 */
int tp_cache_verify(const struct tp_cache *c, const struct tp_catalogue_entry *e,
		    tp_progress_fn progress, void *cookie, char hex[65]);

struct tp_cache_fetch_opts {
	unsigned retries;          /* reconnects per download (5) */
	tp_progress_fn progress;   /* download and verify phases */
	void *progress_cookie;
};

/*
 * Make NAME a verified copy of e: resume or start NAME.part from e->url
 * (free space checked first), check its hash, rename. Returns 1 if NAME was
 * already verified for this entry (nothing downloaded), 0 after a
 * download. -ENOMEDIUM (SD card missing), -ENOSPC (full; the .part stays),
 * -EBADMSG (hash mismatch; moved to NAME.bad), others from the download.
 */
int tp_cache_fetch(const struct tp_cache *c, const struct tp_catalogue_entry *e,
		   const struct tp_cache_fetch_opts *o, struct tp_download_result *r);

/* What tp_catalogue_resolve() chose; o->src and o->sha256 point in here. */
struct tp_image_pick {
	const char *catalogue;     /* in: --catalogue FILE, or NULL */
	const char *cache_dir;     /* in: --cache-dir DIR, or NULL */
	char name[TP_CAT_NAME_MAX];
	char src[TP_PATH_MAX];     /* the cached file or the URL */
	char sha256[65];
	bool cached;
};

/*
 * `--image ARG` for a module ("rk1", "cm4"; NULL where none is known, as
 * for tpkit write: any image entry, and no "auto"): "auto" is the module's
 * catalogue default; a catalogue name (not a path, URL or "-", and no file
 * of that name here) is its cached copy after hashing it WHOLE against the
 * catalogue — a corrupt copy is renamed NAME.bad and refused (-EBADMSG) —
 * or, with no verified copy, its URL streamed with the catalogue's hash
 * expected. o->src, o->sha256 and o->raw_size_hint are set from the entry.
 * Returns 0 when resolved, 1 when ARG is not a catalogue name (o untouched),
 * or a negative errno with a message. Hashing the cache takes a while on an
 * SD card (about 20 MB/s); it happens before any node is touched.
 */
int tp_catalogue_resolve(const char *image_arg, const char *module, struct tp_image_opts *o,
			 struct tp_image_pick *pick);

#endif
