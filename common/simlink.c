// SPDX-License-Identifier: MIT
/*
 * The board twin's wire protocol, client side (simlink.h). A link is one
 * Unix socket connection; requests on it are serialised, because the clock
 * may be read from any thread of a job (the pipeline's writers drive the
 * sinks).
 */
#include "simlink.h"
#include "err.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct tp_simlink {
	pthread_mutex_t lock;
	int fd;
	char path[108];
	char rbuf[512]; /* bytes received beyond the last reply */
	size_t rlen;
};

static const struct {
	const char *name;
	int err;
} sim_errnos[] = {
	{ "EBUSY", EBUSY }, { "ENOENT", ENOENT }, { "EPERM", EPERM },
	{ "EINVAL", EINVAL }, { "EIO", EIO },	  { "ENODEV", ENODEV },
};

static int lost(struct tp_simlink *l, int err)
{
	return tp_err_set(err, "lost the board twin's socket %s: %s", l->path, strerror(-err));
}

static int call_locked(struct tp_simlink *l, char *reply, size_t size, const char *req,
		       size_t len)
{
	size_t off = 0;
	char *nl;

	while (off < len) {
		ssize_t w = send(l->fd, req + off, len - off, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return lost(l, -errno);
		off += (size_t)w;
	}
	while (!(nl = memchr(l->rbuf, '\n', l->rlen))) {
		ssize_t r;

		if (l->rlen == sizeof(l->rbuf))
			return lost(l, -EPROTO);
		r = recv(l->fd, l->rbuf + l->rlen, sizeof(l->rbuf) - l->rlen, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return lost(l, r < 0 ? -errno : -ECONNRESET);
		l->rlen += (size_t)r;
	}
	*nl = '\0';
	snprintf(reply, size, "%s", l->rbuf);
	l->rlen -= (size_t)(nl + 1 - l->rbuf);
	memmove(l->rbuf, nl + 1, l->rlen);

	if (!strncmp(reply, "OK", 2)) {
		/* Hand back what follows "OK ". */
		size_t n = strlen(reply), skip = reply[2] ? 3 : 2;

		memmove(reply, reply + skip, n - skip + 1);
		return 0;
	}
	if (!strncmp(reply, "ERR ", 4)) {
		char *name = reply + 4, *text = strchr(name, ' ');
		int err = EPROTO;

		if (text)
			*text++ = '\0';
		for (size_t i = 0; i < sizeof(sim_errnos) / sizeof(sim_errnos[0]); i++)
			if (!strcmp(name, sim_errnos[i].name))
				err = sim_errnos[i].err;
		memmove(reply, text ? text : "", strlen(text ? text : "") + 1);
		return -err;
	}
	return tp_err_set(-EPROTO, "board twin sent a malformed reply \"%s\"", reply);
}

int tp_simlink_call(struct tp_simlink *l, char *reply, size_t size, const char *fmt, ...)
{
	char req[256];
	va_list ap;
	int n, rc;

	va_start(ap, fmt);
	n = vsnprintf(req, sizeof(req) - 1, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(req) - 1)
		return tp_err_set(-EINVAL, "twin request too long");
	req[n] = '\n';
	pthread_mutex_lock(&l->lock);
	rc = call_locked(l, reply, size, req, (size_t)n + 1);
	pthread_mutex_unlock(&l->lock);
	return rc;
}

int tp_simlink_open(const char *path, struct tp_simlink **out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct tp_simlink *l;
	char reply[128];
	int rc;

	if (!path || !*path || strlen(path) >= sizeof(sa.sun_path))
		return tp_err_set(-EINVAL, "sim: needs the board twin's socket path");
	l = calloc(1, sizeof(*l));
	if (!l)
		return tp_err_set(-ENOMEM, "out of memory");
	pthread_mutex_init(&l->lock, NULL);
	snprintf(l->path, sizeof(l->path), "%s", path);
	memcpy(sa.sun_path, path, strlen(path));
	l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l->fd < 0 || connect(l->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = tp_err_set(-errno, "cannot reach the board twin at %s: %s (is tp-twin "
				"running?)", path, strerror(errno));
		goto fail;
	}
	rc = tp_simlink_call(l, reply, sizeof(reply), "HELLO tpkit");
	if (rc < 0) {
		rc = tp_err_set(rc, "board twin at %s refused HELLO: %s", path, reply);
		goto fail;
	}
	*out = l;
	return 0;
fail:
	if (l->fd >= 0)
		close(l->fd);
	pthread_mutex_destroy(&l->lock);
	free(l);
	return rc;
}

void tp_simlink_close(struct tp_simlink *l)
{
	if (!l)
		return;
	pthread_mutex_destroy(&l->lock);
	close(l->fd);
	free(l);
}
