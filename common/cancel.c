// SPDX-License-Identifier: MIT
#include "cancel.h"
#include "err.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile sig_atomic_t cancel_sig;

static void on_signal(int sig)
{
	cancel_sig = sig;
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
	return 0;
}

int tp_cancelled(void)
{
	return cancel_sig;
}

int tp_cancel_check(void)
{
	if (!cancel_sig)
		return 0;
	return tp_err_set(-ECANCELED, "cancelled by signal %d (%s)", (int)cancel_sig,
			  strsignal(cancel_sig));
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
