/* SPDX-License-Identifier: MIT */
/*
 * The image pipeline: stream an OS image from a file, an http(s) URL or stdin,
 * hash it, decompress it and write it to a sink (common/sink.h), with the
 * image's first MiB written last and a read-back check.
 *
 * Shape (pipeline.md §3): a reader thread reads and SHA-256-hashes the
 * compressed bytes; the calling thread decodes; a writer thread writes 1 MiB
 * aligned buffers. Memory is fixed: a few MiB of buffers plus the decoder
 * (9 MiB for an xz -6 image), whatever the image size.
 *
 * Usage, as fwup splits a job into validate, estimate and run:
 *
 *	struct tp_image_opts o;
 *	tp_image_opts_init(&o);
 *	o.src = "https://host/ubuntu.img.xz";
 *	rc = tp_image_open(&img, &o);          // source, checksum, format, size
 *	if (tp_image_raw_size(img) > sink->size) ...refuse...
 *	rc = tp_image_write(img, sink, &res);  // head zeroed, body, verify, head
 *	tp_image_close(img);
 *
 * Every function returns 0 or a negative errno and leaves a message for the
 * user in tp_err_msg() naming what failed, where (phase, byte offset) and what
 * to do. Nothing here prints or exits.
 */
#ifndef TP_IMAGE_H
#define TP_IMAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "common/sink.h"

#define TP_IMAGE_HEAD_SIZE (1u << 20)
/* The head's first bytes, written last and alone: LBA 0 (MBR, GPT header
 * and entries) and the RK3588 boot ROM's ID block at sector 64
 * (docs/recovery.md). */
#define TP_IMAGE_BOOT_BLOCK (64u << 10)
#define TP_IMAGE_CHUNK (1u << 20)
#define TP_IMAGE_TARGETS_MAX 4   /* one per slot */

enum tp_format {
	TP_FMT_UNKNOWN,
	TP_FMT_RAW,
	TP_FMT_XZ,
	TP_FMT_GZIP,
	TP_FMT_ZSTD,
	TP_FMT_BZIP2,
	TP_FMT_ZIP,
	TP_FMT_TAR,
};

struct tp_image_opts {
	const char *src;         /* path, http(s):// URL, or "-" for stdin */
	const char *sha256;      /* expected SHA-256 of the input (hex), or NULL */
	bool discover_sha256;    /* look for IMAGE.sha256 / SHA256SUMS (default on) */
	bool require_sha256;     /* fail in open if no checksum is known */
	bool verify;             /* read back what was written (default on) */
	bool force_raw;          /* write unrecognised data as a raw image */
	uint32_t head_size;      /* bytes written last; multiple of 4096 (1 MiB) */
	unsigned retries;        /* http: reconnects that resume with Range */
	uint64_t xz_memlimit;    /* bytes (CONFIG_TPKIT_XZ_MEMLIMIT_MB) */
	unsigned xz_threads;     /* xz decoder threads; 0: CONFIG_TPKIT_XZ_THREADS */
	unsigned queue_depth;    /* 1 MiB write buffers in flight (4) */
	uint64_t raw_size_hint;  /* raw size from elsewhere (the catalogue), used
				  * when the input cannot tell (a stream), 0 if none */
	tp_progress_fn progress; /* called from pipeline threads, never concurrently */
	void *progress_cookie;
};

/* What open found out; valid until tp_image_close(). */
struct tp_image_info {
	enum tp_format format;    /* outer format: xz for a .tar.xz */
	enum tp_format container; /* TP_FMT_TAR / TP_FMT_ZIP if the image is an entry */
	char entry[256];          /* the entry's name inside a tar or zip */
	uint64_t in_size;         /* bytes of input, 0 if unknown (stdin, no length) */
	uint64_t raw_size;        /* bytes of image, 0 if not knowable up front */
	char sum_expected[65];    /* lower-case hex, "" if none known */
	char sum_source[512];     /* "--sha256", "https://.../SHA256SUMS", "" */
	char src_desc[512];       /* the source as given, for messages */
};

