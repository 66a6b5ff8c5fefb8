// SPDX-License-Identifier: MIT
/*
 * tpkit serve: the BMC's HTTPS API, compatible with the stock daemon's
 * (bmcd's) so that its web UI and tpi keep working (docs/serve.md). This
 * file is the command: options, the board opened once and owned for the
 * server's life, signals; the server itself is bmc/serve/.
 */
#include "cli.h"
#include "serve/serve.h"
#include "served.h"
#include "common/err.h"
#include "common/log.h"

#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void help(void)
{
	printf("Usage: tpkit serve [OPTIONS]\n\n"
	       "Serve the stock BMC daemon's (bmcd's) API on HTTPS, so the web UI and tpi\n"
	       "work with tpkit as the BMC's daemon: power, USB routing, node names, cooling\n"
	       "and the BMC's facts, with bmcd's logins, tokens and bans. Plain HTTP\n"
	       "redirects to HTTPS, except GET /info. Stop bmcd first (docs/serve.md says\n"
	       "how to switch and back). Runs until SIGINT or SIGTERM.\n\n"
	       "  --https [ADDR:]PORT  the API and the web UI (default 443)\n"
	       "  --http [ADDR:]PORT   the redirect and /info (default 80; \"none\": off)\n"
	       "  --www DIR            the web UI's files (default %s)\n"
	       "  --cert FILE          PEM with the key and certificate (default: made at the\n"
	       "                       first start in the state directory, mode 0600)\n"
	       "  --auth-loopback      ask loopback clients for a token too (bmcd does not)\n"
	       "  --threads N          connections served at once, 2-256 (default %d)\n"
	       "  --ban-ms MS          the first ban after %d failed logins (default %d)\n"
	       "  --upload-wait S      how long a flash handle waits for its upload, 1-600 s\n"
	       "                       (default 10, as bmcd)\n"
	       "  --flash-jobs N       flashes at once on a v2.5 board, 1-4 (default %d; each\n"
	       "                       takes about 15 MiB)\n"
#ifdef CONFIG_TPKIT_CMD_FLASH
	       "  --flash-opt NAME=VALUE  a module option for flashes, as tpkit flash takes\n"
	       "                       it (loader=FILE, rpiboot-dir=DIR), checked at the\n"
	       "                       start; repeatable\n"
#endif
	       "  -v, --verbose        log each change and refusal on stderr (twice: debug)\n"
	       "  --board-rev REV, --gpio SPEC, -q, -h  as for every command\n\n"
	       "The key, passwords and tokens are never logged.\n"
	       "Exit codes: 0 stopped by a signal, 1 could not start, 2 usage, 3 unknown board,\n"
	       "4 a GPIO line is held by another process.\n",
	       CONFIG_TPKIT_SERVE_WWW, CONFIG_TPKIT_SERVE_THREADS, CONFIG_TPKIT_SERVE_AUTH_ATTEMPTS,
	       CONFIG_TPKIT_SERVE_BAN_MS, CONFIG_TPKIT_SERVE_FLASH_JOBS);
}

static int set_threads(const struct tp_cli *c, void *dst, const char *arg)
{
	unsigned long v;

	if (!tp_cli_uint(arg, 2, 256, &v))
		return tp_cli_usage(c, "--threads takes 2-256, not \"%s\"", arg);
	*(unsigned *)dst = (unsigned)v;
	return 0;
}

static int set_upload_wait(const struct tp_cli *c, void *dst, const char *arg)
{
	unsigned long v;

	if (!tp_cli_uint(arg, 1, 600, &v))
		return tp_cli_usage(c, "--upload-wait takes 1-600 seconds, not \"%s\"", arg);
	*(unsigned *)dst = (unsigned)v;
	return 0;
}

static int set_flash_jobs(const struct tp_cli *c, void *dst, const char *arg)
{
	unsigned long v;

	if (!tp_cli_uint(arg, 1, TP_BOARD_SLOTS, &v))
		return tp_cli_usage(c, "--flash-jobs takes 1-%d, not \"%s\"", TP_BOARD_SLOTS, arg);
	*(unsigned *)dst = (unsigned)v;
	return 0;
}

static int set_ban(const struct tp_cli *c, void *dst, const char *arg)
{
	unsigned long v;

	if (!tp_cli_uint(arg, 100, 3600000, &v))
		return tp_cli_usage(c, "--ban-ms takes 100-3600000 milliseconds, not \"%s\"", arg);
	*(unsigned *)dst = (unsigned)v;
	return 0;
}

/* Signals are taken by sigwait() in the main thread alone: blocked before
 * CivetWeb starts its threads, which inherit the mask. */
