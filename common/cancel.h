/* SPDX-License-Identifier: MIT */
/*
 * Cancelling a long job from a signal (Ctrl-C, SIGTERM) without losing the
 * guarantee that the node is put back: the handler only records the signal;
 * polls (tp_clock_sleep_ms) and writes through a cancellable sink then fail
 * with -ECANCELED, and the job unwinds through its normal failure path.
 */
#ifndef TP_CANCEL_H
#define TP_CANCEL_H

#include "sink.h"

/* Route SIGINT, SIGTERM and SIGHUP to the cancel flag. */
int tp_cancel_install(void);

/* The signal that asked to cancel, or 0. */
int tp_cancelled(void);

/* 0, or -ECANCELED with "cancelled by signal N (NAME)" as the message:
 * for loops that wait on something other than a sink (a USB transfer). */
int tp_cancel_check(void);

/* Wrap a sink so that its calls fail with -ECANCELED once cancelled. The
 * wrapper owns inner: closing it closes inner. */
int tp_cancel_sink_wrap(struct tp_sink *inner, struct tp_sink **out);

#endif
