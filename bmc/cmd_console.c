// SPDX-License-Identifier: MIT
/*
 * tpkit console --slot N: follow a node's serial console, the node's
 * authenticated report lines picked out and checked
 * (docs/report-protocol.md §8). The slot's report key is read from the
 * secrets and never printed; lines are printed as read, made printable.
 */
#include "cli.h"
#include "console.h"
#include "secrets.h"
#include "common/cancel.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/slots.h"
#ifdef CONFIG_TPKIT_REMOTE
#include "remote/remote.h"
#endif

#include <inttypes.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How often the UART is looked at when it had nothing: at 115200 baud
 * 50 ms is about 580 bytes, far below the tty's 4 KiB buffer. */
#define POLL_MS 50

struct ctx {
	const struct tp_cli *c;
	unsigned slot;
	bool reports_only;
	struct tp_console *con;
	/* While tpkit serve runs on this BMC it owns the UARTs (two readers
	 * split a UART's bytes): the console comes from its capture, through
	 * its serial websocket (docs/serve.md section 1). NULL: the UART. */
	struct tp_remote *srv;
	struct tp_remote_ws *ws;
};

static void help(void)
{
	printf("Usage: tpkit console --slot N [--json] [--reports-only] [--timeout S]\n\n"
	       "Follow node N's serial console (/dev/ttyS<N>) and print its lines. The node\n"
	       "helper's report lines (docs/report-protocol.md) are checked with the slot's\n"
	       "report key and window: an authentic one is printed as\n"
	       "  report: slot N <run id> #<seq> <step> <event>: <text>\n"
	       "one that fails as\n"
	       "  rejected: garbled|forged|replayed: <reason>: <line>\n"
	       "Other bytes that are not printable are shown as \\xNN. The key is read from\n"
	       "the slot's secrets (created if missing) and never printed. While tpkit serve\n"
	       "runs on this BMC, the console comes through it (it owns the UARTs); stop\n"
	       "bmcd first: two readers of one UART split its bytes.\n\n"
	       "  --slot N           the slot, 1-%d\n"
	       "  --reports-only     print report lines (accepted and rejected) only\n"
	       "  --timeout S        stop after S seconds (default: follow until Ctrl-C)\n"
	       "  --json             one JSON object per line: line, report or rejected events;\n"
	       "                     the counts in the result at the end (docs/json.md)\n"
	       "  -q, --quiet        no summary on stderr\n"
	       "  -h, --help         this help\n\n"
	       "Exit codes: 0 ok, 1 a forged or replayed report line was seen (or the UART\n"
	       "failed), 2 usage.\n",
	       TP_SLOTS_MAX);
}

static const char *kind_word(enum tp_console_kind k)
{
	switch (k) {
	case TP_CONSOLE_GARBLED:
		return "garbled";
	case TP_CONSOLE_FORGED:
		return "forged";
	case TP_CONSOLE_REPLAYED:
		return "replayed";
	default:
		return "";
	}
}

static int show(void *cookie, const struct tp_console_line *l)
{
	const struct ctx *x = cookie;
	char text[4 * TP_CONSOLE_LINE_MAX + 1];
	struct tp_json j;

	if (l->kind == TP_CONSOLE_LINE && x->reports_only)
		return 0;
	tp_console_printable(l->text, l->len, text, sizeof(text), x->c->json);
	if (x->c->json) {
		tp_json_event(&j, stdout, l->kind == TP_CONSOLE_LINE     ? "line" :
					  l->kind == TP_CONSOLE_REPORT ? "report" :
									 "rejected");
		tp_json_int(&j, "slot", x->slot);
		if (l->kind == TP_CONSOLE_REPORT) {
			char r_text[4 * sizeof(l->report.text)];

			tp_console_printable(l->report.text, strlen(l->report.text), r_text,
					     sizeof(r_text), true);
			tp_json_str(&j, "id", l->report.id);
			tp_json_uint(&j, "seq", l->report.seq);
			tp_json_str(&j, "step", l->report.step);
			tp_json_str(&j, "status", l->report.event);
			tp_json_str(&j, "text", r_text);
		} else if (l->kind == TP_CONSOLE_LINE) {
			tp_json_str(&j, "text", text);
		} else {
			tp_json_str(&j, "kind", kind_word(l->kind));
			tp_json_str(&j, "reason", l->reason);
			tp_json_str(&j, "line", text);
		}
		if (l->cut)
			tp_json_bool(&j, "cut", true);
		tp_json_obj_end(&j);
	} else if (l->kind == TP_CONSOLE_REPORT) {
		char r_text[4 * sizeof(l->report.text)];

		tp_console_printable(l->report.text, strlen(l->report.text), r_text, sizeof(r_text),
				     false);
		printf("report: slot %u %s #%" PRIu64 " %s %s: %s\n", x->slot, l->report.id,
		       l->report.seq, l->report.step, l->report.event, r_text);
	} else if (l->kind == TP_CONSOLE_LINE) {
		printf("%s\n", text);
	} else {
		printf("rejected: %s: %s: %s\n", kind_word(l->kind), l->reason, text);
	}
	fflush(stdout);
	return tp_cancel_out_ok(stdout) ? 0 : -ECANCELED;
}

