/* SPDX-License-Identifier: MIT */
/*
 * Where an image goes: a file or block device, an RK1's eMMC over rockusb, a
 * CM4's eMMC as a USB disk. The image pipeline writes through this interface
 * only, so every pipeline test runs against the file sink.
 *
 * Writes may be queued: a sink is free to return from pwrite() before the
 * bytes reach the device (rockusb keeps several commands in flight) and to
 * report a failure at a later pwrite() or at flush(). Once flush() returns 0,
 * every byte accepted so far is on the device.
 */
#ifndef TP_SINK_H
#define TP_SINK_H

#include <stddef.h>
#include <stdint.h>

struct tp_sink;

struct tp_sink_ops {
	const char *name; /* "file", "rockusb", "msd" */
	/* len and off are multiples of s->align; buf may be reused on return. */
	int (*pwrite)(struct tp_sink *s, const void *buf, size_t len, uint64_t off);
	int (*pread)(struct tp_sink *s, void *buf, size_t len, uint64_t off);
	int (*flush)(struct tp_sink *s);
	void (*close)(struct tp_sink *s);
};

struct tp_sink {
	const struct tp_sink_ops *ops;
	uint64_t size;   /* capacity in bytes, 0 if unknown (a growing file) */
	size_t align;    /* I/O granularity: 512 for sectors, 4096 for O_DIRECT */
	size_t max_io;   /* largest single transfer the sink wants */
	size_t max_read; /* largest single read, if larger (0: max_io): a sink
			  * that splits and queues reads itself */
	char desc[160];  /* for messages: "slot 2 eMMC (rockusb 1-1.2)" */
	void *priv;
};

static inline int tp_sink_pwrite(struct tp_sink *s, const void *buf, size_t len, uint64_t off)
{
	return s->ops->pwrite(s, buf, len, off);
}

static inline int tp_sink_pread(struct tp_sink *s, void *buf, size_t len, uint64_t off)
{
	return s->ops->pread(s, buf, len, off);
}

static inline int tp_sink_flush(struct tp_sink *s)
{
	return s->ops->flush(s);
}

static inline void tp_sink_close(struct tp_sink *s)
{
	if (s)
		s->ops->close(s);
}

/* Progress of a long job, for bars (terminal) and --json event lines. */
enum tp_phase { TP_PHASE_DOWNLOAD, TP_PHASE_WRITE, TP_PHASE_VERIFY };

struct tp_progress {
	enum tp_phase phase;
	uint64_t done;   /* bytes of this phase */
	uint64_t total;  /* 0 if unknown */
	uint64_t rate;   /* bytes per second, smoothed */
	/* 0: the image as a whole (its download; writing and verifying
	 * when the targets do not report their own); else the id of the
	 * target it is about (tp_image_target.id: a slot). */
	unsigned target;
};

typedef void (*tp_progress_fn)(void *cookie, const struct tp_progress *p);

#endif
