// SPDX-License-Identifier: MIT
/*
 * tpkit: turn a Turing Pi 2 into a working cluster, from its BMC.
 * Dispatch only: global options, then the command from commands.def.
 */
#include "cli.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/path.h"

#include <stdio.h>
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

static void usage(FILE *f)
{
	fprintf(f, "Usage: tpkit [OPTIONS] COMMAND [ARGS]\n\n"
		   "Flash, power and commission the nodes of a Turing Pi 2 from its BMC.\n\n"
		   "Commands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nOptions (also accepted after the command):\n" TP_CLI_COMMON_HELP
		   "  --version          print the version\n\n"
		   "Environment: TPKIT_ROOT (root of /sys, /proc, /dev; default /), "
		   "TPKIT_GPIO,\nTPKIT_CLOCK (system, or sim:SOCKET for the board twin's).\n"
		   "Exit codes: 0 ok, 1 failed, 2 usage, 3 unsupported board or operation, "
		   "4 busy.\n"
		   "`tpkit COMMAND --help` describes each command.\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = { TP_CLI_COMMON_LONGOPTS,
						  { "version", no_argument, NULL, 'V' },
						  { 0 } };
	struct tp_cli c = { .cmd = "" };
	int opt, rc;

	tp_root_set(NULL);
	/* '+': stop at the command name; the command parses the rest. */
	while ((opt = getopt_long(argc, argv, "+" TP_CLI_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		if (opt == 'h') {
			usage(stdout);
			return TP_EXIT_OK;
		}
		if (opt == 'V') {
			printf("tpkit %s\n", TPKIT_VERSION);
			return TP_EXIT_OK;
		}
		if (!tp_cli_common_opt(&c, opt, optarg)) {
			usage(stderr);
			return TP_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return TP_EXIT_USAGE;
	}
	for (size_t i = 0; i < NCOMMANDS; i++) {
		if (strcmp(argv[optind], commands[i].name))
			continue;
		c.cmd = commands[i].name;
		argc -= optind;
		argv += optind;
		/* 0, not 1: glibc then also forgets the "+" ordering of the
		 * scan above, so command options may follow arguments. */
		optind = 0;
		if (tp_clock_open(NULL) < 0) {
			fprintf(stderr, "tpkit: %s\n", tp_err_msg());
			return TP_EXIT_FAIL;
		}
		rc = commands[i].main(&c, argc, argv);
		tp_clock_close();
		return rc;
	}
	fprintf(stderr, "tpkit: unknown command \"%s\"; try `tpkit --help`\n", argv[optind]);
	return TP_EXIT_USAGE;
}
