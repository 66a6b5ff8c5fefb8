// SPDX-License-Identifier: MIT
/*
 * Two lists under one mutex: free buffers and filled ones (FIFO). A mutex
 * and two condition variables are plenty at 1 MiB per hand-over: the
 * pipeline moves a few hundred buffers a second at most.
 */
#include "queue.h"
#include "err.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct tp_queue {
	pthread_mutex_t lock;
	pthread_cond_t has_free, has_full;
	struct tp_chunk *free_list;
	struct tp_chunk *full_head, *full_tail;
	struct tp_chunk *chunks;
	unsigned n;
	bool aborted;
};

int tp_queue_new(struct tp_queue **qp, unsigned n, size_t size, size_t align)
{
	struct tp_queue *q = calloc(1, sizeof(*q));

	*qp = NULL;
	if (!q)
		return tp_err_set(-ENOMEM, "out of memory for a buffer queue");
	q->chunks = calloc(n, sizeof(*q->chunks));
	if (!q->chunks)
		goto oom;
	q->n = n;
	for (unsigned i = 0; i < n; i++) {
		struct tp_chunk *c = &q->chunks[i];

		/* Aligned for O_DIRECT: the kernel rejects unaligned user
		 * buffers with EINVAL. */
		if (posix_memalign(&c->data, align, size))
			goto oom;
		c->size = size;
		c->next = q->free_list;
		q->free_list = c;
	}
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->has_free, NULL);
	pthread_cond_init(&q->has_full, NULL);
	*qp = q;
	return 0;
oom:
	if (q->chunks)
		for (unsigned i = 0; i < n; i++)
			free(q->chunks[i].data);
	free(q->chunks);
	free(q);
	return tp_err_set(-ENOMEM, "out of memory for %u buffers of %zu KiB", n, size >> 10);
}

void tp_queue_free(struct tp_queue *q)
{
	if (!q)
		return;
	for (unsigned i = 0; i < q->n; i++)
		free(q->chunks[i].data);
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->has_free);
	pthread_cond_destroy(&q->has_full);
	free(q->chunks);
	free(q);
}

struct tp_chunk *tp_queue_get_free(struct tp_queue *q)
{
	struct tp_chunk *c = NULL;

	pthread_mutex_lock(&q->lock);
	while (!q->aborted && !q->free_list)
		pthread_cond_wait(&q->has_free, &q->lock);
	if (!q->aborted) {
		c = q->free_list;
		q->free_list = c->next;
		c->next = NULL;
		c->len = 0;
		c->eof = false;
	}
	pthread_mutex_unlock(&q->lock);
	return c;
}

void tp_queue_put_full(struct tp_queue *q, struct tp_chunk *c)
{
	pthread_mutex_lock(&q->lock);
	c->next = NULL;
	if (q->full_tail)
		q->full_tail->next = c;
	else
		q->full_head = c;
	q->full_tail = c;
	pthread_cond_signal(&q->has_full);
	pthread_mutex_unlock(&q->lock);
}

struct tp_chunk *tp_queue_get_full(struct tp_queue *q)
{
	struct tp_chunk *c = NULL;

	pthread_mutex_lock(&q->lock);
	while (!q->aborted && !q->full_head)
		pthread_cond_wait(&q->has_full, &q->lock);
	if (!q->aborted) {
		c = q->full_head;
		q->full_head = c->next;
		if (!q->full_head)
			q->full_tail = NULL;
		c->next = NULL;
	}
	pthread_mutex_unlock(&q->lock);
	return c;
}

void tp_queue_put_free(struct tp_queue *q, struct tp_chunk *c)
{
	pthread_mutex_lock(&q->lock);
	c->next = q->free_list;
	q->free_list = c;
	pthread_cond_signal(&q->has_free);
	pthread_mutex_unlock(&q->lock);
}

void tp_queue_abort(struct tp_queue *q)
{
	pthread_mutex_lock(&q->lock);
	q->aborted = true;
	pthread_cond_broadcast(&q->has_free);
	pthread_cond_broadcast(&q->has_full);
	pthread_mutex_unlock(&q->lock);
}

bool tp_queue_aborted(struct tp_queue *q)
{
	bool a;

	pthread_mutex_lock(&q->lock);
	a = q->aborted;
	pthread_mutex_unlock(&q->lock);
	return a;
}
