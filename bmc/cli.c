// SPDX-License-Identifier: MIT
#include "cli.h"
#include "flash.h"
#include "board/turingpi2/flashmode.h"
#include "common/cancel.h"
#include "common/err.h"
#include "common/log.h"
#include "common/slots.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

/* NULL if the table is sound, else what is wrong with it. */
static const char *options_clash(const struct option *o, char *msg, size_t size)
{
	bool common = false;

	for (size_t i = 0; o[i].name; i++) {
		if (!strcmp(o[i].name, "board-rev") && o[i].val == TP_CLI_OPT_BOARD_REV)
			common = true;
		for (size_t k = i + 1; o[k].name; k++) {
			if (!strcmp(o[i].name, o[k].name)) {
				snprintf(msg, size, "the option --%s is listed twice", o[i].name);
				return msg;
			}
			if (!o[i].flag && !o[k].flag && o[i].val == o[k].val) {
				snprintf(msg, size, "the options --%s and --%s share the code %d",
					 o[i].name, o[k].name, o[i].val);
				return msg;
			}
		}
	}
	if (!common) {
		snprintf(msg, size, "the common options are missing from the table");
		return msg;
	}
	return NULL;
}

static char optmsg[160];

/*
 * What getopt_long()'s '?' was about. optopt is 0 for an unknown long
 * option, the letter of an unknown short one, or the value of a known
 * option whose value is missing (the last word on the line, so optind has
 * moved past it and argv[optind - 1] is how it was written). An unknown
 * letter in a group ("-vx") may not have moved optind: it is named by its
 * letter alone.
 */
static void optmsg_set(char **argv, const char *shortopts)
{
	const char *arg = argv[optind - 1];

	if (!optopt)
		snprintf(optmsg, sizeof(optmsg), "unknown option \"%.*s\"",
			 (int)strcspn(arg, "="), arg);
	else if (optopt >= 256 || (optopt != ':' && strchr(shortopts, optopt)))
		snprintf(optmsg, sizeof(optmsg), "option \"%s\" needs a value", arg);
	else
		snprintf(optmsg, sizeof(optmsg), "unknown option \"-%c\"", optopt);
}

int tp_cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts)
{
	static const struct option *checked;
	int opt;

	if (checked != longopts) {
		char msg[200];

		if (options_clash(longopts, msg, sizeof(msg))) {
			fprintf(stderr, "tpkit %s: internal error: %s\n", argv[0], msg);
			exit(TP_EXIT_SOFTWARE);
		}
		checked = longopts;
	}
	/* One mistake, one message: getopt's own is off, and tp_cli_optmsg()
	 * says what its '?' was about for the caller's usage line. */
	opterr = 0;
	opt = getopt_long(argc, argv, shortopts, longopts, NULL);
	if (opt == '?')
		optmsg_set(argv, shortopts);
	return opt;
}

const char *tp_cli_optmsg(void)
{
	return optmsg;
}

bool tp_cli_common_opt(struct tp_cli *c, int opt, const char *arg)
{
	switch (opt) {
	case TP_CLI_OPT_JSON:
		c->json = true;
		return true;
	case 'v':
		c->verbosity = c->verbosity < 0 ? 1 : c->verbosity + 1;
		return true;
	case 'q':
		c->verbosity = -1;
		return true;
	case TP_CLI_OPT_BOARD_REV:
		c->board_rev = arg;
		return true;
	case TP_CLI_OPT_GPIO:
		c->gpio = arg;
		return true;
	case TP_CLI_OPT_HOST:
		c->host = arg;
		return true;
	}
	return false;
}

/* getopt_long()'s view of a command's table: its options, then the common
 * ones. A long option with a one-letter form returns that letter, the
 * others 256 + their index, below the common options' codes. */
