/* SPDX-License-Identifier: MIT */
/*
 * Cancelling a long job from a signal (Ctrl-C, SIGTERM, a closed output)
 * without losing the guarantee that the node is put back: the handler only
 * records the signal; polls (tp_clock_sleep_ms) and writes through a
 * cancellable sink then fail with -ECANCELED, and the job unwinds through
 * its normal failure path.
 *
 * The unwinding itself must not be cancelled: blanking a half-written boot
 * area again, or powering a node off, has to run to its end whatever
 * signal came. Such work runs between tp_cancel_hold() and
 * tp_cancel_unhold() on its thread, and writes to the sink under the
 * cancellable wrapper (tp_cancel_sink_inner()).
 */
#ifndef TP_CANCEL_H
#define TP_CANCEL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>

#include "sink.h"

/* Route SIGINT, SIGTERM and SIGHUP to the cancel flag; ignore SIGPIPE (a
 * closed output is seen as EPIPE, tp_cancel_out_ok()). */
int tp_cancel_install(void);

/* The signal that asked to cancel, or 0 — and 0 on a thread inside
 * tp_cancel_hold(), where nothing may stop half-way. */
int tp_cancelled(void);

/* The signal that asked to cancel (the process's, else this thread's
 * scope's), held or not: for the exit status. */
int tp_cancel_signal(void);

/* Cancel as if signal sig had arrived (a closed output: SIGPIPE). */
void tp_cancel_raise(int sig);

/* Forget a cancel once the job it stopped has unwound: for a process that
 * outlives its jobs (tpkit serve cancels one flash and takes the next). */
void tp_cancel_reset(void);

/* 0, or -ECANCELED with "cancelled by signal N (NAME)" as the message:
 * for loops that wait on something other than a sink (a USB transfer).
 * Always 0 inside tp_cancel_hold(). */
int tp_cancel_check(void);

/* A section of this thread that must finish: tp_cancelled() and
 * tp_cancel_check() say "not cancelled" until the matching unhold.
 * Nests. */
void tp_cancel_hold(void);
void tp_cancel_unhold(void);

/*
 * A job's own cancel, for a process that runs several jobs at once (tpkit
 * serve flashing two slots): the threads of a job run inside its scope and
 * see the scope's cancel as well as the process's signals; cancelling one
 * job leaves the others running. Threads a job starts must inherit its
 * scope: they are started with tp_cancel_thread_create().
 */
struct tp_cancel_scope {
	atomic_int sig;
};

/* This thread runs inside sc (NULL: outside any scope) from now on. */
void tp_cancel_scope_enter(struct tp_cancel_scope *sc);

/* Cancel the threads inside sc as if signal sig had arrived to them. */
void tp_cancel_scope_raise(struct tp_cancel_scope *sc, int sig);

/* pthread_create() with the new thread inside the caller's scope: 0 or
 * -errno (as a return value only, no message). */
int tp_cancel_thread_create(pthread_t *th, void *(*fn)(void *), void *arg);

/* Wrap a sink so that its calls fail with -ECANCELED once cancelled. The
 * wrapper owns inner: closing it closes inner. */
int tp_cancel_sink_wrap(struct tp_sink *inner, struct tp_sink **out);

/* The sink under a cancellable wrapper (s itself if s is not one): where
 * recovery writes go. */
struct tp_sink *tp_cancel_sink_inner(struct tp_sink *s);

/*
 * After writing to f (stdout of a --json run): false once f cannot take
 * output any more — a reader that went away (EPIPE, "tpkit flash --json |
 * head -3"). The first time, this cancels the job as SIGPIPE would have
 * (exit 141) had it not been ignored; the caller stops writing to f.
 */
bool tp_cancel_out_ok(FILE *f);

/* True once tp_cancel_out_ok() found the output closed. */
bool tp_cancel_out_closed(void);

#endif
