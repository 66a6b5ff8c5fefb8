// SPDX-License-Identifier: MIT
#include "log.h"

#include "path.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

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

/* ---- syslog ---------------------------------------------------------------- */

/* Our own few lines rather than syslog(3): libc's always uses /dev/log of
 * the real root, which a test cannot stand in for. */
static struct {
	int fd;
	char ident[32];
	struct sockaddr_un addr;
} slog = { .fd = -1 };

static void slog_connect(void)
{
	if (slog.fd >= 0)
		close(slog.fd);
	slog.fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (slog.fd >= 0 &&
	    connect(slog.fd, (const struct sockaddr *)&slog.addr, sizeof(slog.addr)) < 0) {
		close(slog.fd);
		slog.fd = -1;
	}
}

static void log_syslog(enum tp_log_level level, const char *msg, void *cookie)
{
	/* LOG_DAEMON (3 << 3) with LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG. */
	static const int sev[] = { 3, 4, 6, 7 };
	char buf[1200], stamp[32];
	time_t t = time(NULL);
	struct tm tm;
	int n;

	(void)cookie;
	localtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
	n = snprintf(buf, sizeof(buf), "<%d>%s %s[%ld]: %s", (3 << 3) | sev[level], stamp,
		     slog.ident, (long)getpid(), msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	/* A syslogd restarted since: connect once more, then give up. One
	 * that is behind (its queue full) loses the line: commissioning
	 * reads consoles in real time and must not wait for a log. */
	for (int i = 0; i < 2; i++) {
		if (slog.fd < 0)
			slog_connect();
		if (slog.fd >= 0 && send(slog.fd, buf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) == n)
			return;
		if (slog.fd < 0 || errno == EAGAIN)
			return;
		close(slog.fd);
		slog.fd = -1;
	}
}

void tp_log_syslog_open(const char *ident)
{
	char path[TP_PATH_MAX];

	snprintf(slog.ident, sizeof(slog.ident), "%s", ident);
	memset(&slog.addr, 0, sizeof(slog.addr));
	slog.addr.sun_family = AF_UNIX;
	if (tp_path(path, sizeof(path), "/dev/log") == 0)
		snprintf(slog.addr.sun_path, sizeof(slog.addr.sun_path), "%s", path);
	slog_connect();
	tp_log_set_sink(log_syslog, NULL);
}

void tp_log_syslog_close(void)
{
	if (slog.fd >= 0)
		close(slog.fd);
	slog.fd = -1;
	tp_log_set_sink(NULL, NULL);
}
