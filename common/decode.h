/* SPDX-License-Identifier: MIT */
/*
 * Decoders, internal to the image pipeline: format detection by magic bytes
 * and a pull-style decoder chain over the input (common/pull.h):
 *
 *	input -> [xz (liblzma, memory-limited) | gzip (zlib)]
 *	      -> [libarchive: bzip2, zstd filters; tar, zip, raw formats]
 *	      -> raw image bytes
 *
 * xz bypasses libarchive on purpose: libarchive's xz reader switches
 * liblzma's memory limiter off (LZMA_MEMLIMIT UINT64_MAX in
 * archive_read_support_filter_xz.c), and a 128 MB BMC cannot decode an xz -9
 * image next to bmcd (pipeline.md §6). A tar inside xz is read by
 * libarchive from liblzma's output.
 */
#ifndef TP_DECODE_H
#define TP_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/image.h"
#include "common/pull.h"

struct tp_source;

struct tp_decode_opts {
	uint64_t xz_memlimit;
	unsigned xz_threads; /* 0: CONFIG_TPKIT_XZ_THREADS (0 there: one per CPU) */
	bool force_raw;
};

struct tp_decoder;

/* Detect the format on in (peeking), set up the chain, read an archive's
 * entry header; fills info->format, container, entry, raw_size (archives). */
int tp_decoder_open(struct tp_decoder **d, struct tp_pull *in, const struct tp_decode_opts *o,
		    struct tp_image_info *info);

/* Decoded bytes; *got < len only at the end of the image. */
int tp_decoder_read(struct tp_decoder *d, void *buf, size_t len, size_t *got);

/* After the end: refuse a second file in an archive, then read the input to
 * its end so the hash covers every byte. */
int tp_decoder_finish(struct tp_decoder *d);

void tp_decoder_close(struct tp_decoder *d);

/* ---- stages (decode_xz.c, decode_archive.c) ---------------------------- */

/* Stream stages: read() fills buf, *got < len only at the end. */
struct tp_xz;
/* threads: at most this many decode (0: the build's choice); memlimit
 * bounds them all (decode_xz.c). */
int tp_xz_open(struct tp_xz **x, struct tp_pull *in, uint64_t memlimit, unsigned threads);
int tp_xz_read(void *x, void *buf, size_t len, size_t *got);
/* Worker threads decoding its blocks (0: the caller's thread alone). */
unsigned tp_xz_workers(const struct tp_xz *x);
void tp_xz_close(void *x);

struct tp_gz;
int tp_gz_open(struct tp_gz **g, struct tp_pull *in);
int tp_gz_read(void *g, void *buf, size_t len, size_t *got);
void tp_gz_close(void *g);

/* Uncompressed size from the index of a seekable .xz file
 * (lzma_file_info_decoder); 0 or -errno. */
int tp_xz_file_size(struct tp_source *src, uint64_t memlimit, uint64_t *raw);

struct tp_arc;
/* tar_only: the input is already decompressed (tar inside xz). */
int tp_arc_open(struct tp_arc **a, struct tp_pull *in, bool tar_only, struct tp_image_info *info);
#ifdef CONFIG_TPKIT_ARCHIVE
int tp_arc_read(struct tp_arc *a, void *buf, size_t len, size_t *got);
int tp_arc_finish(struct tp_arc *a);
void tp_arc_close(struct tp_arc *a);
#else
/* Built without libarchive (Kconfig TPKIT_ARCHIVE): tp_arc_open() refuses
 * with the way out (decode.c); nothing else is ever called. */
static inline int tp_arc_read(struct tp_arc *a, void *buf, size_t len, size_t *got)
{
	(void)a, (void)buf, (void)len, *got = 0;
	return 0;
}
static inline int tp_arc_finish(struct tp_arc *a)
{
	(void)a;
	return 0;
}
static inline void tp_arc_close(struct tp_arc *a)
{
	(void)a;
}
#endif

#endif