static void options_build(const char *cmd, const struct tp_cli_opt *opts, struct option *lo,
			  char *shortopts)
{
	static const struct option common[] = { TP_CLI_COMMON_LONGOPTS, { 0 } };
	size_t n = 0, s = strlen(TP_CLI_COMMON_SHORTOPTS);

	memcpy(shortopts, TP_CLI_COMMON_SHORTOPTS, s);
	for (; opts[n].name; n++) {
		int val = opts[n].short_name ? opts[n].short_name : 256 + (int)n;
		int has = opts[n].kind == TP_CLI_FLAG ? no_argument : required_argument;

		if (n == TP_CLI_OPTS_MAX) {
			fprintf(stderr, "tpkit %s: internal error: more than %d options\n", cmd,
				TP_CLI_OPTS_MAX);
			exit(TP_EXIT_SOFTWARE);
		}
		lo[n] = (struct option){ opts[n].name, has, NULL, val };
		if (opts[n].short_name) {
			shortopts[s++] = opts[n].short_name;
			if (has == required_argument)
				shortopts[s++] = ':';
		}
	}
	shortopts[s] = '\0';
	memcpy(lo + n, common, sizeof(common));
}

/* The entry of the table getopt_long() returned opt for, or -1. */
static int options_find(const struct tp_cli_opt *opts, int opt)
{
	for (int i = 0; opts[i].name; i++)
		if (opts[i].short_name ? opt == opts[i].short_name : opt == 256 + i)
			return i;
	return -1;
}

int tp_cli_parse(struct tp_cli *c, int argc, char **argv, const struct tp_cli_opt *opts,
		 void (*help)(void), unsigned flags)
{
	struct option lo[TP_CLI_OPTS_MAX + 8];
	char shortopts[sizeof(TP_CLI_COMMON_SHORTOPTS) + 2 * TP_CLI_OPTS_MAX];
	bool given[TP_CLI_OPTS_MAX] = { false };
	int opt, i, rc;

	options_build(c->cmd, opts, lo, shortopts);
	while ((opt = tp_cli_getopt(argc, argv, shortopts, lo)) != -1) {
		if (opt == 'h') {
			help();
			return TP_EXIT_OK;
		}
		if ((i = options_find(opts, opt)) < 0) {
			if (!tp_cli_common_opt(c, opt, optarg))
				return tp_cli_usage(c, "%s", tp_cli_optmsg());
			continue;
		}
		given[i] = true;
		switch (opts[i].kind) {
		case TP_CLI_FLAG:
			*(bool *)opts[i].dst = true;
			break;
		case TP_CLI_STR:
			*(const char **)opts[i].dst = optarg;
			break;
		case TP_CLI_SLOTS:
			if (tp_slots_parse(optarg, TP_SLOTS_MAX, opts[i].dst) < 0)
				return tp_cli_usage(c, "%s", tp_err_msg());
			break;
		case TP_CLI_FN:
			if ((rc = opts[i].set(c, opts[i].dst, optarg)))
				return rc;
			break;
		}
	}
	if (flags & TP_CLI_ARGS)
		return TP_CLI_GO;
	if (optind < argc)
		return tp_cli_usage(c, "unexpected argument \"%s\"", argv[optind]);
	for (i = 0; opts[i].name; i++)
		if (opts[i].missing && !given[i])
			return tp_cli_usage(c, "%s", opts[i].missing);
	rc = tp_cli_ready(c);
	return rc ? rc : TP_CLI_GO;
}

int tp_cli_ready(const struct tp_cli *c)
{
	if (c->board_rev && tp_rev_parse(c->board_rev) == TP_REV_UNKNOWN)
		return tp_cli_usage(c, "unknown board revision \"%s\"; use 2.4, 2.5, 2.5.1 or 2.5.2",
				    c->board_rev);
	tp_cli_apply_verbosity(c);
	return 0;
}

void tp_cli_apply_verbosity(const struct tp_cli *c)
{
	if (c->verbosity < 0)
		tp_log_set_level(TP_LOG_ERR);
	else if (c->verbosity == 1)
		tp_log_set_level(TP_LOG_INFO);
	else if (c->verbosity > 1)
		tp_log_set_level(TP_LOG_DEBUG);
}

/* Usage errors are found and reported by the CLI itself (tp_cli_usage); a
 * library's -EINVAL is about data (a malformed file), so it is a failure. */
int tp_cli_exit_code(int rc)
{
	switch (-rc) {
	case 0:
		return TP_EXIT_OK;
	case EBUSY:
		return TP_EXIT_BUSY;
	case ENODEV:
	case EOPNOTSUPP:
		return TP_EXIT_BOARD;
	default:
		return TP_EXIT_FAIL;
	}
}

