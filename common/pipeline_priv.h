/* SPDX-License-Identifier: MIT */
/*
 * Internal to pipeline.c (the decoder and the fan-out) and
 * pipeline_writer.c (one writer thread per target): their shared state.
 * common/pipeline.c says how the pieces fit.
 */
#ifndef TP_PIPELINE_PRIV_H
#define TP_PIPELINE_PRIV_H

#include "image_priv.h"

#define CHUNK TP_IMAGE_CHUNK
#define PAD 4096 /* the largest sink alignment; divides CHUNK and head_size */

struct fan;

/* One target: its own state, touched by its thread only unless noted. */
struct writer {
	struct fan *f;
	struct tp_image_target *t;
	struct tp_sink *s;
	struct tp_queue *q;     /* references to pool chunks, in order */
	pthread_t th;
	bool started;
	bool failed;            /* under f->lock */
	uint64_t done[3];       /* bytes per phase, for progress; under f->lock */
	struct tp_phase_prog prog[3]; /* its own progress (t->progress) */
	bool ended[3];          /* its final event of a phase went out */
	uint32_t *crc;          /* per body chunk, in order */
	size_t ncrc, crc_cap;
	uint64_t body_end;      /* end of the body on the sink, padded */
	bool head_zeroed;       /* step 1 done: the boot area is blank */
	/* The boot area may hold neither the old image nor zeros nor the new
	 * image whole: a blanking or a head write began and did not finish.
	 * A failure then blanks it again (tp_fan_recover()). */
	bool head_dirty;
	/* ... and its boot block (TP_IMAGE_BOOT_BLOCK) may be part of one:
	 * only then can the target boot what a failed blanking leaves. */
	bool boot_dirty;
	uint64_t vbody_ns;
};

/* One tp_image_write_multi(): the decoder's side and every writer. */
struct fan {
	struct tp_image *img;
	struct tp_queue *pool;  /* 1 MiB chunks shared by the writers */
	pthread_mutex_t lock;
	pthread_cond_t cond;    /* verdict set */
	int verdict;            /* 0 decoding, 1 input complete and good, -1 not */
	bool ended[3];          /* the final progress event of a phase went out */
	bool per_target;        /* every target reports its own write and verify */
	const unsigned char *head; /* the image's (tp_image_head) */
	size_t hlen;
	uint32_t head_size;
	bool verify;
	uint64_t raw;           /* image bytes decoded; final with the verdict */
	uint64_t total;         /* raw size if known up front, for progress */
	uint64_t t0;
	size_t n;
	struct writer w[TP_IMAGE_TARGETS_MAX];
};

static inline uint64_t round_up(uint64_t v, size_t a)
{
	return a > 1 ? (v + a - 1) / a * a : v;
}

/* Record a target's own failure (the calling thread's message), once. */
int tp_fan_writer_fail(struct writer *w, int rc, enum tp_phase ph, uint64_t off);

bool tp_fan_writer_failed(struct writer *w);

/* Write zeros over len bytes of s from off. */
int tp_fan_zero_range(struct tp_sink *s, uint64_t off, uint64_t len);

/* A failed target whose boot area is dirty: blank it (and the GPT backup)
 * again and flush, through the sink under the cancellable wrapper and
 * without looking at signals — this must finish whatever asked to stop.
 * 0, or -errno with the message current. */
int tp_fan_recover(struct writer *w);

/* A target's writer thread: steps 1-5 (pipeline_writer.c). */
void *tp_fan_writer_main(void *arg);

#endif
