// SPDX-License-Identifier: MIT
/*
 * tp-twin: run one command against a simulated Turing Pi 2 board
 * (docs/twin.md). Takes the options (twin_opts.c), builds the fake root,
 * serves GPIO, runs the command under a GLib main loop and reports when it
 * exits.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <glib-unix.h>

#include "twin.h"
#include "twin_usb.h"

static void twin_child_exited(GPid pid, gint status, gpointer data)
{
	struct twin *t = data;

	g_spawn_close_pid(pid);
	t->child_done = true;
	if (WIFEXITED(status))
		t->child_status = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		t->child_status = 128 + WTERMSIG(status);
	else
		t->child_status = TWIN_EXIT_INTERNAL;
	g_main_loop_quit(t->loop);
}

/*
 * The twin stands in for a board, not a supervisor: a signal meant for the
 * run goes to the command, and the twin reports when it exits. SIGINT is
 * not passed on: a terminal already sends it to the command, which shares
 * the twin's process group, and a second copy could cut its cleanup short.
 */
static void twin_signal_forward(struct twin *t, int sig)
{
	if (!t->child_done)
		kill(t->child, sig);
}

static gboolean twin_signal_term(gpointer data)
{
	twin_signal_forward(data, SIGTERM);
	return G_SOURCE_CONTINUE;
}

static gboolean twin_signal_hup(gpointer data)
{
	twin_signal_forward(data, SIGHUP);
	return G_SOURCE_CONTINUE;
}

static gboolean twin_signal_int(gpointer data)
{
	(void)data;
	return G_SOURCE_CONTINUE;	/* wait for the command instead */
}

static int twin_child_spawn(struct twin *t)
{
	char **env = g_get_environ();
	char *gpio = g_strconcat("sim:", t->sock_path, NULL);
	GError *err = NULL;
	gboolean ok;

	env = g_environ_setenv(env, "TPKIT_ROOT", t->root, TRUE);
	env = g_environ_setenv(env, "TPKIT_GPIO", gpio, TRUE);
	env = g_environ_setenv(env, "TPKIT_CLOCK", gpio, TRUE);
	env = g_environ_setenv(env, "TPKIT_TWIN", "1", TRUE);
	env = twin_usb_child_env(t, env);
	/* GLib closes every other descriptor in the child, so the socket
	 * and the inotify fd do not leak into the command. */
	ok = g_spawn_async(NULL, t->opt.command, env,
			   G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD |
			   G_SPAWN_CHILD_INHERITS_STDIN,
			   NULL, NULL, &t->child, &err);
	g_strfreev(env);
	g_free(gpio);
	if (!ok) {
		fprintf(stderr, "tp-twin: cannot run %s: %s\n",
			t->opt.command[0], err->message);
		g_error_free(err);
		return -ENOEXEC;
	}
	g_child_watch_add(t->child, twin_child_exited, t);
	return 0;
}

/* After the command: apply its last writes, then report. */
static int twin_finish(struct twin *t)
{
	int rc = 0;

	twin_node_stop_all(t);	/* their ends go into the timeline */
	twin_gpio_flush(t);
	twin_sysfs_drain(t);
	twin_usb_finish(t);
	if (t->opt.timeline_file)
		rc |= twin_timeline_write(t, t->opt.timeline_file);
	else if (!t->opt.quiet)
		rc |= twin_timeline_write(t, NULL);
	if (t->opt.state_file)
		rc |= twin_board_state_write(t, t->opt.state_file);
	if (t->violations)
		fprintf(stderr, "tp-twin: %u violation%s: exit %d\n",
			t->violations, t->violations == 1 ? "" : "s",
			TWIN_EXIT_VIOLATION);
	return rc;
}

static int twin_run(struct twin *t)
{
	guint sig[3];
	int rc;

	rc = twin_board_init(t);
	if (rc)
		return TWIN_EXIT_USAGE;	/* a --hold or --fail-set line */
	/* configfs before USB: its mount runs fusermount3 while the twin
	 * has one thread and no testbed (twin_configfs.c). */
	if (twin_root_build(t) || twin_configfs_start(t) || twin_sysfs_watch(t) ||
	    twin_gpio_start(t) || twin_usb_start(t) || twin_node_init(t))
		return TWIN_EXIT_INTERNAL;
	twin_sched_real_start(t);
	if (twin_child_spawn(t))
		return TWIN_EXIT_NOEXEC;

	sig[0] = g_unix_signal_add(SIGTERM, twin_signal_term, t);
	sig[1] = g_unix_signal_add(SIGINT, twin_signal_int, t);
	sig[2] = g_unix_signal_add(SIGHUP, twin_signal_hup, t);
	g_main_loop_run(t->loop);
	for (size_t i = 0; i < G_N_ELEMENTS(sig); i++)
		g_source_remove(sig[i]);

	if (twin_finish(t))
		return TWIN_EXIT_INTERNAL;
	return t->violations ? TWIN_EXIT_VIOLATION : t->child_status;
}

int main(int argc, char **argv)
{
	struct twin t = {
		.inotify_fd = -1,
		.listen_fd = -1,
		.ro_wd = { -1, -1, -1, -1 },
	};
	int rc;

	for (unsigned n = 0; n <= TWIN_SLOTS; n++)
		t.emmc_fd[n] = -1;
	/* Before anything else: this may re-execute the program. */
	if (twin_usb_preload_ensure(argc, argv))
		return TWIN_EXIT_INTERNAL;
	rc = twin_opts_parse(&t.opt, argc, argv);
	if (rc) {
		twin_opts_free(&t.opt);
		if (rc > 0) {
			fputs(twin_usage, stdout);
			return 0;
		}
		fputs(twin_usage, stderr);
		return TWIN_EXIT_USAGE;
	}

	t.timeline = g_ptr_array_new_with_free_func(g_free);
	t.loop = g_main_loop_new(NULL, FALSE);
	rc = twin_run(&t);

	twin_node_stop_all(&t);	/* first: no VM outlives the twin */
	twin_gpio_stop(&t);
	twin_sysfs_stop(&t);
	twin_usb_stop(&t);
	twin_sched_free(&t);
	twin_configfs_stop(&t);	/* unmounted before the root goes */
	if (twin_root_remove(&t))
		fprintf(stderr, "tp-twin: could not remove %s\n", t.root);
	g_free(t.root);
	twin_board_free(&t);
	g_ptr_array_free(t.timeline, TRUE);
	g_main_loop_unref(t.loop);
	twin_opts_free(&t.opt);
	return rc;
}
