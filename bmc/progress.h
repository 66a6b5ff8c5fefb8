/* SPDX-License-Identifier: MIT */
/*
 * Showing a long job's progress (tp_progress_fn, common/sink.h): bars on a
 * terminal, one per slot (and the download); a line now and then when
 * stderr is not one (a log, ssh without -t); one JSON event per line with
 * --json; nothing with -q. Used by write, flash and images.
 */
#ifndef TP_PROGRESS_H
#define TP_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/sink.h"

enum tp_progress_mode {
	TP_PROGRESS_NONE,
	TP_PROGRESS_BAR,   /* bars redrawn in place on a terminal */
	TP_PROGRESS_LINES, /* a line per row every TPKIT_PROGRESS_EVERY seconds */
	TP_PROGRESS_JSON,
};

/* Rows: the image as a whole (target 0), then one per slot. */
#define TP_PROGRESS_TARGETS 5

struct tp_progress_row {
	bool seen;
	struct tp_progress last;
	uint64_t printed;   /* lines: when the last went out (monotonic ns) */
};

struct tp_progress_ui {
	enum tp_progress_mode mode;
	FILE *f;            /* bars and lines: stderr; JSON: stdout */
	int width;          /* terminal columns */
	uint64_t every_ns;  /* lines: the least time between two of a row */
	struct tp_progress_row row[TP_PROGRESS_TARGETS][3]; /* by target, phase */
	int cur[TP_PROGRESS_TARGETS]; /* a slot's latest phase, its one bar */
	int lines;          /* bar lines drawn, for redrawing in place */
};

/* BAR becomes LINES if stderr is not a terminal: a line per slot (and
 * for the download) every TPKIT_PROGRESS_EVERY seconds (default 5; 0:
 * each event, about 4 a second). */
void tp_progress_ui_init(struct tp_progress_ui *u, enum tp_progress_mode mode);

/* A tp_progress_fn; cookie is the tp_progress_ui. */
void tp_progress_ui_cb(void *cookie, const struct tp_progress *p);

/* Leave the cursor below the bars, to print a message; the next event
 * draws them again below it. */
void tp_progress_ui_break(struct tp_progress_ui *u);

/* Leave the cursor below the bars and forget them. */
void tp_progress_ui_end(struct tp_progress_ui *u);

/* "1.5 GiB", "512 KiB", "17 B" */
const char *tp_fmt_bytes(uint64_t v, char *buf, size_t size);

/* "1:05", "1:02:03" */
const char *tp_fmt_duration(uint64_t seconds, char *buf, size_t size);

#endif
