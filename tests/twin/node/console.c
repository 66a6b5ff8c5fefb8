// SPDX-License-Identifier: MIT
/*
 * A node's serial console on the BMC side (docs/twin.md, "Nodes that
 * boot"). On the board each node's UART reaches the BMC; here the VM's
 * ttyS0 reaches the twin through QEMU's stdio, and the twin passes it on:
 *
 * - every byte the node sends is appended to <root>/console/slotN.log,
 *   the complete record tests read;
 * - and written to a pseudo-terminal whose slave dev/ttyS<N> (in the fake
 *   root) links to, so a BMC-side program can read and write it as a UART;
 *   what that program writes goes to the node's ttyS0.
 *
 * Like a UART with nobody listening, the pty drops what does not fit in
 * its buffer; the log never does. The twin holds the slave open itself so
 * that the master reads no hang-up while no program has it open, and puts
 * it in raw mode, or the line discipline would echo the node's output back
 * into the node.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <glib-unix.h>

#include "node.h"

static int twin_console_put(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* A BMC-side program wrote to dev/ttyS<N>: on to the node, if it runs. */
static gboolean twin_console_in(gint fd, GIOCondition cond, gpointer data)
{
	struct twin_node *nd = data;
	char buf[4096];
	ssize_t n = read(fd, buf, sizeof(buf));

	(void)cond;
	if (n > 0 && nd->to_node >= 0)
		twin_console_put(nd->to_node, buf, (size_t)n);
	return G_SOURCE_CONTINUE;
}

int twin_console_open(struct twin *t, unsigned slot)
{
	struct twin_node *nd = &t->nodes->slot[slot];
	char *dir = g_build_filename(t->root, "console", NULL);
	char rel[32], name[24], pts[64];
	char *log = NULL, *tty = NULL;
	struct termios tio;
	int rc = 0;

	snprintf(name, sizeof(name), "slot%u.log", slot);
	snprintf(rel, sizeof(rel), "dev/ttyS%u", slot);
	log = g_build_filename(dir, name, NULL);
	tty = g_build_filename(t->root, rel, NULL);
	if (g_mkdir_with_parents(dir, 0755)) {
		rc = -errno;
		goto out;
	}
	nd->log_fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (nd->log_fd < 0) {
		rc = -errno;
		goto out;
	}
	nd->pty = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (nd->pty < 0 || grantpt(nd->pty) || unlockpt(nd->pty) ||
	    ptsname_r(nd->pty, pts, sizeof(pts))) {
		rc = -errno;
		goto out;
	}
	nd->pty_slave = open(pts, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (nd->pty_slave < 0 || tcgetattr(nd->pty_slave, &tio)) {
		rc = -errno;
		goto out;
	}
	cfmakeraw(&tio);
	if (tcsetattr(nd->pty_slave, TCSANOW, &tio) ||
	    fcntl(nd->pty, F_SETFL, O_NONBLOCK) ||
	    (unlink(tty) && errno != ENOENT) || symlink(pts, tty)) {
		rc = -errno;
		goto out;
	}
	nd->pty_src = g_unix_fd_add(nd->pty, G_IO_IN, twin_console_in, nd);
out:
	if (rc)
		fprintf(stderr, "tp-twin: console of slot %u: %s\n", slot,
			g_strerror(-rc));
	g_free(dir);
	g_free(log);
	g_free(tty);
	return rc;
}

/* From the node (or the twin's boot loader) to the BMC side. */
void twin_console_write(struct twin *t, unsigned slot, const char *buf,
			size_t len)
{
	struct twin_node *nd = &t->nodes->slot[slot];

	if (nd->log_fd >= 0 && twin_console_put(nd->log_fd, buf, len))
		fprintf(stderr, "tp-twin: console log of slot %u: %s\n", slot,
			g_strerror(errno));
	/* Non-blocking: a full pty buffer drops the rest, as a UART would. */
	if (nd->pty >= 0)
		while (len) {
			ssize_t n = write(nd->pty, buf, len);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			buf += n;
			len -= (size_t)n;
		}
}

void twin_console_attach(struct twin *t, unsigned slot, int to_node)
{
	t->nodes->slot[slot].to_node = to_node;
}

void twin_console_close(struct twin *t, unsigned slot)
{
	struct twin_node *nd = &t->nodes->slot[slot];

	if (nd->pty_src)
		g_source_remove(nd->pty_src);
	nd->pty_src = 0;
	if (nd->pty >= 0)
		close(nd->pty);
	if (nd->pty_slave >= 0)
		close(nd->pty_slave);
	if (nd->log_fd >= 0)
		close(nd->log_fd);
	nd->pty = nd->pty_slave = nd->log_fd = -1;
}
