// SPDX-License-Identifier: MIT
/*
 * Client of the board twin (tests/twin, docs/twin.md): GPIO lines and the
 * clock are served over a Unix socket, one text request and one reply a line.
 * This is how the real tpkit binary is driven in tests: everything above this
 * file is the code that runs on the BMC.
 */
#include "gpio.h"
#include "common/clock.h"
#include "common/err.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct sim {
	/* One request and its reply at a time: the clock may be read from
	 * any thread of a job (the pipeline's writer drives the sinks). */
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

static int sim_lost(struct sim *s, int err)
{
	return tp_err_set(err, "lost the board twin's GPIO socket %s: %s", s->path,
			  strerror(-err));
}

/* Send one request, wait for its one-line reply. On "ERR <NAME> text", return
 * the matching -errno with text kept in reply. */
static int sim_call(struct sim *s, char *reply, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int sim_call_locked(struct sim *s, char *reply, size_t size, const char *req,
			   size_t len);

static int sim_call(struct sim *s, char *reply, size_t size, const char *fmt, ...)
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
	pthread_mutex_lock(&s->lock);
	rc = sim_call_locked(s, reply, size, req, (size_t)n + 1);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static int sim_call_locked(struct sim *s, char *reply, size_t size, const char *req,
			   size_t len)
{
	size_t off = 0;
	char *nl;

	while (off < len) {
		ssize_t w = send(s->fd, req + off, len - off, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return sim_lost(s, -errno);
		off += (size_t)w;
	}
	while (!(nl = memchr(s->rbuf, '\n', s->rlen))) {
		ssize_t r;

		if (s->rlen == sizeof(s->rbuf))
			return sim_lost(s, -EPROTO);
		r = recv(s->fd, s->rbuf + s->rlen, sizeof(s->rbuf) - s->rlen, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return sim_lost(s, r < 0 ? -errno : -ECONNRESET);
		s->rlen += (size_t)r;
	}
	*nl = '\0';
	snprintf(reply, size, "%s", s->rbuf);
	s->rlen -= (size_t)(nl + 1 - s->rbuf);
	memmove(s->rbuf, nl + 1, s->rlen);

	if (!strncmp(reply, "OK", 2)) {
		/* Hand back what follows "OK ". */
		memmove(reply, reply + (reply[2] ? 3 : 2), strlen(reply + (reply[2] ? 3 : 2)) + 1);
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

static int sim_now(void *cookie, uint64_t *ns)
{
	char reply[64];
	int rc = sim_call(cookie, reply, sizeof(reply), "NOW");

	if (rc < 0)
		return rc;
	*ns = strtoull(reply, NULL, 10);
	return 0;
}

static int sim_sleep(void *cookie, uint64_t ns)
{
	char reply[64];

	return sim_call(cookie, reply, sizeof(reply), "SLEEP %" PRIu64, ns);
}

static const struct tp_clock_ops sim_clock = {
	.name = "twin",
	.now_ns = sim_now,
	.sleep_ns = sim_sleep,
};

static int sim_open(struct tp_gpio *g, const char *arg)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char reply[128];
	struct sim *s;
	int rc;

	if (!arg || !*arg || strlen(arg) >= sizeof(sa.sun_path))
		return tp_err_set(-EINVAL, "TPKIT_GPIO=sim: needs the twin's socket path");
	s = calloc(1, sizeof(*s));
	if (!s)
		return tp_err_set(-ENOMEM, "out of memory");
	pthread_mutex_init(&s->lock, NULL);
	snprintf(s->path, sizeof(s->path), "%s", arg);
	memcpy(sa.sun_path, arg, strlen(arg));
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0 || connect(s->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = tp_err_set(-errno, "cannot reach the board twin at %s: %s (is tp-twin "
				"running?)", arg, strerror(errno));
		goto fail;
	}
	rc = sim_call(s, reply, sizeof(reply), "HELLO tpkit");
	if (rc < 0) {
		rc = tp_err_set(rc, "board twin at %s refused HELLO: %s", arg, reply);
		goto fail;
	}
	g->priv = s;
	/* Delays go to the twin's virtual clock from now on. */
	tp_clock_use(&sim_clock, s);
	return 0;
fail:
	if (s->fd >= 0)
		close(s->fd);
	free(s);
	return rc;
}

static void sim_close(struct tp_gpio *g)
{
	struct sim *s = g->priv;

	tp_clock_use(NULL, NULL);
	pthread_mutex_destroy(&s->lock);
	close(s->fd);
	free(s);
}

static int sim_find(struct tp_gpio *g, struct tp_line *l)
{
	char reply[128];
	int rc = sim_call(g->priv, reply, sizeof(reply), "FIND %s", l->name);

	if (rc == -ENOENT)
		return tp_err_set(rc, "no GPIO line is named %s on this board", l->name);
	if (rc < 0)
		return tp_err_set(rc, "%s", reply);
	if (sscanf(reply, "%31s %u", l->chip, &l->offset) != 2)
		return tp_err_set(-EPROTO, "board twin: bad FIND reply \"%s\"", reply);
	return 0;
}

static int sim_request(struct tp_gpio *g, struct tp_line *l, const char *consumer)
{
	char reply[128];
	int rc = sim_call(g->priv, reply, sizeof(reply), "REQUEST %s %u %s", l->chip, l->offset,
			  consumer);

	if (rc == -EBUSY) {
		snprintf(l->holder, sizeof(l->holder), "%s", reply);
		return rc;
	}
	if (rc < 0)
		return tp_err_set(rc, "request refused: %s", reply);
	l->value = atoi(reply);
	return 0;
}

static int sim_get(struct tp_gpio *g, struct tp_line *l, int *value)
{
	char reply[128];
	int rc = sim_call(g->priv, reply, sizeof(reply), "GET %s %u", l->chip, l->offset);

	if (rc < 0)
		return tp_err_set(rc, "%s", reply);
	*value = atoi(reply);
	return 0;
}

static int sim_set(struct tp_gpio *g, struct tp_line *l, int value)
{
	char reply[128];
	int rc = sim_call(g->priv, reply, sizeof(reply), "SET %s %u %d", l->chip, l->offset,
			  value);

	return rc < 0 ? tp_err_set(rc, "%s (%s)", strerror(-rc), reply) : 0;
}

static void sim_release(struct tp_gpio *g, struct tp_line *l)
{
	char reply[128];

	sim_call(g->priv, reply, sizeof(reply), "RELEASE %s %u", l->chip, l->offset);
}

const struct tp_gpio_ops tp_gpio_sim_ops = {
	.name = "sim",
	.open = sim_open,
	.close = sim_close,
	.find = sim_find,
	.request = sim_request,
	.get = sim_get,
	.set = sim_set,
	.release = sim_release,
};
