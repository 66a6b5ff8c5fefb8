// SPDX-License-Identifier: MIT
/*
 * Where the helper's reports go (docs/node-helper.md §5). The BMC reads
 * every node's serial console, so each event is one line on the console
 * device, the last one named in /sys/class/tty/console/active (the kernel
 * lists the console= devices there; the last is /dev/console's). Each line
 * also goes to stderr, which systemd keeps in the node's journal.
 *
 * Backends sit behind struct tp_node_reporter so that the signed format
 * (common/report.h, HMAC over a sequence number and the payload) replaces
 * the plain one without touching a step.
 */
#include "node.h"
#include "common/err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct plain {
	int fd;                  /* the console device, or -1: stderr only */
	char dev[TP_PATH_MAX];
};

static struct plain plain_state = { .fd = -1 };

/* <root>/sys/class/tty/console/active -> <root>/dev/<last name>. */
static int open_console(struct plain *p, char *why, size_t wsize)
{
	char active[256], file[TP_PATH_MAX], *name, *tok, *save = NULL;
	ssize_t n;

	if (tp_path(file, sizeof(file), "/sys/class/tty/console/active") < 0)
		return -ENAMETOOLONG;
	n = tp_file_read("/sys/class/tty/console/active", active, sizeof(active));
	if (n < 0) {
		snprintf(why, wsize, "%s: %s", file, tp_err_msg());
		return (int)n;
	}
	name = NULL;
	for (tok = strtok_r(active, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save))
		name = tok;
	if (!name || strchr(name, '/') || !strcmp(name, "..")) {
		snprintf(why, wsize, "%s names no console", file);
		return -ENOENT;
	}
	if (tp_path(p->dev, sizeof(p->dev), "/dev/%s", name) < 0)
		return -ENAMETOOLONG;
	/* Never O_CREAT: in a fake root as on a node, a missing device is a
	 * console we do not have, not a file to make. */
	p->fd = open(p->dev, O_WRONLY | O_APPEND | O_NOCTTY | O_CLOEXEC);
	if (p->fd < 0) {
		snprintf(why, wsize, "cannot open %s: %s", p->dev, strerror(errno));
		return -errno;
	}
	return 0;
}

static int write_all(int fd, const char *s, size_t len)
{
	while (len) {
		ssize_t w = write(fd, s, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -errno;
		s += w;
		len -= (size_t)w;
	}
	return 0;
}

static int plain_emit(void *ctx, const char *step, const char *event, const char *text)
{
	struct plain *p = ctx;
	char line[512];
	int n, rc = 0;

	n = snprintf(line, sizeof(line), "tpkit-node: %s %s%s%s\n", step, event,
		     *text ? " " : "", text);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	if (p->fd >= 0 && write_all(p->fd, line, (size_t)n) < 0) {
		rc = -errno;
		fprintf(stderr, "tpkit-node: cannot write to %s: %s; reporting on stderr only\n",
			p->dev, strerror(errno));
		close(p->fd);
		p->fd = -1;
	}
	write_all(2, line, (size_t)n);
	return rc;
}

int tp_node_reporter_plain(struct tp_node_reporter *r, const struct tp_node_conf *nc)
{
	char why[TP_PATH_MAX + 64];

	(void)nc;
	if (open_console(&plain_state, why, sizeof(why)) < 0)
		fprintf(stderr, "tpkit-node: no console (%s): reporting on stderr only\n", why);
	r->emit = plain_emit;
	r->ctx = &plain_state;
	return 0;
}

/*
 * SIGNED BACKEND GOES HERE (wired at the merge with common/report.c):
 *
 *   struct signed_out { struct plain out; struct tp_report_key key; uint64_t seq; };
 *
 *   static int signed_emit(void *ctx, const char *step, const char *event,
 *                          const char *text)
 *   {
 *           struct tp_report r = { .slot = nc->slot, .seq = ++s->seq };
 *           copy nc->instance_id -> r.id, step, event, text (truncated);
 *           n = tp_report_format(buf, sizeof(buf), &s->key, &r);
 *           write buf to the console fd, and a plain line to stderr (the
 *           node's journal never gets the MAC'ed frame's key material; the
 *           frame itself is not secret);
 *   }
 *
 *   int tp_node_reporter_signed(struct tp_node_reporter *r,
 *                               const struct tp_node_conf *nc)
 *   -- loads the key from nc->report_key (64 hex digits) and the last
 *      sequence number from the journal directory, so a restart never
 *      reuses one (the BMC's replay window rejects it).
 *
 * main.c picks the backend in one place (pick_reporter()), after node.conf
 * is read; a node.conf error is reported by the plain backend.
 */

void tp_node_reporter_close(struct tp_node_reporter *r)
{
	struct plain *p = r->ctx;

	if (p && p->fd >= 0) {
		close(p->fd);
		p->fd = -1;
	}
}

void tp_node_report(const struct tp_node_reporter *r, const char *step, const char *event,
		    const char *fmt, ...)
{
	char text[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	r->emit(r->ctx, step, event, text);
}