static void summary(const struct ctx *x, const struct tp_console *con, const char *end,
		    int code)
{
	struct tp_json j;

	if (x->c->json) {
		/* The counts are the run's result: forged or replayed
		 * reports fail it (someone is writing to the console). */
		tp_cli_json_result(x->c, &j, NULL, code == 0);
		if (code)
			tp_json_int(&j, "exit", code);
		tp_json_int(&j, "slot", con->slot);
		tp_json_uint(&j, "lines", con->lines);
		tp_json_uint(&j, "reports", con->reports);
		tp_json_uint(&j, "rejected", con->garbled + con->forged + con->replayed);
		tp_json_uint(&j, "forged", con->forged);
		tp_json_uint(&j, "replayed", con->replayed);
		tp_json_uint(&j, "garbled", con->garbled);
		tp_json_str(&j, "end", end);
		tp_json_obj_end(&j);
		fflush(stdout);
	}
	if (x->c->verbosity >= 0)
		fprintf(stderr,
			"tpkit console: slot %u: %lu lines, %lu reports, %lu forged, %lu replayed, "
			"%lu garbled (%s)\n",
			con->slot, con->lines, con->reports, con->forged, con->replayed,
			con->garbled, end);
}

/* What the console has now, fed to show(): bytes (> 0), 0 when nothing
 * came, -EPIPE when it hung up, or a callback's error. */
static int pull(struct ctx *x)
{
#ifdef CONFIG_TPKIT_REMOTE
	static char buf[64 * 1024];
	int total = 0;
	ssize_t n;

	if (x->ws) {
		while ((n = tp_remote_ws_read(x->ws, buf, sizeof(buf))) >= 0) {
			int rc = n ? tp_console_feed(x->con, buf, (size_t)n, show, x) : 0;

			if (rc < 0)
				return rc;
			total += (int)n;
		}
		return n == -EAGAIN || (n == -EPIPE && total) ? total : (int)n;
	}
#endif
	return tp_console_read(x->con, show, x);
}

/* Open the console: through a running tpkit serve, else the UART. */
static int console_open(struct ctx *x, const struct tp_report_key *key)
{
#ifdef CONFIG_TPKIT_REMOTE
	char path[64];
	int rc;

	tp_console_init(x->con, x->slot, key); /* closable whatever follows */
	if ((rc = tp_remote_open_served(&x->srv)) < 0)
		return rc;
	if (rc > 0) {
		snprintf(path, sizeof(path), "/serial/ws?node=%u", x->slot - 1);
		if ((rc = tp_remote_ws_open(x->srv, path, &x->ws)) < 0)
			return tp_err_prefix(rc, "tpkit serve runs on this BMC and owns the UARTs, "
					     "but its console for slot %u cannot be had: ", x->slot);
		if (x->c->verbosity > 0)
			fprintf(stderr, "tpkit console: through tpkit serve (%s)\n",
				tp_remote_name(x->srv));
		return 0;
	}
#endif
	return tp_console_open(x->con, x->slot, key);
}

static void console_close(struct ctx *x)
{
#ifdef CONFIG_TPKIT_REMOTE
	tp_remote_ws_close(x->ws);
	tp_remote_close(x->srv);
#endif
	tp_console_close(x->con);
}

