// SPDX-License-Identifier: MIT
/*
 * tpkit --host HOST console --slot N: a node's serial console on another
 * BMC, through its serial websocket (docs/remote.md section 3): what the
 * node prints to stdout as it comes (tpkit serve sends its last 16 KiB
 * first, bmcd only what follows), what stdin gives to the node.
 */
#include "remote.h"
#include "common/cancel.h"
#include "common/clock.h"
#include "common/err.h"

#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void help(void)
{
	printf("Usage: tpkit --host HOST console --slot N [--timeout S]\n\n"
	       "Follow node N's serial console on another BMC, through its API's serial\n"
	       "websocket (tpkit serve or bmcd): the node's bytes go to stdout as they come,\n"
	       "stdin's go to the node. The report lines are not checked here: their key\n"
	       "stays on the BMC (run tpkit console there for that).\n\n"
	       "  --slot N           the node (1-4)\n"
	       "  --timeout S        stop after S seconds (default: until Ctrl-C or the BMC\n"
	       "                     closes the console)\n" TP_CLI_COMMON_HELP
	       "\nExit codes: 0 stopped (Ctrl-C, timeout, closed), 1 failed, 2 usage.\n");
}

static int set_slot(const struct tp_cli *c, void *dst, const char *arg)
{
	unsigned long v;

	if (!tp_cli_uint(arg, 1, TP_BOARD_SLOTS, &v))
		return tp_cli_usage(c, "--slot takes one node, 1-4, not \"%s\"", arg);
	*(unsigned *)dst = (unsigned)v;
	return 0;
}

static int set_timeout(const struct tp_cli *c, void *dst, const char *arg)
{
	unsigned long v;

	if (!tp_cli_uint(arg, 1, 86400 * 365, &v))
		return tp_cli_usage(c, "--timeout takes seconds, 1 or more, not \"%s\"", arg);
	*(unsigned long *)dst = v;
	return 0;
}

/* Until the deadline, a signal, the server's close or a closed stdout.
 * 0, or -errno. */
static int follow(struct tp_remote_ws *w, uint64_t deadline)
{
	static char buf[64 * 1024];
	bool in_open = true;

	for (;;) {
		struct pollfd p[2] = { { .fd = tp_remote_ws_fd(w), .events = POLLIN },
				       { .fd = STDIN_FILENO, .events = POLLIN } };
		ssize_t n;
		int ms = -1;

		while ((n = tp_remote_ws_read(w, buf, sizeof(buf))) >= 0)
			if (n > 0 && (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n ||
				      fflush(stdout)))
				return 0; /* the reader went away: done */
		if (n != -EAGAIN)
			return n == -EPIPE ? 0 : (int)n;
		if (tp_cancelled())
			return 0;
		if (deadline) {
			uint64_t now = tp_clock_real_ns();

			if (now >= deadline)
				return 0;
			ms = (int)((deadline - now + 999999) / 1000000);
		}
		if (poll(p, in_open ? 2 : 1, ms) < 0 && errno != EINTR)
			return tp_err_set(-errno, "poll: %s", strerror(errno));
		if (in_open && (p[1].revents & (POLLIN | POLLHUP))) {
			ssize_t got = read(STDIN_FILENO, buf, 4096);
			int rc;

			if (got <= 0)
				in_open = false; /* the console goes on, read-only */
			else if ((rc = tp_remote_ws_write(w, buf, (size_t)got)) < 0)
				return rc;
		}
	}
}

int tp_remote_cmd_console(struct tp_cli *c, int argc, char **argv)
{
	unsigned slot = 0;
	unsigned long timeout = 0;
	const struct tp_cli_opt opts[] = {
		{ "slot", 's', TP_CLI_FN, &slot, set_slot, "which node? --slot N (1-4)" },
		{ "timeout", 0, TP_CLI_FN, &timeout, set_timeout },
		{ 0 }
	};
	struct tp_remote *r;
	struct tp_remote_ws *w = NULL;
	json_object *v;
	char path[64];
	int rc;

	if ((rc = tp_cli_parse(c, argc, argv, opts, help, 0)) != TP_CLI_GO)
		return rc;
	if (c->json)
		return tp_cli_usage(c, "--json is not available for a console with --host: it "
				    "passes the node's bytes through as they come; leave it out");
	if ((rc = tp_remote_cli_open(c, &r)))
		return rc;
	/* A plain request first: it logs in when the BMC asks, so that the
	 * upgrade carries a token that works. */
	rc = tp_remote_result(r, "opt=get&type=power", "result", &v);
	json_object_put(v);
	snprintf(path, sizeof(path), "/serial/ws?node=%u", slot - 1);
	if (rc == 0)
		rc = tp_cancel_install();
	if (rc == 0)
		rc = tp_remote_ws_open(r, path, &w);
	if (rc == 0)
		rc = follow(w, timeout ? tp_clock_real_ns() + (uint64_t)timeout * 1000000000u : 0);
	tp_remote_ws_close(w);
	if (rc < 0) {
		rc = tp_cli_fail(c, rc);
		tp_remote_cli_close(r);
		return rc;
	}
	tp_remote_cli_close(r);
	return TP_EXIT_OK;
}
