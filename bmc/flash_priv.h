/* SPDX-License-Identifier: MIT */
/* Internal to flash*.c: the images of a flash run (flash_image.c). */
#ifndef TP_FLASH_PRIV_H
#define TP_FLASH_PRIV_H

#include <pthread.h>

#include "flash.h"
#include "common/cache.h"
#include "common/image.h"

struct tp_flash_srcs;

/* The image for one module kind — or for every module, when --image names
 * a file, a URL or stdin rather than a catalogue entry. */
struct tp_flash_src {
	struct tp_flash_srcs *ss;
	const struct tp_flash_module *m; /* NULL: for any module */
	struct tp_image_opts io;         /* io.src may point into pick */
	struct tp_image_pick pick;
	struct tp_err_ctx err;           /* resolving or opening failed: why */
	struct tp_image *img;            /* open for the current run, or NULL */
	struct tp_progress last[3];      /* its latest progress, per phase */
};

struct tp_flash_srcs {
	const struct tp_flash_opts *o;
	struct tp_flash_src s[TP_FLASH_MODULES];
	size_t n;
	pthread_mutex_t lock;            /* progress from several pipelines */
};

/*
 * Work out what --image means for each module in mods (those whose own
 * files are ready), before any node is touched: a file or URL is one source
 * for all; a catalogue name or "auto" is resolved per module, a cached copy
 * hashed whole. A module's failure is kept in its source. Returns 0 if at
 * least one source is usable, else the first failure.
 */
int tp_flash_srcs_init(struct tp_flash_srcs *ss, const struct tp_flash_opts *o,
		       const struct tp_flash_module *const *mods, size_t nmods);

/* Open a usable source for a run (an image is written once per open);
 * a failure is kept in the source. 0 or -errno. */
int tp_flash_src_open(struct tp_flash_src *src);

/* True if --image is one source for every module (a file, URL, stdin). */
bool tp_flash_srcs_single(const struct tp_flash_srcs *ss);

/* The source for module m, NULL if --image has none for it. */
struct tp_flash_src *tp_flash_src_for(struct tp_flash_srcs *ss, const struct tp_flash_module *m);

/* Close the run's images. */
void tp_flash_srcs_close(struct tp_flash_srcs *ss);

void tp_flash_srcs_free(struct tp_flash_srcs *ss);

#endif
