// SPDX-License-Identifier: MIT
/*
 * A node's console on the BMC side (docs/report-protocol.md §8): read the
 * slot's UART without blocking, split lines, check each as a report, keep
 * the last ones. Two readers of one tty split its bytes between them
 * (hardware.md §8): this is the only reader tpkit has, and the caller must
 * make sure bmcd is not reading the same UART.
 */
#include "console.h"
#include "common/err.h"
#include "common/log.h"
#include "common/path.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void tp_console_init(struct tp_console *c, unsigned slot, const struct tp_report_key *key)
{
	memset(c, 0, sizeof(*c));
	c->slot = slot;
	c->fd = -1;
	c->key = *key;
}

int tp_console_open(struct tp_console *c, unsigned slot, const struct tp_report_key *key)
{
	struct termios tio;
	int rc;

	tp_console_init(c, slot, key);
	rc = tp_path(c->path, sizeof(c->path), "/dev/ttyS%u", slot);
	if (rc < 0)
		return tp_err_set(rc, "slot %u: the UART's path is too long", slot);
	/* Read-only: tpkit console never sends the node anything. */
	c->fd = open(c->path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (c->fd < 0)
		return tp_err_set(-errno, "slot %u: cannot open its UART %s: %s", slot, c->path,
				  strerror(errno));
	if (!isatty(c->fd))
		return 0; /* the twin's plain file (docs/twin.md, "The fake root") */
	if (tcgetattr(c->fd, &c->saved) < 0)
		goto fail;
	c->restore = true;
	tio = c->saved;
	/* Raw: no echo of the node's output back to it, no line editing,
	 * every byte as it comes; 115200 8N1 as bmcd and picocom use it
	 * (hardware.md §8). */
	cfmakeraw(&tio);
	tio.c_cflag |= CLOCAL | CREAD;
	tio.c_cc[VMIN] = 0;
	tio.c_cc[VTIME] = 0;
	if (cfsetispeed(&tio, B115200) < 0 || cfsetospeed(&tio, B115200) < 0 ||
	    tcsetattr(c->fd, TCSANOW, &tio) < 0)
		goto fail;
	return 0;
fail:
	rc = tp_err_set(-errno, "slot %u: cannot set up the UART %s: %s", slot, c->path,
			strerror(errno));
	tp_console_close(c);
	return rc;
}

void tp_console_printable(const char *in, size_t len, char *out, size_t size, bool keep_ctl)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;

	if (!size)
		return;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)in[i];
		bool plain = (ch >= 0x20 && ch <= 0x7e) || ch == '\t' ||
			     (keep_ctl && ch && ch < 0x20);

		if (n + (plain ? 1 : 4) >= size)
			break;
		if (plain) {
			out[n++] = (char)ch;
		} else {
			out[n++] = '\\';
			out[n++] = 'x';
			out[n++] = hex[ch >> 4];
			out[n++] = hex[ch & 15];
		}
	}
	out[n] = '\0';
}

static void remember(struct tp_console *c, const char *line, size_t len)
{
	memcpy(c->ring[c->ring_next], line, len);
	c->ring[c->ring_next][len] = '\0';
	c->ring_next = (c->ring_next + 1) % TP_CONSOLE_RING;
	if (c->ring_count < TP_CONSOLE_RING)
		c->ring_count++;
}

size_t tp_console_recent(const struct tp_console *c, unsigned n, char *buf, size_t size)
{
	size_t used = 0;

	if (!size)
		return 0;
	buf[0] = '\0';
	if (n > c->ring_count)
		n = c->ring_count;
	for (unsigned i = 0; i < n; i++) {
		unsigned at = (c->ring_next + TP_CONSOLE_RING - n + i) % TP_CONSOLE_RING;
		char line[4 * TP_CONSOLE_LINE_MAX + 1];
		int w;

		tp_console_printable(c->ring[at], strlen(c->ring[at]), line, sizeof(line), false);
		w = snprintf(buf + used, size - used, "%s\n", line);
		if (w < 0 || (size_t)w >= size - used) {
			buf[used] = '\0';
			break;
		}
		used += (size_t)w;
	}
	return used;
}

