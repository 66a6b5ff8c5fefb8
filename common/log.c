// SPDX-License-Identifier: MIT
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

static enum tp_log_level log_level = TP_LOG_WARN;

static void log_stderr(enum tp_log_level level, const char *msg, void *cookie)
{
	static const char *const tag[] = { "error: ", "warning: ", "", "debug: " };

	(void)cookie;
	fprintf(stderr, "tpkit: %s%s\n", tag[level], msg);
}

static tp_log_sink log_sink = log_stderr;
static void *log_cookie;

void tp_log_set_level(enum tp_log_level level)
{
	log_level = level;
}

enum tp_log_level tp_log_get_level(void)
{
	return log_level;
}

void tp_log_set_sink(tp_log_sink sink, void *cookie)
{
	log_sink = sink ? sink : log_stderr;
	log_cookie = cookie;
}

void tp_log(enum tp_log_level level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_sink(level, msg, log_cookie);
}
