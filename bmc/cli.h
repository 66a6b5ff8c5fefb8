/* SPDX-License-Identifier: MIT */
/*
 * What every command shares: common options, opening the board, printing
 * errors, and exit codes. Only this layer prints or chooses exit codes.
 */
#ifndef TP_CLI_H
#define TP_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include "board/turingpi2/board.h"
#include "common/json.h"

/* Exit codes (README "Exit codes"). */
enum tp_exit {
	TP_EXIT_OK = 0,
	TP_EXIT_FAIL = 1,  /* the operation failed (I/O, hardware, a slot failed) */
	TP_EXIT_USAGE = 2, /* bad command line */
	TP_EXIT_BOARD = 3, /* not a supported board, or the board cannot do that */
	TP_EXIT_BUSY = 4,  /* a GPIO line or the board is held by another process */
	TP_EXIT_SOFTWARE = 70, /* a bug in tpkit itself (sysexits.h EX_SOFTWARE) */
};

struct tp_cli {
	const char *cmd;  /* "power" */
	bool json;
	int verbosity;    /* -1 quiet, 0 normal, 1+ verbose */
	const char *board_rev;
	const char *gpio;
	const char *host;   /* --host or TPKIT_HOST: another BMC (bmc/remote/) */
};

/* Codes of the long-only options every command accepts: above any
 * character and any command's own enum (those start at 256), so a command
 * option can never take one over (--rpiboot-dir once used 'R', the code of
 * --board-rev, and `flash --board-rev 2.5` set the rpiboot directory). */
enum {
	TP_CLI_OPT_JSON = 0x1000,
	TP_CLI_OPT_BOARD_REV,
	TP_CLI_OPT_GPIO,
	TP_CLI_OPT_HOST,
};

/* Long options every command accepts; append to a command's table. */
#define TP_CLI_COMMON_LONGOPTS                                                               \
	{ "json", no_argument, NULL, TP_CLI_OPT_JSON },                                     \
		{ "verbose", no_argument, NULL, 'v' }, { "quiet", no_argument, NULL, 'q' },  \
		{ "help", no_argument, NULL, 'h' },                                          \
		{ "board-rev", required_argument, NULL, TP_CLI_OPT_BOARD_REV },              \
		{ "gpio", required_argument, NULL, TP_CLI_OPT_GPIO },                         \
		{ "host", required_argument, NULL, TP_CLI_OPT_HOST }
#define TP_CLI_COMMON_SHORTOPTS "vqh"

#define TP_CLI_COMMON_HELP                                                                   \
	"  --json             one JSON object per line, as docs/json.md says\n"                 \
	"  -v, --verbose      say what is done, step by step (twice: debug)\n"                  \
	"  -q, --quiet        print nothing but errors\n"                                       \
	"  --board-rev REV    skip detection: 2.4, 2.5, 2.5.1 or 2.5.2\n"                        \
	"  --gpio SPEC        GPIO backend: gpiod (default) or sim:SOCKET (TPKIT_GPIO)\n"       \
	"  --host HOST[:PORT] act on another BMC through its API (TPKIT_HOST)\n"              \
	"  -h, --help         this help\n"

/*
 * getopt_long() over a command's table, which must hold
 * TP_CLI_COMMON_LONGOPTS. The first call checks the table: two options with
 * one name or one code would make one of them act as the other, so that is
 * reported as an internal error (exit 70) on every run, which every test of
 * the command then catches.
 */
int tp_cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts);

/* After tp_cli_getopt() returned '?': what was wrong, as one phrase
 * ("unknown option \"--x\"", "option \"--slot\" needs a value"). getopt
 * itself prints nothing. */
const char *tp_cli_optmsg(void);

/*
 * A command's own options as a table, for tp_cli_parse(); the common
 * options are added to it there. The table ends with an entry whose name
 * is NULL; the order of its entries is the order getopt_long() sees.
 */
enum tp_cli_opt_kind {
	TP_CLI_FLAG,  /* no value: *(bool *)dst = true */
	TP_CLI_STR,   /* *(const char **)dst = the value */
	TP_CLI_SLOTS, /* a slot list (tp_slots_parse, 1-TP_SLOTS_MAX) into *(unsigned *)dst */
	TP_CLI_FN,    /* set(c, dst, value) checks and keeps the value */
};

