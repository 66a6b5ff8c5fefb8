/* SPDX-License-Identifier: MIT */
/*
 * A bounded queue of fixed, aligned buffers between two threads: the
 * producer takes an empty buffer, fills it and queues it; the consumer takes
 * it, uses it and gives it back. Memory is n x size, allocated once, and a
 * full queue blocks the producer (back-pressure). Either side can abort the
 * queue, which wakes and fails every waiter: how one failing thread stops
 * the others.
 */
#ifndef TP_QUEUE_H
#define TP_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tp_chunk {
	void *data;
	size_t size;  /* capacity */
	size_t len;   /* bytes filled */
	uint64_t off; /* position of data[0] in the stream */
	bool eof;     /* the last chunk (len may be 0) */
	unsigned refs;/* users still holding it (fan-out); the user's to keep */
	uint32_t crc; /* the user's: a checksum of data, once crc_set */
	bool crc_set;
	struct tp_chunk *next;
};

struct tp_queue;

int tp_queue_new(struct tp_queue **q, unsigned n, size_t size, size_t align);
void tp_queue_free(struct tp_queue *q);

/* An empty buffer, waiting for one; NULL if the queue was aborted. */
struct tp_chunk *tp_queue_get_free(struct tp_queue *q);
void tp_queue_put_full(struct tp_queue *q, struct tp_chunk *c);
/* The oldest filled buffer, waiting for one; NULL if aborted. */
struct tp_chunk *tp_queue_get_full(struct tp_queue *q);
void tp_queue_put_free(struct tp_queue *q, struct tp_chunk *c);

void tp_queue_abort(struct tp_queue *q);
bool tp_queue_aborted(struct tp_queue *q);

#endif
