// SPDX-License-Identifier: MIT
/* tpkit power on|off|reset|status [--slot LIST] */
#include "cli.h"
#include "board/turingpi2/power.h"
#include "common/err.h"
#include "common/slots.h"
#ifdef CONFIG_TPKIT_REMOTE
#include "remote/remote.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void help(void)
{
	printf("Usage: tpkit power on|off|reset|status [--slot LIST] [OPTIONS]\n\n"
	       "Switch node power the way the stock firmware does: the slot's regulator,\n"
	       "100 ms, then the node's enable line (off in the same order); reset is off,\n"
	       "1 s, on. Slots already in the asked state are left alone.\n\n"
	       "  --slot LIST        slots to act on: 2, 1-4, 1,3 (on, off and status: all\n"
	       "                     slots by default; reset needs --slot)\n"
	       "  --stagger MS       wait MS between slots switched on together, to limit\n"
	       "                     inrush (default %d)\n" TP_CLI_COMMON_HELP
	       "\nExit codes: 0 ok, 1 a slot failed (its state is reported), 2 usage,\n"
	       "3 unknown board, 4 a GPIO line is held by another process (nothing changed).\n",
	       CONFIG_TPKIT_POWER_STAGGER_MS);
}

static void json_slot_state(struct tp_json *j, const struct tp_slot_power *p)
{
	tp_json_str(j, "power", tp_power_word(p));
	if (p->regulator < 0)
		tp_json_null(j, "regulator");
	else
		tp_json_str(j, "regulator", p->regulator ? "enabled" : "disabled");
	if (p->en < 0)
		tp_json_null(j, "enable");
	else
		tp_json_int(j, "enable", p->en);
	if (p->holder[0])
		tp_json_str(j, "held_by", p->holder);
}

static int do_status(struct tp_cli *c, struct tp_board *b, unsigned mask)
{
	struct tp_slot_power st[TP_BOARD_SLOTS];
	int rc = tp_power_status(b, mask, st);

	if (rc < 0)
		return tp_cli_fail(c, rc);
	if (c->json) {
		struct tp_json j;

		tp_cli_json_result(c, &j, b, true);
		tp_json_arr_begin(&j, "slots");
		for (unsigned s = 1; s <= TP_BOARD_SLOTS; s++) {
			if (!(mask & TP_SLOT_BIT(s)))
				continue;
			tp_json_obj_begin(&j, NULL);
			tp_json_int(&j, "slot", s);
			json_slot_state(&j, &st[s - 1]);
			tp_json_obj_end(&j);
		}
		tp_json_arr_end(&j);
		tp_json_obj_end(&j);
		return TP_EXIT_OK;
	}
	printf("SLOT  POWER    REGULATOR  NODE-EN\n");
	for (unsigned s = 1; s <= TP_BOARD_SLOTS; s++) {
		const struct tp_slot_power *p = &st[s - 1];
		char en[80];

		if (!(mask & TP_SLOT_BIT(s)))
			continue;
		if (p->en >= 0)
			snprintf(en, sizeof(en), "%d", p->en);
		else
			snprintf(en, sizeof(en), "? (held by %s)", p->holder);
		printf("%-5u %-8s %-10s %s\n", s, tp_power_word(p),
		       p->regulator < 0 ? "unreadable" : p->regulator ? "enabled" : "disabled", en);
	}
	return TP_EXIT_OK;
}

/*
 * While tpkit serve runs on this BMC it owns the lines, and a change goes
 * through it (docs/serve.md section 1): its requests, as tpi's, for every
 * slot at once (a reset one per slot), with the server's stagger. What
 * each slot was before and is after is read here, as a status read does,
 * so the output is the same as when tpkit does it itself. 1 done there,
 * 0 no server runs, -errno with the server's reason.
 */
static int apply_served(struct tp_board *b, unsigned mask, enum tp_power_op op,
			struct tp_power_result res[TP_BOARD_SLOTS])
{
#ifdef CONFIG_TPKIT_REMOTE
	struct tp_slot_power was[TP_BOARD_SLOTS], now[TP_BOARD_SLOTS];
	char q[TP_BOARD_SLOTS][TP_REMOTE_QUERY_MAX];
	const char *qs[TP_BOARD_SLOTS];
	size_t n = tp_remote_power_queries(mask, op == TP_POWER_ON, op == TP_POWER_RESET, q);
	int rc;

	for (size_t i = 0; i < n; i++)
		qs[i] = q[i];
	memset(res, 0, sizeof(*res) * TP_BOARD_SLOTS);
	tp_power_status(b, mask, was);
	if ((rc = tp_remote_served_set(qs, n)) <= 0)
		return rc;
	tp_power_status(b, mask, now);
	for (unsigned s = 1; s <= TP_BOARD_SLOTS; s++) {
		res[s - 1].after = now[s - 1];
		res[s - 1].changed = op == TP_POWER_RESET ||
				     strcmp(tp_power_word(&was[s - 1]), tp_power_word(&now[s - 1]));
	}
	return 1;
#else
	(void)b, (void)mask, (void)op, (void)res;
	return 0;
#endif
}

