// SPDX-License-Identifier: MIT
/*
 * tpkit status [--slot LIST] [--json]: each slot's commissioning record
 * (docs/commission.md §8): module, image, state, the last verified report
 * and how long ago it came. Read only: it takes no lock and needs no
 * board, so it works while tpkit commission runs.
 */
#include "cli.h"
#include "status_watch.h"
#include "commission/state.h"
#include "bmc/console.h"
#include "common/err.h"
#include "common/slots.h"

#include "common/cancel.h"

#include <errno.h>
#include <poll.h>
#include <unistd.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static void help(void)
{
	printf("Usage: tpkit status [--slot LIST] [--watch] [--json]\n\n"
	       "Each slot's commissioning state as tpkit commission left it (or is leaving\n"
	       "it now): the module and image flashed, the state, the node helper's last\n"
	       "verified report and its age, and why a failed slot failed. See\n"
	       "docs/commission.md.\n\n"
	       "  --slot LIST        only these slots (default: all): 2, 1-4, 1,3\n"
	       "  --watch            follow a run: one line per slot (slot, module, state,\n"
	       "                     age, phase: flash percent or the helper's step N/M and\n"
	       "                     text), redrawn every second on a terminal, else a line\n"
	       "                     per change; ends when every slot is done or failed,\n"
	       "                     or at Ctrl-C\n"
	       "  --json             a JSON object per slot (with --watch: per change), then\n"
	       "                     the result (docs/json.md)\n"
	       "  -h, --help         this help\n\n"
	       "Exit codes: 0 ok, 1 a record could not be read, 2 usage.\n");
}

/* The "result" line after the slots' lines (docs/json.md). */
static void json_result(const struct tp_cli *c, int code)
{
	struct tp_json j;

	if (c->json) {
		tp_cli_json_result(c, &j, NULL, code == 0);
		if (code)
			tp_json_int(&j, "exit", code);
		tp_json_obj_end(&j);
	}
	fflush(stdout);
}

static void show(const struct tp_cli *c, const struct tp_cslot *s, int rc)
{
	char last[TP_CSLOT_TEXT_MAX * 2 + 64], text[TP_CSLOT_TEXT_MAX * 4], a[16], since[16];
	const char *state = rc == -EBADMSG ? "damaged" : tp_cstate_name(s->state);

	tp_console_printable(s->text, strlen(s->text), text, sizeof(text), c->json);
	tp_watch_age(s->report_time, a, sizeof(a));
	tp_watch_age(s->since, since, sizeof(since));
	if (c->json) {
		struct tp_json j;

		tp_json_event(&j, stdout, "slot");
		tp_json_int(&j, "slot", s->slot);
		tp_json_str(&j, "state", state);
		tp_json_uint_opt(&j, "since", (uint64_t)s->since, s->since > 0);
		tp_json_str(&j, "module", s->module);
		tp_json_str(&j, "image", s->image);
		tp_json_str(&j, "sha256", s->sha256);
		tp_json_str(&j, "instance_id", s->instance_id);
		tp_json_int(&j, "flashes", s->flashes);
		tp_json_int(&j, "attempts", s->attempts);
		tp_json_str(&j, "step", s->step);
		tp_json_str(&j, "status", s->event); /* the report's: start, ok, ... */
		tp_json_str(&j, "text", text);
		tp_json_uint_opt(&j, "report_time", (uint64_t)s->report_time, s->report_time > 0);
		tp_json_str(&j, "reason", s->reason);
		tp_json_obj_end(&j);
		return;
	}
	if (s->report_time)
		snprintf(last, sizeof(last), "%s %s: %s", s->step, s->event, text);
	else
		snprintf(last, sizeof(last), "-");
	printf("%-4u %-6s %-28.28s %-10s %-6s %-6s %s\n", s->slot, s->module[0] ? s->module : "-",
	       s->image[0] ? s->image : "-", state, since, a, last);
	if (s->state == TP_CS_FAILED && s->reason[0])
		printf("     failed: %s\n", s->reason);
}

/* --watch: the records read every second (no lock) until every slot
 * that has one is done or failed, or a signal. */
static int watch_main(struct tp_cli *c, unsigned mask)
{
	struct tp_watch w;
	bool ended = false;
	int rc;

	if ((rc = tp_cancel_install()) < 0)
		return tp_cli_fail(c, rc);
	tp_watch_init(&w, stdout, mask, isatty(STDOUT_FILENO), c->json);
	while (!tp_cancelled()) {
		if ((rc = tp_watch_update(&w, &ended)) < 0)
			return tp_cli_fail(c, rc);
		if (ended) {
			json_result(c, TP_EXIT_OK);
			return TP_EXIT_OK;
		}
		(void)poll(NULL, 0, 1000); /* a signal cuts it short */
	}
	if (!tp_cancel_out_closed())
		json_result(c, 128 + tp_cancel_signal());
	return 128 + tp_cancel_signal();
}

int cmd_status_main(struct tp_cli *c, int argc, char **argv)
{
	unsigned mask = TP_SLOTS_ALL;
	bool watch = false;
	const struct tp_cli_opt opts[] = {
		{ "slot", 0, TP_CLI_SLOTS, &mask },
		{ "watch", 0, TP_CLI_FLAG, &watch },
		{ 0 },
	};
	int rc, ret = TP_EXIT_OK;

	if ((rc = tp_cli_parse(c, argc, argv, opts, help, 0)) != TP_CLI_GO)
		return rc;
	if (watch)
		return watch_main(c, mask);
	if (!c->json)
		printf("SLOT MODULE IMAGE                        STATE      SINCE  REPORT LAST REPORT\n");
	for (unsigned slot = 1; slot <= TP_SLOTS_MAX; slot++) {
		struct tp_cslot s;

		if (!(mask & TP_SLOT_BIT(slot)))
			continue;
		rc = tp_cslot_load(&s, slot);
		if (rc == -EBADMSG)
			fprintf(stderr, "tpkit status: %s\n", tp_err_msg());
		else if (rc < 0 && rc != -ENOENT) {
			/* The other slots are still shown; the result says. */
			fprintf(stderr, "tpkit status: error: %s\n", tp_err_msg());
			ret = tp_cli_exit_code(rc);
			continue;
		}
		show(c, &s, rc);
	}
	json_result(c, ret);
	return ret;
}