struct tp_cli_opt {
	const char *name;   /* the long option, without "--" */
	char short_name;    /* its one-letter form, or 0 */
	enum tp_cli_opt_kind kind;
	void *dst;
	/* TP_CLI_FN: 0, or the exit code of the usage error it reported
	 * (tp_cli_usage()). */
	int (*set)(const struct tp_cli *c, void *dst, const char *arg);
	/* A usage error when the option is not given; NULL: optional. */
	const char *missing;
};

/* The most options a command's table holds (the module options included). */
#define TP_CLI_OPTS_MAX 40

/* tp_cli_parse(): the command takes arguments (from optind on). */
#define TP_CLI_ARGS 1u

/* tp_cli_parse(): go on with the command. */
#define TP_CLI_GO (-1)

/*
 * Parse a command's options: its table and the common ones; -h prints
 * help() and ends the command (exit 0); an unknown option or a value set()
 * or a slot list refuses is a usage error. Without TP_CLI_ARGS in flags,
 * an argument left over is a usage error ("unexpected argument"), then
 * each option with a missing text that was not given, and tp_cli_ready()
 * is called; with it, the command checks its arguments (argv[optind]...)
 * and calls tp_cli_ready() or tp_cli_board_open() itself.
 * TP_CLI_GO, or the exit code the command returns.
 */
int tp_cli_parse(struct tp_cli *c, int argc, char **argv, const struct tp_cli_opt *opts,
		 void (*help)(void), unsigned flags);

/* Handle a common option; returns true if it was one. */
bool tp_cli_common_opt(struct tp_cli *c, int opt, const char *arg);

/* After option parsing: check the common options (usage error: returns exit
 * code 2, message printed) and apply -v/-q. 0 when all is well. */
int tp_cli_ready(const struct tp_cli *c);

/* Apply -v/-q to the log level. */
void tp_cli_apply_verbosity(const struct tp_cli *c);

int tp_cli_exit_code(int rc);

/* Report the current error (tp_err_msg) for rc and return the exit code:
 * on stderr, and under --json as the failed result (tp_cli_json_failure). */
int tp_cli_fail(const struct tp_cli *c, int rc);

/* Under --json, the "result" line of a command that failed before it had
 * a result of its own (docs/json.md): ok false, error, errno, exit. */
void tp_cli_json_failure(const struct tp_cli *c, const char *msg, int err, int code);

/* Is arg a decimal number (digits only) within min..max? Then *v is it.
 * The caller says what the option takes (tp_cli_usage) when not. */
bool tp_cli_uint(const char *arg, unsigned long min, unsigned long max, unsigned long *v);

/* A byte count as people write it: 32G, 512M, 4KiB, 1000 (K/M/G/T are
 * powers of 1024). 0, or -1 when it is not one or does not fit. */
int tp_cli_size(const char *s, uint64_t *out);

/* A usage error: message, pointer to --help, exit code 2; under --json
 * also the failed result line, so a script reading stdout learns why. */
int tp_cli_usage(const struct tp_cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A TP_CLI_FN for --flash-opt NAME=VALUE (tpkit serve, tpkit usb msd):
 * parsed at once (tp_flash_opt_parse()) into the struct tp_flash_opts at
 * dst, so a wrong one is a usage error before anything runs. */
int tp_cli_flash_opt(const struct tp_cli *c, void *dst, const char *arg);

/* After option parsing, for commands that work on the board: tp_cli_ready(),
 * then open the board. 0, or the exit code with the error reported. */
int tp_cli_board_open(const struct tp_cli *c, struct tp_board **b);

/* A flash killed outright left its record (docs/recovery.md): put the board
 * back as it was before that flash and say so, on stderr and as a JSON
 * "recovered" event. 0, or the exit code of a failure (printed). */
int tp_cli_board_recover(const struct tp_cli *c, struct tp_board *b);

/* Start the command's "result" line (docs/json.md) with "command", "ok"
 * and, given a board, "board" filled in; the caller adds its fields and
 * closes it with tp_json_obj_end(). */
void tp_cli_json_result(const struct tp_cli *c, struct tp_json *j, const struct tp_board *b,
			bool ok);

/* Each line of text on stderr as "tpkit WHO: warning: LINE" (the
 * configuration's warnings, tp_config_warnings()). */
void tp_cli_warn_lines(const char *who, const char *text);

#define CMD(name, summary) int cmd_##name##_main(struct tp_cli *c, int argc, char **argv);
#include "commands.def"
#undef CMD

#endif