/* One whole line (without \n): classify it and pass it on. */
static int emit(struct tp_console *c, bool cut, tp_console_fn fn, void *cookie)
{
	struct tp_console_line l = { .kind = TP_CONSOLE_LINE, .cut = cut };
	size_t len = c->plen;
	int rc;

	c->plen = 0;
	if (len && c->part[len - 1] == '\r')
		len--;
	c->part[len] = '\0';
	l.text = c->part;
	l.len = len;
	remember(c, c->part, len);
	c->lines++;
	rc = tp_report_parse(c->part, len, &c->key, &l.report);
	/* Only slot N's node holds slot N's key, so this is a node whose
	 * node.conf disagrees with its key: not to be believed either. */
	if (rc == 0 && l.report.slot != c->slot)
		rc = tp_err_set(-EPERM, "report line: says slot %u, on slot %u's console",
				l.report.slot, c->slot);
	if (rc == 0) {
		if (tp_report_window_accept(&c->window, &l.report) == 0) {
			l.kind = TP_CONSOLE_REPORT;
			c->reports++;
		} else {
			l.kind = TP_CONSOLE_REPLAYED;
			l.reason = tp_err_msg();
			c->replayed++;
		}
	} else if (rc == -EPERM) {
		l.kind = TP_CONSOLE_FORGED;
		l.reason = tp_err_msg();
		c->forged++;
	} else if (rc == -EBADMSG) {
		l.kind = TP_CONSOLE_GARBLED;
		l.reason = tp_err_msg();
		c->garbled++;
	}
	/* A forged or replayed line is someone on the node (or on the wire)
	 * speaking for the helper: worth the BMC's log, not only the caller's
	 * output (docs/report-protocol.md §8). The line itself is kept out:
	 * its text is the forger's. */
	if (l.kind == TP_CONSOLE_FORGED || l.kind == TP_CONSOLE_REPLAYED)
		TP_WARN("slot %u console: a %s report line rejected: %s", c->slot,
			l.kind == TP_CONSOLE_FORGED ? "forged" : "replayed", l.reason);
	rc = fn(cookie, &l);
	return rc < 0 ? rc : 0;
}

int tp_console_feed(struct tp_console *c, const char *buf, size_t len, tp_console_fn fn,
		    void *cookie)
{
	for (size_t i = 0; i < len; i++) {
		int rc = 0;

		if (buf[i] == '\n') {
			rc = emit(c, false, fn, cookie);
		} else {
			c->part[c->plen++] = buf[i];
			/* A line with no end in sight (a hung program spewing, a
			 * baud mismatch): pass the part on, go on with the rest. */
			if (c->plen == TP_CONSOLE_LINE_MAX)
				rc = emit(c, true, fn, cookie);
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

int tp_console_flush(struct tp_console *c, tp_console_fn fn, void *cookie)
{
	return c->plen ? emit(c, false, fn, cookie) : 0;
}

int tp_console_read(struct tp_console *c, tp_console_fn fn, void *cookie)
{
	char buf[4096];
	ssize_t n;
	int rc;

	do
		n = read(c->fd, buf, sizeof(buf));
	while (n < 0 && errno == EINTR);
	if (n == 0 || (n < 0 && errno == EAGAIN))
		return 0; /* a plain file's end, or a UART with nothing new */
	if (n < 0 && errno == EIO)
		return tp_err_set(-EPIPE, "slot %u: the UART %s hung up", c->slot, c->path);
	if (n < 0)
		return tp_err_set(-errno, "slot %u: reading the UART %s: %s", c->slot, c->path,
				  strerror(errno));
	rc = tp_console_feed(c, buf, (size_t)n, fn, cookie);
	return rc < 0 ? rc : (int)n;
}

void tp_console_close(struct tp_console *c)
{
	if (c->fd >= 0) {
		if (c->restore)
			tcsetattr(c->fd, TCSANOW, &c->saved);
		close(c->fd);
	}
	c->fd = -1;
	c->restore = false;
	tp_report_key_wipe(&c->key);
}
