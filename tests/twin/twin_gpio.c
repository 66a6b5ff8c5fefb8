// SPDX-License-Identifier: MIT
/*
 * The GPIO server behind TPKIT_GPIO=sim:PATH (docs/twin.md, "Wire
 * protocol"): one request per line, one reply per request, on a Unix
 * stream socket. Each connection plays one process holding lines; what it
 * holds is released when it closes, as the kernel does on exit.
 *
 * Anything the kernel would refuse as a programming error (a malformed
 * request, a line the caller does not hold) is a violation; the answers a
 * correct program must be ready for (EBUSY, ENOENT) are not.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib-unix.h>

#include "twin.h"
#include "twin_usb.h"

#define TWIN_PROTOCOL_VERSION	1
#define TWIN_MAX_REQUEST	4096
#define TWIN_REPLY_TIMEOUT_MS	10000

struct twin_conn {
	struct twin *t;
	int fd;
	guint src;
	unsigned id;
	char *program;		/* from HELLO; NULL until then */
	GString *in;
	bool dead;		/* closed by us; freed by the caller */
};

static void twin_conn_reply(struct twin_conn *c, const char *fmt, ...)
	G_GNUC_PRINTF(2, 3);

static void twin_conn_reply(struct twin_conn *c, const char *fmt, ...)
{
	va_list ap;
	char *msg;
	size_t len, done = 0;

	if (c->dead)
		return;
	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	len = strlen(msg);
	msg[len++] = '\n';	/* replaces the NUL; msg is not a string now */

	/* Replies are short; a client that stops reading for this long is
	 * stuck, and the twin must not hang with it. */
	while (done < len) {
		ssize_t n = send(c->fd, msg + done, len - done, MSG_NOSIGNAL);
		struct pollfd p = { .fd = c->fd, .events = POLLOUT };

		if (n > 0) {
			done += (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && errno == EAGAIN &&
			   poll(&p, 1, TWIN_REPLY_TIMEOUT_MS) > 0) {
			continue;
		} else {
			c->dead = true;	/* peer gone: it cannot read anyway */
			break;
		}
	}
	g_free(msg);
}

static const char *twin_conn_who(struct twin_conn *c)
{
	return c->program ? c->program : "unnamed client";
}

static void twin_conn_violation(struct twin_conn *c, const char *err,
				const char *what, const char *fmt, ...)
	G_GNUC_PRINTF(4, 5);

/* Record the violation and answer it, so the client also sees the error. */
static void twin_conn_violation(struct twin_conn *c, const char *err,
				const char *what, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	twin_timeline_violation(c->t, what, "%s (%s, connection %u)", msg,
				twin_conn_who(c), c->id);
	twin_conn_reply(c, "ERR %s %s", err, msg);
	g_free(msg);
}

static void twin_conn_release(struct twin_conn *c, struct twin_line *l)
{
	twin_timeline_add(c->t, "hold", l->subject, l->holder, "free", NULL);
	g_free(l->holder);
	l->holder = NULL;
	l->owner = NULL;
}

/* Plain decimal only: the protocol has no signs, spaces or hex. */
static bool twin_gpio_parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		unsigned d = (unsigned)(*s - '0');

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

/*
 * Split ARGS into exactly N tokens separated by single spaces. With
 * last_rest the last token is the rest of the line (a consumer label may
 * contain spaces). Returns NULL when the request does not fit.
 */
static char **twin_gpio_split(const char *args, unsigned n, bool last_rest)
{
	char **tok;

	if (!n)
		return args ? NULL : g_new0(char *, 1);
	if (!args)
		return NULL;
	tok = g_strsplit(args, " ", last_rest ? (gint)n : 0);
	if (g_strv_length(tok) != n)
		goto bad;
	for (unsigned i = 0; i < n; i++)
		if (!tok[i][0] || tok[i][0] == ' ')
			goto bad;
	return tok;
bad:
	g_strfreev(tok);
	return NULL;
}

/* Resolve "<chip> <offset>" tokens; answers and returns NULL on error. */
static struct twin_line *twin_gpio_line(struct twin_conn *c, char **tok)
{
	struct twin_line *l = NULL;
	uint64_t off;
	int rc;

	if (!twin_gpio_parse_u64(tok[1], &off)) {
		twin_conn_violation(c, "EINVAL", "request",
				    "bad line offset \"%s\"", tok[1]);
		return NULL;
	}
	rc = twin_board_line_get(c->t, tok[0], off, &l);
	if (rc == -ENODEV)
		twin_conn_violation(c, "ENODEV", "request", "no chip named %s",
				    tok[0]);
	else if (rc)
		twin_conn_violation(c, "EINVAL", "request",
				    "%s has no line %" PRIu64, tok[0], off);
	return rc ? NULL : l;
}

static bool twin_gpio_held(struct twin_conn *c, struct twin_line *l,
			   const char *verb)
{
	if (l->owner == c)
		return true;
	twin_conn_violation(c, "EPERM", l->subject,
			    "%s of a line this connection does not hold (holder: %s)",
			    verb, l->holder ? l->holder : "none");
	return false;
}

static void twin_gpio_request(struct twin_conn *c, const char *verb,
			      char **tok)
{
	struct twin *t = c->t;
	struct twin_line *l;
	uint64_t v;

	if (!strcmp(verb, "FIND")) {
		l = twin_board_line_find(t, tok[0]);
		if (l)
			twin_conn_reply(c, "OK %s %u",
					t->board.chips[l->chip].name, l->offset);
		else
			twin_conn_reply(c, "ERR ENOENT no line named %s", tok[0]);
		return;
	}
	if (!strcmp(verb, "CLOCK")) {
		twin_conn_reply(c, "OK %s", t->opt.real_clock ? "real" : "virtual");
		return;
	}
	if (!strcmp(verb, "NOW")) {
		if (twin_sched_real_catch_up(t))
			twin_timeline_violation(t, "twin", "the clock could not follow real time");
		twin_conn_reply(c, "OK %" PRIu64, t->board.now_ns);
		return;
	}
	if (!strcmp(verb, "SLEEP")) {
		if (twin_sched_real_catch_up(t))
			twin_timeline_violation(t, "twin", "the clock could not follow real time");
		if (!twin_gpio_parse_u64(tok[0], &v) ||
		    twin_board_clock_advance(t, v))
			twin_conn_violation(c, "EINVAL", "request",
					    "bad SLEEP duration \"%s\"", tok[0]);
		else
			twin_conn_reply(c, "OK %" PRIu64, t->board.now_ns);
		return;
	}

	l = twin_gpio_line(c, tok);
	if (!l)
		return;
	if (!strcmp(verb, "INFO")) {
		twin_conn_reply(c, "OK %s %d %s", l->output ? "out" : "in",
				l->holder != NULL, l->holder ? l->holder : "-");
	} else if (!strcmp(verb, "REQUEST")) {
		if (l->holder) {
			twin_conn_reply(c, "ERR EBUSY %s", l->holder);
			return;
		}
		l->holder = g_strdup(tok[2]);
		l->owner = c;
		twin_timeline_add(t, "hold", l->subject, "free", l->holder, NULL);
		twin_conn_reply(c, "OK %d", l->value);
	} else if (!strcmp(verb, "SET")) {
		if (!twin_gpio_held(c, l, "SET"))
			return;
		if (strcmp(tok[2], "0") && strcmp(tok[2], "1")) {
			twin_conn_violation(c, "EINVAL", l->subject,
					    "SET to \"%s\" (values are 0 and 1)",
					    tok[2]);
			return;
		}
		if (l->fail_next_set && l->value != tok[2][0] - '0') {
			l->fail_next_set = false;	/* --fail-set: once */
			twin_conn_reply(c, "ERR EIO injected failure (--fail-set %s)",
					l->subject);
			return;
		}
		twin_board_line_set(t, l, tok[2][0] - '0');
		twin_conn_reply(c, "OK");
	} else if (!strcmp(verb, "GET")) {
		if (twin_gpio_held(c, l, "GET"))
			twin_conn_reply(c, "OK %d", l->value);
	} else if (!strcmp(verb, "RELEASE")) {
		if (!twin_gpio_held(c, l, "RELEASE"))
			return;
		twin_conn_release(c, l);
		twin_conn_reply(c, "OK");
	}
}

static const struct {
	const char *verb;
	unsigned nargs;
	bool last_rest;
} twin_gpio_verbs[] = {
	{ "HELLO", 1, true },	{ "FIND", 1, false },
	{ "INFO", 2, false },	{ "REQUEST", 3, true },
	{ "SET", 3, false },	{ "GET", 2, false },
	{ "RELEASE", 2, false },	{ "NOW", 0, false },
	{ "CLOCK", 0, false },
	{ "SLEEP", 1, false },
};

static void twin_gpio_line_in(struct twin_conn *c, const char *line)
{
	const char *sp = strchr(line, ' ');
	char *verb = sp ? g_strndup(line, (gsize)(sp - line)) : g_strdup(line);
	char **tok = NULL;
	size_t i;

	/* Regulator writes made before this request come first, and the
	 * time the CM4's disk writes took (twin_msd.c). */
	twin_sysfs_drain(c->t);
	twin_msd_tick(c->t);

	for (i = 0; i < G_N_ELEMENTS(twin_gpio_verbs); i++)
		if (!strcmp(verb, twin_gpio_verbs[i].verb))
			break;
	if (i < G_N_ELEMENTS(twin_gpio_verbs))
		tok = twin_gpio_split(sp ? sp + 1 : NULL,
				      twin_gpio_verbs[i].nargs,
				      twin_gpio_verbs[i].last_rest);
	if (!tok) {
		char *esc = g_strescape(line, NULL);

		twin_conn_violation(c, "EINVAL", "request",
				    "malformed request \"%s\"", esc);
		g_free(esc);
	} else if (!strcmp(verb, "HELLO")) {
		if (c->program) {
			twin_conn_violation(c, "EINVAL", "request",
					    "HELLO sent twice");
		} else {
			c->program = g_strdup(tok[0]);
			twin_conn_reply(c, "OK tp-twin %d", TWIN_PROTOCOL_VERSION);
		}
	} else if (!c->program) {
		twin_conn_violation(c, "EPROTO", "request",
				    "%s before HELLO", verb);
	} else {
		twin_gpio_request(c, verb, tok);
	}
	g_strfreev(tok);
	g_free(verb);
}

static void twin_conn_close(struct twin_conn *c)
{
	struct twin *t = c->t;

	/* The kernel frees a dead process's lines in no particular order;
	 * chip and offset order keeps the timeline repeatable. */
	for (unsigned ch = 0; ch < t->board.nchips; ch++)
		for (unsigned i = 0; i < t->board.chips[ch].nlines; i++)
			if (t->board.chips[ch].lines[i].owner == c)
				twin_conn_release(c, &t->board.chips[ch].lines[i]);
	if (c->src)
		g_source_remove(c->src);
	close(c->fd);
	t->conns = g_list_remove(t->conns, c);
	g_string_free(c->in, TRUE);
	g_free(c->program);
	g_free(c);
}

/* Read what is there and serve every complete line. Returns false once
 * the connection is gone (it has been freed). */
static bool twin_conn_serve(struct twin_conn *c)
{
	char buf[1024];
	bool eof = false;

	for (;;) {
		ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n > 0) {
			g_string_append_len(c->in, buf, n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		eof = n == 0 || errno != EAGAIN;
		break;
	}

	for (;;) {
		char *nl = memchr(c->in->str, '\n', c->in->len);
		char *line;
		size_t len;

		if (c->dead)
			break;
		if (!nl) {
			if (c->in->len > TWIN_MAX_REQUEST) {
				twin_conn_violation(c, "EINVAL", "request",
						    "request longer than %d bytes",
						    TWIN_MAX_REQUEST);
				c->dead = true;
			}
			break;
		}
		len = (size_t)(nl - c->in->str);
		line = g_strndup(c->in->str, len);
		/* Control bytes (a CR from a "\r\n" client, a NUL) would
		 * otherwise end up inside names and labels. */
		for (size_t i = 0; i < len; i++) {
			if ((unsigned char)c->in->str[i] < 0x20 ||
			    c->in->str[i] == 0x7f) {
				twin_conn_violation(c, "EINVAL", "request",
					"control byte 0x%02x inside a request",
					(unsigned char)c->in->str[i]);
				g_free(line);
				line = NULL;
				break;
			}
		}
		g_string_erase(c->in, 0, (gssize)len + 1);
		if (line)
			twin_gpio_line_in(c, line);
		g_free(line);
	}

	if (eof && c->in->len && !c->dead)
		twin_conn_violation(c, "EINVAL", "request",
				    "connection closed inside a request (no newline)");
	if (eof || c->dead) {
		twin_conn_close(c);
		return false;
	}
	return true;
}

static gboolean twin_conn_ready(gint fd, GIOCondition cond, gpointer data)
{
	struct twin_conn *c = data;

	(void)fd;
	(void)cond;
	if (!twin_conn_serve(c))
		return G_SOURCE_REMOVE;	/* c->src was removed with c */
	return G_SOURCE_CONTINUE;
}

int twin_gpio_peers(struct twin *t, int *pids, int max)
{
	int n = 0;

	for (GList *l = t->conns; l && n < max; l = l->next) {
		struct twin_conn *c = l->data;
		struct ucred cr;
		socklen_t len = sizeof(cr);

		if (!c->dead && !getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) &&
		    cr.pid > 0)
			pids[n++] = cr.pid;
	}
	return n;
}

static bool twin_gpio_accept_one(struct twin *t)
{
	struct twin_conn *c;
	int cfd;

	cfd = accept4(t->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (cfd < 0)
		return false;
	c = g_new0(struct twin_conn, 1);
	c->t = t;
	c->fd = cfd;
	c->id = ++t->conn_seq;
	c->in = g_string_new(NULL);
	c->src = g_unix_fd_add(cfd, G_IO_IN | G_IO_HUP | G_IO_ERR,
			       twin_conn_ready, c);
	t->conns = g_list_append(t->conns, c);
	return true;
}

static gboolean twin_gpio_accept(gint fd, GIOCondition cond, gpointer data)
{
	(void)fd;
	(void)cond;
	twin_gpio_accept_one(data);
	return G_SOURCE_CONTINUE;
}

int twin_gpio_start(struct twin *t)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	GError *err = NULL;
	int rc;

	t->sock_dir = g_dir_make_tmp("tp-twin-XXXXXX", &err);
	if (!t->sock_dir) {
		fprintf(stderr, "tp-twin: %s\n", err->message);
		g_error_free(err);
		return -EIO;
	}
	t->sock_path = g_build_filename(t->sock_dir, "gpio.sock", NULL);
	if (strlen(t->sock_path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "tp-twin: socket path too long: %s (set TMPDIR)\n",
			t->sock_path);
		return -ENAMETOOLONG;
	}
	g_strlcpy(sa.sun_path, t->sock_path, sizeof(sa.sun_path));

	t->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (t->listen_fd < 0 ||
	    bind(t->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(t->listen_fd, 64)) {
		rc = -errno;
		fprintf(stderr, "tp-twin: socket %s: %s\n", t->sock_path,
			g_strerror(-rc));
		return rc;
	}
	t->listen_src = g_unix_fd_add(t->listen_fd, G_IO_IN, twin_gpio_accept, t);
	return 0;
}

/*
 * The command has exited: serve what its processes sent before they died,
 * in connection order, then close everything (a process the command left
 * behind loses its lines now, as it would when the twin goes away).
 */
void twin_gpio_flush(struct twin *t)
{
	/* Connections still in the backlog were made before the exit too. */
	while (t->listen_fd >= 0 && twin_gpio_accept_one(t))
		;
	while (t->conns) {
		struct twin_conn *c = t->conns->data;

		if (twin_conn_serve(c))
			twin_conn_close(c);
	}
}

void twin_gpio_stop(struct twin *t)
{
	while (t->conns)
		twin_conn_close(t->conns->data);
	if (t->listen_src)
		g_source_remove(t->listen_src);
	t->listen_src = 0;
	if (t->listen_fd >= 0)
		close(t->listen_fd);
	t->listen_fd = -1;
	if (t->sock_path)
		(void)unlink(t->sock_path);
	if (t->sock_dir)
		(void)rmdir(t->sock_dir);
	g_free(t->sock_path);
	g_free(t->sock_dir);
	t->sock_path = t->sock_dir = NULL;
}
