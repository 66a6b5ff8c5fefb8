// SPDX-License-Identifier: MIT
/*
 * The board's Ethernet switch (docs/twin.md, "Nodes that boot"): one
 * vde_switch for the whole twin, its control socket in the twin's root.
 * Node VMs plug into it and see each other, never the host's network.
 *
 * vde_switch reads commands on its standard input and leaves when that
 * ends, so the twin holds the write end of a pipe: closing it, or the twin
 * dying, takes the switch down with it. The twin waits for the control
 * socket (inotify), so a VM never races the switch.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>

#include "node.h"
#include "../twin_usb.h"

#define TWIN_SWITCH_WAIT_MS	10000

const char *twin_switch_sock(struct twin *t)
{
	return t->nodes->sw_dir;
}

/* Until DIR/ctl exists, or the switch has exited, or the time is up. */
static int twin_switch_wait(struct twin *t, const char *dir)
{
	char *ctl = g_build_filename(dir, "ctl", NULL);
	int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK), rc = -ETIMEDOUT;
	gint64 end = g_get_monotonic_time() + TWIN_SWITCH_WAIT_MS * 1000;

	if (fd < 0 || inotify_add_watch(fd, dir, IN_CREATE | IN_MOVED_TO) < 0) {
		rc = -errno;
		goto out;
	}
	while (g_get_monotonic_time() < end) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		char buf[4096];
		int status;

		if (g_file_test(ctl, G_FILE_TEST_EXISTS)) {
			rc = 0;
			break;
		}
		if (waitpid(t->nodes->sw_pid, &status, WNOHANG) == t->nodes->sw_pid) {
			t->nodes->sw_pid = 0;
			rc = -ECHILD;
			break;
		}
		/* The timeout only bounds a switch that neither starts nor
		 * exits; the wake-up is the socket's creation. */
		if (poll(&p, 1, 100) > 0)
			while (read(fd, buf, sizeof(buf)) > 0)
				;
	}
out:
	if (fd >= 0)
		close(fd);
	g_free(ctl);
	return rc;
}

static void twin_switch_child_setup(gpointer data)
{
	(void)data;
	prctl(PR_SET_PDEATHSIG, SIGKILL);	/* never outlive the twin */
}

int twin_switch_start(struct twin *t)
{
	char *dir = g_build_filename(t->root, "switch", NULL);
	char *argv[] = { "vde_switch", "-s", dir, NULL };
	char **env;
	GError *err = NULL;
	int rc, null;

	/* The directory first, so the wait can watch it. */
	if (g_mkdir_with_parents(dir, 0700)) {
		rc = -errno;
		fprintf(stderr, "tp-twin: %s: %s\n", dir, g_strerror(errno));
		g_free(dir);
		return rc;
	}
	/* /dev/null opened here, not by GLib in the child: see twin_devnull(). */
	null = twin_devnull();
	env = twin_usb_tool_env();
	if (null < 0 ||
	    !g_spawn_async_with_pipes_and_fds(NULL, (const char *const *)argv,
					      (const char *const *)env, G_SPAWN_SEARCH_PATH |
					      G_SPAWN_DO_NOT_REAP_CHILD, twin_switch_child_setup,
					      NULL, -1, null, null, NULL, NULL, 0,
					      &t->nodes->sw_pid, &t->nodes->sw_in, NULL, NULL,
					      &err)) {
		if (null >= 0)
			close(null);
		else
			err = g_error_new_literal(G_SPAWN_ERROR, G_SPAWN_ERROR_FAILED,
						  "cannot open /dev/null");
		g_strfreev(env);
		fprintf(stderr, "tp-twin: cannot run vde_switch: %s\n", err->message);
		g_error_free(err);
		g_free(dir);
		return -ENOEXEC;
	}
	close(null);
	g_strfreev(env);
	t->nodes->sw_dir = dir;
	rc = twin_switch_wait(t, dir);
	if (rc) {
		fprintf(stderr, "tp-twin: vde_switch did not come up in %s: %s\n",
			dir, rc == -ECHILD ? "it exited" : g_strerror(-rc));
		twin_switch_stop(t);
	}
	return rc;
}

void twin_switch_stop(struct twin *t)
{
	GPid pid = t->nodes->sw_pid;

	if (t->nodes->sw_in > 0)
		close(t->nodes->sw_in);	/* EOF: the switch leaves */
	t->nodes->sw_in = -1;
	if (pid > 0) {
		int fd = (int)syscall(SYS_pidfd_open, pid, 0);
		struct pollfd p = { .fd = fd, .events = POLLIN };

		/* Readable when it has exited; SIGKILL if it lingers. */
		if (fd < 0 || poll(&p, 1, TWIN_SWITCH_WAIT_MS) <= 0)
			kill(pid, SIGKILL);
		if (fd >= 0)
			close(fd);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	t->nodes->sw_pid = 0;
	g_free(t->nodes->sw_dir);
	t->nodes->sw_dir = NULL;
}
