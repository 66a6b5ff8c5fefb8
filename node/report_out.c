// SPDX-License-Identifier: MIT
/*
 * Where the helper's reports go (docs/node-helper.md §5). The BMC reads
 * every node's serial console, so each event is one line on the console
 * device, the last one named in /sys/class/tty/console/active (the kernel
 * lists the console= devices there; the last is /dev/console's). Each line
 * also goes to stderr, which systemd keeps in the node's journal.
 *
 * Backends sit behind struct tp_node_reporter: the plain one speaks until
 * node.conf is read, the signed one (common/report.h) from then on; no step
 * knows which.
 */
#include "node.h"
#include "common/err.h"
#include "common/report.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdint.h>
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
 * The signed backend (docs/node-helper.md §5): each event is one report
 * line (docs/report-protocol.md §2) on the console, authenticated with the
 * slot's report key, and the same event as a plain line on stderr, so the
 * node's journal stays readable. The frame is not secret; the key is, and it
 * lives only in this struct until close wipes it.
 */
struct signed_out {
	struct plain out;        /* first: close() treats ctx as a struct plain */
	struct tp_report_key key;
	unsigned slot;
	char id[40];             /* this start's run id (report-protocol.md §6) */
	uint64_t seq;            /* the last line's number; the first line is 1 */
};

static struct signed_out signed_state = { .out.fd = -1 };

/*
 * The protocol has five events (report-protocol.md §3) and `done` there ends
 * the helper's work; the helper has more words (node-helper.md §5). Each
 * maps to the protocol's nearest event, and a word the event does not carry
 * goes in front of the text, so nothing the plain line says is lost.
 */
static const char *line_event(const char *step, const char *event, const char **prefix)
{
	*prefix = "";
	if (!strcmp(event, "start") || !strcmp(event, "progress") || !strcmp(event, "fail"))
		return event;
	if (!strcmp(event, "done"))
		return strcmp(step, "helper") ? "ok" : "done";
	*prefix = event;                 /* skip, redo, note, warn, pause */
	return strcmp(event, "skip") ? "progress" : "ok";
}

static int signed_emit(void *ctx, const char *step, const char *event, const char *text)
{
	struct signed_out *s = ctx;
	struct tp_report r = { .slot = s->slot };
	char line[TP_REPORT_LINE_MAX + 2], full[1100];
	const char *prefix;
	int n, rc = 0;

	snprintf(r.id, sizeof(r.id), "%s", s->id);
	snprintf(r.step, sizeof(r.step), "%s", step);
	snprintf(r.event, sizeof(r.event), "%s", line_event(step, event, &prefix));
	snprintf(full, sizeof(full), "%s%s%s", prefix, *prefix ? ": " : "", text);
	tp_report_set_text(&r, full);
	/* One number per line written or not: a line that fails to format
	 * still uses its seq, and the window allows gaps (§6). */
	r.seq = ++s->seq;
	n = tp_report_format(line, sizeof(line) - 1, &s->key, &r);
	if (n < 0) {
		fprintf(stderr, "tpkit-node: cannot frame a report line: %s\n", tp_err_msg());
		rc = n;
	} else if (s->out.fd >= 0) {
		line[n++] = '\n';
		if (write_all(s->out.fd, line, (size_t)n) < 0) {
			rc = -errno;
			fprintf(stderr, "tpkit-node: cannot write to %s: %s; reporting on stderr only\n",
				s->out.dev, strerror(errno));
			close(s->out.fd);
			s->out.fd = -1;
		}
	}
	/* The journal's copy: plain, with the helper's own event word. */
	n = snprintf(full, sizeof(full), "tpkit-node: %s %s%s%s\n", step, event,
		     *text ? " " : "", text);
	if (n > 0 && (size_t)n >= sizeof(full)) {
		n = sizeof(full) - 1;
		full[n - 1] = '\n';
	}
	if (n > 0)
		write_all(2, full, (size_t)n);
	return rc;
}

int tp_node_reporter_signed(struct tp_node_reporter *r, const struct tp_node_conf *nc)
{
	struct signed_out *s = &signed_state;
	char why[TP_PATH_MAX + 64];
	int rc;

	/* The helper is linked statically (node-helper.md §7): never let
	 * libcrypto read the node's openssl.cnf, which could ask it to load
	 * modules a static binary cannot; HMAC-SHA256 needs none. */
	OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL);
	/* The key is never quoted in a message (report-protocol.md §5). */
	if (tp_report_key_from_hex(&s->key, nc->report_key) < 0)
		return tp_err_set(-EINVAL, "node.conf's report_key is not a valid key "
					   "(64 hex digits)");
	/* A new id for every start, seq from 1: a restarted helper never reuses
	 * an (id, seq) pair and keeps no counter on disk (§6). */
	rc = tp_report_id_new(s->id, sizeof(s->id));
	if (rc < 0) {
		tp_report_key_wipe(&s->key);
		return rc;
	}
	s->slot = nc->slot;
	s->seq = 0;
	if (open_console(&s->out, why, sizeof(why)) < 0)
		fprintf(stderr, "tpkit-node: no console (%s): reporting on stderr only\n", why);
	r->emit = signed_emit;
	r->ctx = s;
	return 0;
}

void tp_node_reporter_close(struct tp_node_reporter *r)
{
	struct plain *p = r->ctx;

	if (p && p->fd >= 0) {
		close(p->fd);
		p->fd = -1;
	}
	if (r->ctx == &signed_state)
		tp_report_key_wipe(&signed_state.key);
	r->ctx = NULL;
}

void tp_node_report(const struct tp_node_reporter *r, const char *step, const char *event,
		    const char *fmt, ...)
{
	/* Larger than a report's text: the signed backend cuts it visibly, with
	 * "..." (tp_report_set_text), rather than vsnprintf silently. */
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	r->emit(r->ctx, step, event, text);
}