struct tp_image_result {
	uint64_t raw_bytes;       /* image bytes written (without alignment padding) */
	uint64_t in_bytes;        /* input bytes read and hashed */
	char sha256[65];          /* SHA-256 of the input, hex */
	bool sum_checked;         /* sha256 matched an expected value */
	bool verified;            /* read-back matched */
	uint64_t write_ns;        /* from start to the head on the sink (flushed) */
	uint64_t verify_ns;       /* read-back time, included in total */
	uint64_t total_ns;
	/* On failure: where. phase is TP_PHASE_*, offset a byte offset of the
	 * image (or of the input for download errors), head_zeroed true if the
	 * target's first head_size bytes were zeroed and left so. */
	enum tp_phase fail_phase;
	uint64_t fail_offset;
	bool head_zeroed;
	/* The target's boot area may hold part of the image (a head write or
	 * a blanking was cut short) and blanking it again failed: the target
	 * may boot a half-written image. The message says so too. */
	bool head_blank_failed;
	/* The target's before_head step failed (the body was written and
	 * verified; the boot area stays blank). */
	bool before_head_failed;
};

struct tp_image;

/* An http(s) download resumes a dropped connection this many times (--retries). */
#define TP_HTTP_RETRIES 5

/* Defaults: verify, checksum discovery, 1 MiB head, TP_HTTP_RETRIES, Kconfig limit. */
void tp_image_opts_init(struct tp_image_opts *o);

/*
 * Open the source, find the expected checksum, detect the format from magic
 * bytes and, where knowable, the raw size. Starts the reader thread (the
 * input is read ahead into a bounded buffer) but touches no sink, so a caller
 * can refuse a target that is too small before anything is written.
 */
int tp_image_open(struct tp_image **img, const struct tp_image_opts *o);

const struct tp_image_info *tp_image_info(const struct tp_image *img);

/* The image's size in bytes if known before writing, else 0. */
uint64_t tp_image_raw_size(const struct tp_image *img);

/*
 * The image's first bytes (up to head_size, fewer for a smaller image),
 * decoded ahead of tp_image_write() and kept for it: what a caller needs to
 * tell what the image is for (common/family.h) before it touches a target.
 * Valid until tp_image_close(). 0, or the decoding error with a message.
 */
int tp_image_head(struct tp_image *img, const void **head, size_t *len);

/*
 * Write the image to s: zero the target's head (and the GPT backup area at
 * its end), write the body, flush, check the input's SHA-256, read the body
 * back, write the head, flush, read the head back. Fails before writing past
 * s->size. On any failure after the head was zeroed the head stays zeroed,
 * so the target never holds a bootable half image. res may be NULL.
 * One call per tp_image_open().
 */
int tp_image_write(struct tp_image *img, struct tp_sink *s, struct tp_image_result *res);

/* One target of tp_image_write_multi(). */
struct tp_image_target {
	struct tp_sink *sink;
	/*
	 * Optional, called on the target's writer thread once the body is
	 * written, flushed and read back, and before the head goes out: the
	 * place to change files inside the image (seeding, docs/seeding.md),
	 * since a failure here still leaves the boot area blank. head holds
	 * the image's first len bytes (its partition table). 0, or -errno
	 * with a message; the target then fails.
	 */
	int (*before_head)(void *cookie, struct tp_sink *s, const void *head, size_t len);
	void *before_head_cookie;
	/*
	 * Optional: this target's own write and verify progress, with
	 * target = id, from its writer thread — so several targets call at
	 * once, and the callback locks what it shares. When every target
	 * has one, the image's own progress callback gets only the
	 * download; otherwise it gets the slowest target's, as before.
	 */
	unsigned id;
	tp_progress_fn progress;
	void *progress_cookie;
	/* Out: 0 or the target's own failure, with its message. */
	int rc;
	char msg[TP_ERR_MAX];
	struct tp_image_result res;
};

/*
 * tp_image_write() to up to TP_IMAGE_TARGETS_MAX sinks at once, the image
 * decoded once and every chunk fanned out to each target's writer thread
 * (pipeline.md §3). Each target gets the same guarantees as alone, and a
 * target that fails (its device gone, too small for the image)
 * drops out without stopping the others; a failure of the image itself
 * (download, checksum, decoding) fails every target. Returns 0 if every
 * target succeeded, else the first failed target's rc with its message.
 */
int tp_image_write_multi(struct tp_image *img, struct tp_image_target *t, size_t n);

/* Stops the reader if still running, frees everything. NULL is fine. */
void tp_image_close(struct tp_image *img);

/*
 * Write a boot block (the first len bytes of a target, at most
 * TP_IMAGE_BOOT_BLOCK) as the pipeline's last step does: in pieces the sink
 * takes, back to front so that LBA 0 goes last, then flush. For a caller
 * that blanked a target's boot block and puts it back (tpkit seed).
 */
int tp_image_put_boot_block(struct tp_sink *s, const void *bb, size_t len);

const char *tp_format_name(enum tp_format f);

const char *tp_phase_name(enum tp_phase p);

#endif
