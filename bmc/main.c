// SPDX-License-Identifier: MIT
/*
 * tpkit: turn a Turing Pi 2 into a working cluster, from its BMC.
 * Dispatch only: global options, then the command from commands.def.
 */
#include "cli.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/path.h"
#ifdef CONFIG_TPKIT_REMOTE
#include "remote/remote.h"
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct command {
	const char *name;
	const char *summary;
	int (*main)(struct tp_cli *c, int argc, char **argv);
};

static const struct command commands[] = {
#define CMD(n, s) { #n, s, cmd_##n##_main },
#include "commands.def"
#undef CMD
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

/* With --host (or TPKIT_HOST) the same names run on another BMC, through
 * its API (bmc/remote/, docs/remote.md). Ends with a NULL name. */
static const struct command remote_commands[] = {
#ifdef CONFIG_TPKIT_REMOTE
	{ "power", "switch node power: on, off, reset, status", tp_remote_cmd_power },
	{ "usb", "route a node's USB: host, device, flash, status", tp_remote_cmd_usb },
	{ "info", "what the BMC says of itself, and its slots' power", tp_remote_cmd_info },
	{ "flash", "flash an image onto a node: uploaded, or fetched by the BMC", tp_remote_cmd_flash },
	{ "console", "follow a node's serial console, and type into it", tp_remote_cmd_console },
#endif
	{ NULL, NULL, NULL }
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: tpkit [OPTIONS] COMMAND [ARGS]\n\n"
		   "Flash, power and commission the nodes of a Turing Pi 2 from its BMC.\n\n"
		   "Commands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	if (remote_commands[0].name) {
		fprintf(f, "\nWith --host HOST[:PORT] (or TPKIT_HOST), on another BMC through its "
			   "API:\n ");
		for (const struct command *r = remote_commands; r->name; r++)
			fprintf(f, " %s", r->name);
		fprintf(f, " (docs/remote.md)\n");
	}
	fprintf(f, "\nOptions (also accepted after the command):\n" TP_CLI_COMMON_HELP
		   "  -V, --version      print the version\n\n"
		   "Environment: TPKIT_ROOT (root of /sys, /proc, /dev; default /), "
		   "TPKIT_GPIO,\nTPKIT_CLOCK (system, or sim:SOCKET for the board twin's), "
		   "TPKIT_JSON_COPY (FILE: also\nappend every --json line there). "
		   "--json's lines: docs/json.md.\n"
		   "Exit codes: 0 ok, 1 failed, 2 usage, 3 unsupported board or operation, "
		   "4 busy.\n"
		   "`tpkit COMMAND --help` (or `tpkit help COMMAND`) describes each command.\n"
		   "The documents messages name (recovery.md, runbooks/...) are in\n"
		   CONFIG_TPKIT_DOCDIR ".\n");
}

static const struct command *command_find(const char *name, bool remote)
{
	if (remote) {
		for (const struct command *r = remote_commands; r->name; r++)
			if (!strcmp(name, r->name))
				return r;
		return NULL;
	}
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (!strcmp(name, commands[i].name))
			return &commands[i];
	return NULL;
}

/* --host VALUE or --host=VALUE anywhere before "--", else TPKIT_HOST:
 * known before the command is chosen, since it chooses which one runs. */
static const char *host_wanted(int argc, char **argv)
{
	const char *env = getenv("TPKIT_HOST");

	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strncmp(argv[i], "--host=", 7))
			return argv[i] + 7;
		if (!strcmp(argv[i], "--host") && i + 1 < argc)
			return argv[i + 1];
	}
	return env && env[0] ? env : NULL;
}

static int version(void)
{
	printf("tpkit %s\n", TPKIT_VERSION);
	return TP_EXIT_OK;
}

/* --json anywhere before "--": known before any option is parsed, so a
 * usage mistake made ahead of it is reported as JSON too (docs/json.md). */
static bool json_wanted(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--json"))
			return true;
	return false;
}

static int usage_failed(const struct tp_cli *c, const char *msg)
{
	tp_cli_json_failure(c, msg, EINVAL, TP_EXIT_USAGE);
	return TP_EXIT_USAGE;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = { TP_CLI_COMMON_LONGOPTS,
						  { "version", no_argument, NULL, 'V' },
						  { 0 } };
	struct tp_cli c = { .cmd = "" };
	const struct command *cmd;
	static char help_opt[] = "--help";
	char *help_argv[] = { NULL, help_opt, NULL };
	char msg[300];
	int opt, rc;

	tp_root_set(NULL);
	c.json = json_wanted(argc, argv);
	c.host = host_wanted(argc, argv);
	/* '+': stop at the command name; the command parses the rest. */
	while ((opt = tp_cli_getopt(argc, argv, "+V" TP_CLI_COMMON_SHORTOPTS, longopts)) != -1) {
		if (opt == 'h') {
			usage(stdout);
			return TP_EXIT_OK;
		}
		if (opt == 'V')
			return version();
		if (opt == '?') {
			fprintf(stderr, "tpkit: %s; try `tpkit --help`\n", tp_cli_optmsg());
			return usage_failed(&c, tp_cli_optmsg());
		}
		if (!tp_cli_common_opt(&c, opt, optarg)) {
			usage(stderr);
			return usage_failed(&c, "unknown option");
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return usage_failed(&c, "no command given");
	}
	/* `tpkit help [COMMAND]` and `tpkit version`, as git and ip have them. */
	if (!strcmp(argv[optind], "version")) {
		if (optind + 1 == argc)
			return version();
		fprintf(stderr, "tpkit: version takes no arguments; try `tpkit --help`\n");
		return usage_failed(&c, "version takes no arguments");
	}
	if (!strcmp(argv[optind], "help")) {
		if (optind + 1 == argc) {
			usage(stdout);
			return TP_EXIT_OK;
		}
		if (optind + 2 != argc || !command_find(argv[optind + 1], c.host)) {
			fprintf(stderr, "tpkit: help for what? `tpkit help COMMAND`, one of the "
					"commands `tpkit --help` lists\n");
			return usage_failed(&c, "help for what? `tpkit help COMMAND`");
		}
		help_argv[0] = argv[optind + 1];
		argv = help_argv;
		argc = 2;
		optind = 0;
	}
	if ((cmd = command_find(argv[optind], c.host))) {
		c.cmd = cmd->name;
		argc -= optind;
		argv += optind;
		/* 0, not 1: glibc then also forgets the "+" ordering of the
		 * scan above, so command options may follow arguments. */
		optind = 0;
		if (tp_clock_open(NULL) < 0) {
			fprintf(stderr, "tpkit: %s\n", tp_err_msg());
			return TP_EXIT_FAIL;
		}
		rc = cmd->main(&c, argc, argv);
		tp_clock_close();
		return rc;
	}
	if (c.host && command_find(argv[optind], false))
		snprintf(msg, sizeof(msg), "%s runs on the BMC itself, not with --host; --host "
			 "takes %s", argv[optind], remote_commands[0].name ? "power, usb, info, flash and console"
			 : "nothing here (this tpkit was built without CONFIG_TPKIT_REMOTE)");
	else
		snprintf(msg, sizeof(msg), "unknown command \"%s\"; try `tpkit --help`", argv[optind]);
	fprintf(stderr, "tpkit: %s\n", msg);
	return usage_failed(&c, msg);
}