static void signals_block(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static int serve(const struct tp_cli *c, struct tp_serve *s)
{
	sigset_t set;
	int rc, sig = 0;

	if ((rc = tp_tls_ensure(s->o.cert, s->cert_path, sizeof(s->cert_path))) < 0 ||
	    (rc = tp_auth_new(&s->auth, &s->o.auth)) < 0)
		return tp_cli_fail(c, rc);
	/* glibc gives each thread that allocates an arena of its own, up to
	 * 8 per core: with a thread per connection, that is memory the
	 * BMC's 128 MiB cannot spare (docs/performance.md). */
	mallopt(M_ARENA_MAX, 2);
	tp_api_nodes_load(s);
	tp_api_flash_init(s);
	signals_block(&set);
	if ((rc = tp_api_uart_start(s)) < 0) {
		tp_auth_free(s->auth);
		return tp_cli_fail(c, rc);
	}
	if ((rc = tp_serve_start(s)) < 0) {
		tp_api_uart_stop(s);
		tp_auth_free(s->auth);
		return tp_cli_fail(c, rc);
	}
	/* The line a supervisor or a test waits for: the ports as bound. */
	printf("tpkit serve: listening: https port %d", s->https_port);
	if (s->http_port)
		printf(", http port %d", s->http_port);
	printf("; board %s\n", s->board->desc->name);
	fflush(stdout);
	/* tpkit console on this BMC reads the consoles through us: we own
	 * the UARTs now (docs/serve.md section 1). */
	if ((rc = tp_served_save(s->o.https, s->https_port, s->cert_path)) < 0)
		TP_WARN("%s: tpkit console will not find this server", tp_err_msg());
	sigwait(&set, &sig);
	tp_served_remove();
	tp_log(TP_LOG_INFO, "stopping on signal %d", sig);
	/* A flash running is cancelled and its node put back first. */
	tp_api_flash_stop(s);
	tp_serve_stop(s);
	tp_api_uart_stop(s);
	tp_auth_free(s->auth);
	return TP_EXIT_OK;
}

int cmd_serve_main(struct tp_cli *c, int argc, char **argv)
{
	struct tp_serve s = {
		.o = { .https = "443", .http = "80", .www = CONFIG_TPKIT_SERVE_WWW,
		       .threads = CONFIG_TPKIT_SERVE_THREADS, .upload_wait_s = 10,
		       .flash_jobs = CONFIG_TPKIT_SERVE_FLASH_JOBS,
		       .auth = { .attempts = CONFIG_TPKIT_SERVE_AUTH_ATTEMPTS,
				 .token_expiry_s = CONFIG_TPKIT_SERVE_TOKEN_EXPIRY_S,
				 .ban_base_ms = CONFIG_TPKIT_SERVE_BAN_MS } },
		.usb_node = 1,
	};
	bool auth_loopback = false;
	const struct tp_cli_opt opts[] = {
		{ "https", 0, TP_CLI_STR, &s.o.https },
		{ "http", 0, TP_CLI_STR, &s.o.http },
		{ "www", 0, TP_CLI_STR, &s.o.www },
		{ "cert", 0, TP_CLI_STR, &s.o.cert },
		{ "auth-loopback", 0, TP_CLI_FLAG, &auth_loopback },
		{ "threads", 0, TP_CLI_FN, &s.o.threads, set_threads },
		{ "ban-ms", 0, TP_CLI_FN, &s.o.auth.ban_base_ms, set_ban },
#ifdef CONFIG_TPKIT_CMD_FLASH
		{ "flash-opt", 0, TP_CLI_FN, &s.o.flash, tp_cli_flash_opt },
#endif
		{ "upload-wait", 0, TP_CLI_FN, &s.o.upload_wait_s, set_upload_wait },
		{ "flash-jobs", 0, TP_CLI_FN, &s.o.flash_jobs, set_flash_jobs },
		{ 0 }
	};
	int rc;

	if ((rc = tp_cli_parse(c, argc, argv, opts, help, 0)) != TP_CLI_GO)
		return rc;
	if (c->json)
		return tp_cli_usage(c, "serve writes a log, not JSON lines: leave out --json");
	s.o.auth_loopback = auth_loopback;
	s.o.board.rev = c->board_rev;
	s.o.board.gpio = c->gpio;
	if (!strcmp(s.o.http, "none"))
		s.o.http = "";
	if ((rc = tp_cli_board_open(c, &s.board)))
		return rc;
	/* A flash killed outright left the board half-changed: put it back
	 * before serving anything, and say so (docs/recovery.md). */
	if ((rc = tp_cli_board_recover(c, s.board)) == 0) {
		pthread_mutex_init(&s.board_lock, NULL);
		rc = serve(c, &s);
		pthread_mutex_destroy(&s.board_lock);
	}
	tp_board_close(s.board);
	return rc;
}