int tp_cli_fail(const struct tp_cli *c, int rc)
{
	int code = tp_cli_exit_code(rc);
	const char *msg = tp_err_msg()[0] ? tp_err_msg() : strerror(-rc);

	fprintf(stderr, "tpkit %s: error: %s\n", c->cmd, msg);
	tp_cli_json_failure(c, msg, -rc, code);
	return code;
}

void tp_cli_json_failure(const struct tp_cli *c, const char *msg, int err, int code)
{
	struct tp_json j;

	if (!c->json)
		return;
	tp_json_event(&j, stdout, "result");
	/* null: tpkit itself, before a command was known */
	tp_json_str(&j, "command", c->cmd[0] ? c->cmd : NULL);
	tp_json_bool(&j, "ok", false);
	tp_json_str(&j, "error", msg);
	tp_json_int(&j, "errno", err);
	tp_json_int(&j, "exit", code);
	tp_json_obj_end(&j);
	fflush(stdout);
}

bool tp_cli_uint(const char *arg, unsigned long min, unsigned long max, unsigned long *v)
{
	char *end;
	unsigned long n;

	/* strtoul also takes " 5", "+5" and "-0" (and "-1" as ULONG_MAX):
	 * a number here is digits only. Overflow saturates above max. */
	if (!isdigit((unsigned char)arg[0]))
		return false;
	n = strtoul(arg, &end, 10);
	if (*end || n < min || n > max)
		return false;
	*v = n;
	return true;
}

int tp_cli_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	/* strtoull takes "-5" as 2^64 - 5 and saturates on overflow: only
	 * digits, and ERANGE is an error. */
	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	switch (*end) {
	case 'K': case 'k': shift = 10; end++; break;
	case 'M': case 'm': shift = 20; end++; break;
	case 'G': case 'g': shift = 30; end++; break;
	case 'T': case 't': shift = 40; end++; break;
	}
	if (*end == 'i' && shift)
		end++;
	if (*end == 'B')
		end++;
	if (*end || (v << shift) >> shift != v)
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

int tp_cli_usage(const struct tp_cli *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "tpkit %s: %s\nTry `tpkit %s --help`.\n", c->cmd, msg, c->cmd);
	tp_cli_json_failure(c, msg, EINVAL, TP_EXIT_USAGE);
	return TP_EXIT_USAGE;
}

#ifdef CONFIG_TPKIT_CMD_FLASH
int tp_cli_flash_opt(const struct tp_cli *c, void *dst, const char *arg)
{
	return tp_flash_opt_parse(dst, arg) < 0 ? tp_cli_usage(c, "%s", tp_err_msg()) : 0;
}
#endif

int tp_cli_board_open(const struct tp_cli *c, struct tp_board **b)
{
	struct tp_board_opts o = { .rev = c->board_rev, .gpio = c->gpio };
	int rc = tp_cli_ready(c);

	if (rc)
		return rc;
	rc = tp_board_open(b, &o);
	if (rc < 0)
		return tp_cli_fail(c, rc);
	if ((*b)->id.warning[0])
		TP_WARN("%s", (*b)->id.warning);
	return 0;
}

int tp_cli_board_recover(const struct tp_cli *c, struct tp_board *b)
{
	char found[768];
	int rc = tp_flashmode_recover(b, found, sizeof(found));

	if (rc < 0)
		return tp_cli_fail(c, rc);
	if (!rc)
		return 0;
	fprintf(stderr, "tpkit %s: %s\n", c->cmd, found);
	if (c->json && tp_cancel_out_ok(stdout)) {
		struct tp_json j;

		tp_json_event(&j, stdout, "recovered");
		tp_json_str(&j, "message", found);
		tp_json_obj_end(&j);
		fflush(stdout);
		tp_cancel_out_ok(stdout);
	}
	return 0;
}

void tp_cli_json_result(const struct tp_cli *c, struct tp_json *j, const struct tp_board *b,
			bool ok)
{
	tp_json_event(j, stdout, "result");
	tp_json_str(j, "command", c->cmd);
	tp_json_bool(j, "ok", ok);
	if (b)
		tp_json_str(j, "board", b->desc->name);
}

void tp_cli_warn_lines(const char *who, const char *text)
{
	while (*text) {
		size_t l = strcspn(text, "\n");

		fprintf(stderr, "tpkit %s: warning: %.*s\n", who, (int)l, text);
		text += l;
		if (*text == '\n')
			text++;
	}
}
