/* SPDX-License-Identifier: MIT */
/* Internal to image.c and pipeline.c: the open image and its threads. */
#ifndef TP_IMAGE_PRIV_H
#define TP_IMAGE_PRIV_H

#include <openssl/evp.h>
#include <pthread.h>

#include "common/clock.h"
#include "common/decode.h"
#include "common/err.h"
#include "common/image.h"
#include "common/pull.h"
#include "common/queue.h"
#include "common/source.h"

/* Reader -> decoder: small buffers; the decoder's input rate is a fraction
 * of its output rate, and an http stall should not hold much memory. */
#define TP_IN_CHUNK (256u * 1024)
#define TP_IN_DEPTH 4

struct tp_phase_prog {
	uint64_t start, last, last_done;
	uint64_t rate;
};

/* A progress event of a phase now at done bytes: true if one is due (at
 * most every 1/4 s, and always at the end), with p->rate brought up to
 * date. Not locked: one caller per p at a time. */
bool tp_phase_prog_due(struct tp_phase_prog *p, uint64_t done, bool end);

struct tp_image {
	struct tp_image_opts o;
	struct tp_image_info info;
	struct tp_source *src;

	/* reader thread: source -> SHA-256 -> inq */
	struct tp_queue *inq;
	pthread_t reader;
	bool reader_running;
	EVP_MD_CTX *md;
	char sha_hex[65];
	uint64_t in_bytes;

	/* decoder side (the caller's thread) */
	struct tp_pull in;
	struct tp_chunk *in_cur;
	bool in_eof;
	struct tp_decoder *dec;
	bool used;

	/* the image's first head_size bytes, decoded ahead (tp_image_head) */
	unsigned char *head;
	size_t head_len;
	int head_rc;            /* 0 not yet, 1 decoded, or the failure */

	/* decoder -> writers, while tp_image_write_multi() runs: the shared
	 * buffer pool and each writer's queue, aborted on an image-wide
	 * failure */
	struct tp_queue *outq[TP_IMAGE_TARGETS_MAX + 1];
	unsigned noutq;

	/* the first failure in any thread wins; the others stop */
	pthread_mutex_t lock;
	int rc;
	char msg[TP_ERR_MAX];
	enum tp_phase fail_phase;
	uint64_t fail_off;

	pthread_mutex_t prog_lock;
	struct tp_phase_prog prog[3];
};

/* Record this thread's error (tp_err_msg) unless one is recorded already,
 * and abort the queues so every thread stops. Returns rc. */
int tp_image_fail(struct tp_image *img, int rc, enum tp_phase phase, uint64_t off);

/* The recorded error, re-set on the calling thread; 0 if none. */
int tp_image_error(struct tp_image *img);

/* Throttled to 4 calls a second per phase; end forces one. */
void tp_image_progress(struct tp_image *img, enum tp_phase ph, uint64_t done, uint64_t total,
		       bool end);

void tp_image_join_reader(struct tp_image *img);

/* Throughput and throttling use tp_clock_real_ns() (clock.h), not
 * tp_clock_now_ns(): they measure work done, and the twin's virtual clock
 * only models the hardware's delays. */

#endif