/* The slot's report key out of the secrets, never anywhere else. */
static int load_key(unsigned slot, struct tp_report_key *key)
{
	unsigned char raw[TP_SECRET_REPORT_KEY_BYTES];
	struct tp_secrets s;
	int rc = tp_secrets_init(&s, NULL);

	if (rc == 0)
		rc = tp_secrets_report_key(&s, slot, raw);
	tp_secrets_close(&s);
	if (rc == 0)
		memcpy(key->b, raw, sizeof(key->b));
	OPENSSL_cleanse(raw, sizeof(raw));
	return rc;
}

static int set_slot(const struct tp_cli *c, void *dst, const char *arg)
{
	unsigned long slot;

	if (!tp_cli_uint(arg, 1, TP_SLOTS_MAX, &slot))
		return tp_cli_usage(c, "--slot takes one slot, 1-%d, not \"%s\"", TP_SLOTS_MAX,
				    arg);
	*(unsigned *)dst = (unsigned)slot;
	return 0;
}

static int set_timeout(const struct tp_cli *c, void *dst, const char *arg)
{
	if (!tp_cli_uint(arg, 1, 86400 * 365, dst))
		return tp_cli_usage(c, "--timeout takes seconds, 1 or more, not \"%s\"", arg);
	return 0;
}

int cmd_console_main(struct tp_cli *c, int argc, char **argv)
{
	struct ctx x = { .c = c };
	unsigned long timeout = 0;
	const struct tp_cli_opt opts[] = {
		{ "slot", 0, TP_CLI_FN, &x.slot, set_slot, "which console? --slot N" },
		{ "reports-only", 0, TP_CLI_FLAG, &x.reports_only },
		{ "timeout", 0, TP_CLI_FN, &timeout, set_timeout },
		{ 0 }
	};
	struct tp_console *con;
	struct tp_report_key key;
	uint64_t deadline = 0;
	const char *end = "closed";
	int rc, ret;

	if ((rc = tp_cli_parse(c, argc, argv, opts, help, 0)) != TP_CLI_GO)
		return rc;
	rc = tp_cancel_install();
	if (rc == 0)
		rc = load_key(x.slot, &key);
	if (rc < 0)
		return tp_cli_fail(c, rc);
	con = malloc(sizeof(*con)); /* 33 KiB of ring: not on the stack */
	if (!con) {
		tp_report_key_wipe(&key);
		return tp_cli_fail(c, tp_err_set(-ENOMEM, "out of memory"));
	}
	x.con = con;
	rc = console_open(&x, &key);
	tp_report_key_wipe(&key);
	if (rc < 0) {
		ret = tp_cli_fail(c, rc);
		console_close(&x);
		free(con);
		return ret;
	}
	if (timeout)
		deadline = tp_clock_now_ns() + (uint64_t)timeout * 1000000000u;
	for (;;) {
		uint64_t now;

		rc = pull(&x);
		if (rc < 0)
			break;
		now = tp_clock_now_ns();
		if (deadline && now >= deadline) {
			end = "timeout";
			rc = 0;
			break;
		}
		if (rc > 0)
			continue; /* more may be waiting */
		rc = tp_clock_sleep_ms(deadline && deadline - now < POLL_MS * 1000000u ?
					       (unsigned)((deadline - now + 999999) / 1000000) :
					       POLL_MS);
		if (rc < 0)
			break;
	}
	if (rc == -EPIPE) {
		end = "hangup";
		rc = 0;
	} else if (rc == -ECANCELED) {
		end = tp_cancel_out_closed() ? "output closed" : "interrupted";
		rc = 0;
	}
	if (rc == 0 && !tp_cancel_out_closed())
		rc = tp_console_flush(con, show, &x);
	if (rc < 0 && rc != -ECANCELED) {
		ret = tp_cli_fail(c, rc);
	} else {
		ret = con->forged || con->replayed ? TP_EXIT_FAIL : TP_EXIT_OK;
		if (!tp_cancel_out_closed())
			summary(&x, con, end, ret);
	}
	console_close(&x);
	free(con);
	return ret;
}
