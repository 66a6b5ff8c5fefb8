// SPDX-License-Identifier: MIT
#include "cancel.h"
#include "err.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Set from a signal handler and read from every thread: a lock-free
 * atomic is both async-signal-safe and free of data races. */
static atomic_int cancel_sig;
static atomic_bool out_closed;
static __thread unsigned held;
static __thread struct tp_cancel_scope *scope;

static void on_signal(int sig)
{
	atomic_store_explicit(&cancel_sig, sig, memory_order_relaxed);
}

int tp_cancel_install(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a blocking call returns EINTR and gets to look. */
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL) < 0)
			return tp_err_set(-errno, "sigaction: %s", strerror(errno));
	/* A reader that goes away must not kill us with a node half-way
	 * through flash mode: the write fails with EPIPE instead, and
	 * tp_cancel_out_ok() turns that into a cancel. */
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) < 0)
		return tp_err_set(-errno, "sigaction: %s", strerror(errno));
	return 0;
}

int tp_cancel_signal(void)
{
	int sig = atomic_load_explicit(&cancel_sig, memory_order_relaxed);

	if (!sig && scope)
		sig = atomic_load_explicit(&scope->sig, memory_order_relaxed);
	return sig;
}

int tp_cancelled(void)
{
	return held ? 0 : tp_cancel_signal();
}

void tp_cancel_raise(int sig)
{
	int none = 0;

	atomic_compare_exchange_strong(&cancel_sig, &none, sig);
}

void tp_cancel_reset(void)
{
	atomic_store(&cancel_sig, 0);
}

void tp_cancel_scope_enter(struct tp_cancel_scope *sc)
{
	scope = sc;
}

void tp_cancel_scope_raise(struct tp_cancel_scope *sc, int sig)
{
	int none = 0;

	atomic_compare_exchange_strong(&sc->sig, &none, sig);
}

struct thread_start {
	void *(*fn)(void *);
	void *arg;
	struct tp_cancel_scope *scope;
};

static void *thread_main(void *p)
{
	struct thread_start st = *(struct thread_start *)p;

	free(p);
	scope = st.scope;
	return st.fn(st.arg);
}

int tp_cancel_thread_create(pthread_t *th, void *(*fn)(void *), void *arg)
{
	struct thread_start *st = malloc(sizeof(*st));
	int rc;

	if (!st)
		return -ENOMEM;
	*st = (struct thread_start){ .fn = fn, .arg = arg, .scope = scope };
	rc = pthread_create(th, NULL, thread_main, st);
	if (rc)
		free(st);
	return -rc;
}

void tp_cancel_hold(void)
{
	held++;
}

void tp_cancel_unhold(void)
{
	if (held)
		held--;
}

int tp_cancel_check(void)
{
	int sig = tp_cancelled();

	if (!sig)
		return 0;
	if (sig == SIGPIPE)
		return tp_err_set(-ECANCELED, "cancelled: the output was closed (%s)",
				  strsignal(sig));
	return tp_err_set(-ECANCELED, "cancelled by signal %d (%s)", sig, strsignal(sig));
}

bool tp_cancel_out_ok(FILE *f)
{
	if (atomic_load(&out_closed))
		return false;
	if (!ferror(f))
		return true;
	/* Any write error on the output ends the job the same way: nobody
	 * is reading what it reports any more. */
	atomic_store(&out_closed, true);
	tp_cancel_raise(SIGPIPE);
	return false;
}

bool tp_cancel_out_closed(void)
{
	return atomic_load(&out_closed);
}

static int c_pwrite(struct tp_sink *s, const void *buf, size_t len, uint64_t off)
{
	struct tp_sink *in = s->priv;

	return tp_cancel_check() ?: tp_sink_pwrite(in, buf, len, off);
}

static int c_pread(struct tp_sink *s, void *buf, size_t len, uint64_t off)
{
	struct tp_sink *in = s->priv;

	return tp_cancel_check() ?: tp_sink_pread(in, buf, len, off);
}

static int c_flush(struct tp_sink *s)
{
	struct tp_sink *in = s->priv;

	return tp_cancel_check() ?: tp_sink_flush(in);
}

static void c_close(struct tp_sink *s)
{
	tp_sink_close(s->priv);
	free(s);
}

static const struct tp_sink_ops cancel_ops = {
	.name = "cancellable",
	.pwrite = c_pwrite,
	.pread = c_pread,
	.flush = c_flush,
	.close = c_close,
};

int tp_cancel_sink_wrap(struct tp_sink *inner, struct tp_sink **out)
{
	struct tp_sink *s = calloc(1, sizeof(*s));

	if (!s)
		return tp_err_set(-ENOMEM, "out of memory");
	*s = *inner;
	s->ops = &cancel_ops;
	s->priv = inner;
	*out = s;
	return 0;
}

struct tp_sink *tp_cancel_sink_inner(struct tp_sink *s)
{
	return s && s->ops == &cancel_ops ? s->priv : s;
}