static int do_apply(struct tp_cli *c, struct tp_board *b, unsigned mask, enum tp_power_op op,
		    const char *action, unsigned stagger)
{
	struct tp_power_result res[TP_BOARD_SLOTS];
	struct tp_json j;
	int rc = apply_served(b, mask, op, res);

	if (rc == 0)
		rc = tp_power_apply(b, mask, op, stagger, res);
	else if (rc > 0)
		rc = 0;
	bool slot_failed = false;

	/* An error before any slot moved (a held line, a missing file) has
	 * no per-slot results: report it alone. */
	for (unsigned s = 1; s <= TP_BOARD_SLOTS; s++)
		if ((mask & TP_SLOT_BIT(s)) && res[s - 1].rc < 0)
			slot_failed = true;
	if (rc < 0 && !slot_failed)
		return tp_cli_fail(c, rc);

	if (c->json) {
		tp_cli_json_result(c, &j, b, rc == 0);
		if (rc < 0)
			tp_json_int(&j, "exit", tp_cli_exit_code(rc));
		tp_json_str(&j, "action", action);
		tp_json_arr_begin(&j, "slots");
	}
	for (unsigned s = 1; s <= TP_BOARD_SLOTS; s++) {
		const struct tp_power_result *r = &res[s - 1];

		if (!(mask & TP_SLOT_BIT(s)))
			continue;
		if (c->json) {
			tp_json_obj_begin(&j, NULL);
			tp_json_int(&j, "slot", s);
			tp_json_bool(&j, "ok", r->rc == 0);
			tp_json_bool(&j, "changed", r->changed);
			json_slot_state(&j, &r->after);
			if (r->rc < 0)
				tp_json_str(&j, "error", r->msg);
			tp_json_obj_end(&j);
		} else if (r->rc < 0) {
			fprintf(stderr, "tpkit power: error: %s\n", r->msg);
		} else if (c->verbosity >= 0 && !strcmp(action, "reset")) {
			/* A reset always switches: saying "on" alone reads as if
			 * nothing had happened to a node that was on. */
			printf("slot %u: reset (off, then %s)\n", s, tp_power_word(&r->after));
		} else if (c->verbosity >= 0) {
			printf("slot %u: %s%s\n", s, r->changed ? "" : "already ",
			       tp_power_word(&r->after));
		}
	}
	if (c->json) {
		tp_json_arr_end(&j);
		tp_json_obj_end(&j);
	}
	return tp_cli_exit_code(rc);
}

static int set_stagger(const struct tp_cli *c, void *dst, const char *arg)
{
	unsigned long v;

	if (!tp_cli_uint(arg, 0, 60000, &v))
		return tp_cli_usage(c, "--stagger takes milliseconds, 0-60000, not \"%s\"", arg);
	*(unsigned *)dst = (unsigned)v;
	return 0;
}

int cmd_power_main(struct tp_cli *c, int argc, char **argv)
{
	const char *slots = NULL, *action;
	unsigned stagger = CONFIG_TPKIT_POWER_STAGGER_MS, mask = TP_SLOTS_ALL;
	/* --stagger has no -S: it never had. */
	const struct tp_cli_opt opts[] = { { "slot", 's', TP_CLI_STR, &slots },
					   { "stagger", 0, TP_CLI_FN, &stagger, set_stagger },
					   { 0 } };
	enum tp_power_op op = TP_POWER_ON;
	struct tp_board *b = NULL;
	int rc;

	if ((rc = tp_cli_parse(c, argc, argv, opts, help, TP_CLI_ARGS)) != TP_CLI_GO)
		return rc;
	/* `power on 2`: the slot as a word, as other tools take it. */
	if (optind == argc - 2 && strspn(argv[optind + 1], "0123456789,-") ==
				     strlen(argv[optind + 1]))
		return tp_cli_usage(c, "slots are given with --slot: `tpkit power %s --slot %s`",
				    argv[optind], argv[optind + 1]);
	if (optind != argc - 1)
		return tp_cli_usage(c, "give one action: on, off, reset or status");
	action = argv[optind];
	if (!strcmp(action, "on"))
		op = TP_POWER_ON;
	else if (!strcmp(action, "off"))
		op = TP_POWER_OFF;
	else if (!strcmp(action, "reset"))
		op = TP_POWER_RESET;
	else if (strcmp(action, "status"))
		return tp_cli_usage(c, "unknown action \"%s\"; use on, off, reset or status",
				    action);
	if (!strcmp(action, "reset") && !slots)
		return tp_cli_usage(c, "reset needs --slot: which nodes should be power-cycled?");
	if (slots && tp_slots_parse(slots, TP_BOARD_SLOTS, &mask) < 0)
		return tp_cli_usage(c, "%s", tp_err_msg());
	rc = tp_cli_board_open(c, &b);
	if (rc)
		return rc;
	/* A change starts from the board as it really was before a flash
	 * that was killed; status only looks. */
	if (strcmp(action, "status") && (rc = tp_cli_board_recover(c, b))) {
		tp_board_close(b);
		return rc;
	}
	if (!strcmp(action, "status"))
		rc = do_status(c, b, mask);
	else
		rc = do_apply(c, b, mask, op, action, stagger);
	tp_board_close(b);
	return rc;
}
