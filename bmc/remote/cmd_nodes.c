// SPDX-License-Identifier: MIT
/*
 * tpkit --host HOST power|usb|info: the node commands over the API
 * (docs/remote.md). The requests are tpi's (docs/serve.md section 5), so a
 * stock bmcd answers them as tpkit serve does; the output is the local
 * commands' shape, with what the API cannot tell left out; under --json,
 * a result line of the remote kinds docs/json.md describes.
 */
#include "remote.h"
#include "common/err.h"
#include "common/json.h"
#include "common/slots.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

int tp_remote_cli_open(const struct tp_cli *c, struct tp_remote **r)
{
	int rc;

	if (c->board_rev || c->gpio)
		return tp_cli_usage(c, "--board-rev and --gpio are about this BMC's lines: the "
				    "BMC at --host knows its own");
	if ((rc = tp_cli_ready(c)))
		return rc;
	if ((rc = tp_remote_open(c->host, r)) < 0)
		return tp_cli_fail(c, rc);
	return 0;
}

void tp_remote_cli_close(struct tp_remote *r)
{
	const char *pin, *file;

	if ((pin = tp_remote_pinned(r, &file)))
		fprintf(stderr, "tpkit: first connection to %s: its key %s is trusted from now "
				"on (kept in %s)\n", tp_remote_name(r), pin, file);
	tp_remote_close(r);
}

void tp_remote_json_result(const struct tp_cli *c, struct tp_json *j,
			   const struct tp_remote *r, bool ok)
{
	tp_cli_json_result(c, j, NULL, ok);
	tp_json_str(j, "host", tp_remote_name(r));
}

/* "on", "off" or "unknown" from a power value ("1", "0"; tpkit serve
 * says "Unknown" for a slot whose lines disagree). */
static const char *power_word(json_object *power, unsigned slot)
{
	char key[8];
	json_object *v;
	const char *s;

	snprintf(key, sizeof(key), "node%u", slot);
	if (!json_object_object_get_ex(power, key, &v) || !(s = json_object_get_string(v)))
		return "unknown";
	return !strcmp(s, "1") ? "on" : !strcmp(s, "0") ? "off" : "unknown";
}

/* "slots", each with the power the BMC reads back. */
static void json_slots(struct tp_json *j, json_object *power, unsigned mask)
{
	tp_json_arr_begin(j, "slots");
	for (unsigned s = 1; s <= TP_BOARD_SLOTS; s++) {
		if (!(mask & TP_SLOT_BIT(s)))
			continue;
		tp_json_obj_begin(j, NULL);
		tp_json_int(j, "slot", s);
		tp_json_str(j, "power", power_word(power, s));
		tp_json_obj_end(j);
	}
	tp_json_arr_end(j);
}

/* response[0].result[0] of `get power`: {"node1":"0",...}. */
static int power_read(struct tp_remote *r, json_object **power, json_object **holder)
{
	json_object *res;
	int rc = tp_remote_result(r, "opt=get&type=power", "result", &res);

	if (rc < 0)
		return rc;
	if (!(*power = json_object_array_get_idx(res, 0)) ||
	    !json_object_is_type(*power, json_type_object)) {
		json_object_put(res);
		return tp_err_set(-EPROTO, "%s answered get power without the nodes' states",
				  tp_remote_name(r));
	}
	*holder = res;
	return 0;
}

/* What tpkit power prints: a table for status, else a line per slot. */
static void text_power(const char *action, json_object *power, unsigned mask, int verbosity)
{
	bool status = !strcmp(action, "status");

	if (status)
		printf("SLOT  POWER\n");
	for (unsigned s = 1; s <= TP_BOARD_SLOTS; s++) {
		if (!(mask & TP_SLOT_BIT(s)))
			continue;
		if (status)
			printf("%-5u %s\n", s, power_word(power, s));
		else if (verbosity >= 0)
			printf("slot %u: %s%s\n", s, !strcmp(action, "reset") ? "reset, now " : "",
			       power_word(power, s));
	}
}

static void json_power(const struct tp_cli *c, const struct tp_remote *r, const char *action,
		       json_object *power, unsigned mask)
{
	struct tp_json j;

	tp_remote_json_result(c, &j, r, true);
	tp_json_str(&j, "action", action);
	json_slots(&j, power, mask);
	tp_json_obj_end(&j);
}

static void power_help(void)
{
	printf("Usage: tpkit --host HOST power on|off|reset|status [--slot LIST]\n\n"
	       "Switch node power on another BMC, through its API (tpkit serve or bmcd).\n\n"
	       "  --slot LIST        slots: 2, 1-4, 1,3 (all by default; reset needs it)\n"
	       TP_CLI_COMMON_HELP
	       "\nExit codes: 0 ok, 1 failed, 2 usage, 4 the BMC is busy.\n");
}

int tp_remote_cmd_power(struct tp_cli *c, int argc, char **argv)
{
	const char *slots = NULL, *action;
	const struct tp_cli_opt opts[] = { { "slot", 's', TP_CLI_STR, &slots }, { 0 } };
	unsigned mask = TP_SLOTS_ALL;
	json_object *power = NULL, *holder = NULL;
	struct tp_remote *r;
	char q[TP_BOARD_SLOTS][TP_REMOTE_QUERY_MAX];
	int rc;

	if ((rc = tp_cli_parse(c, argc, argv, opts, power_help, TP_CLI_ARGS)) != TP_CLI_GO)
		return rc;
	if (optind != argc - 1)
		return tp_cli_usage(c, "give one action: on, off, reset or status");
	action = argv[optind];
	if (strcmp(action, "on") && strcmp(action, "off") && strcmp(action, "reset") &&
	    strcmp(action, "status"))
		return tp_cli_usage(c, "unknown action \"%s\"; use on, off, reset or status",
				    action);
	if (!strcmp(action, "reset") && !slots)
		return tp_cli_usage(c, "reset needs --slot: which nodes should be power-cycled?");
	if (slots && tp_slots_parse(slots, TP_BOARD_SLOTS, &mask) < 0)
		return tp_cli_usage(c, "%s", tp_err_msg());
	if ((rc = tp_remote_cli_open(c, &r)))
		return rc;
	rc = 0;
	if (strcmp(action, "status")) {
		size_t n = tp_remote_power_queries(mask, !strcmp(action, "on"),
						   !strcmp(action, "reset"), q);

		for (size_t i = 0; i < n && rc == 0; i++)
			rc = tp_remote_set(r, q[i]);
	}
	/* Every action ends with the state as the BMC reads it afterwards. */
	if (rc == 0)
		rc = power_read(r, &power, &holder);
	if (rc < 0) {
		rc = tp_cli_fail(c, rc);
		tp_remote_cli_close(r);
		return rc;
	}
	if (c->json)
		json_power(c, r, action, power, mask);
	else
		text_power(action, power, mask, c->verbosity);
	json_object_put(holder);
	tp_remote_cli_close(r);
	return TP_EXIT_OK;
}

static void usb_help(void)
{
	printf("Usage: tpkit --host HOST usb host|device|flash --slot N [--route bmc|external]\n"
	       "       tpkit --host HOST usb msd --slot N\n"
	       "       tpkit --host HOST usb status\n\n"
	       "Route a node's USB on another BMC, through its API (tpkit serve or bmcd).\n"
	       "flash is device mode with the node's USB-boot strap asserted. msd makes the\n"
	       "node's eMMC a USB disk on that BMC's own USB port (tpi advanced msd).\n\n"
	       "  --slot N           the node (1-4)\n"
	       "  --route ROUTE      bmc (default): the BMC's own USB host; external: the\n"
	       "                     board's port for it (USB-A on v2.4, 4XNODE_USB_OTG on\n"
	       "                     v2.5), as the API names them\n" TP_CLI_COMMON_HELP
	       "\nExit codes: 0 ok, 1 failed, 2 usage, 3 the board cannot do that,\n"
	       "4 the BMC is busy.\n");
}

/* usb msd: node_to_msd (serve.md §5), one node's eMMC on the BMC's port. */
static int usb_msd(struct tp_cli *c, const char *slots)
{
	struct tp_remote *r;
	unsigned mask = 0, slot;
	char q[64];
	int rc;

	if (!slots || tp_slots_parse(slots, TP_BOARD_SLOTS, &mask) < 0 || tp_slots_count(mask) != 1)
		return tp_cli_usage(c, "msd needs --slot N, one slot");
	slot = (unsigned)__builtin_ffs((int)mask);
	if ((rc = tp_remote_cli_open(c, &r)))
		return rc;
	snprintf(q, sizeof(q), "opt=set&type=node_to_msd&node=%u", slot - 1);
	rc = tp_remote_set(r, q);
	if (rc < 0) {
		tp_remote_cli_close(r);
		return tp_cli_fail(c, rc);
	}
	if (c->json) {
		struct tp_json j;

		tp_remote_json_result(c, &j, r, true);
		tp_json_str(&j, "action", "msd");
		tp_json_int(&j, "slot", slot);
		tp_json_obj_end(&j);
	} else if (c->verbosity >= 0) {
		printf("slot %u: eMMC on %s's USB port\n", slot, c->host);
	}
	tp_remote_cli_close(r);
	return TP_EXIT_OK;
}

/* --json for usb host|device|flash|status: what was asked, and for status
 * what the BMC reports, in its own words ("reported"). */
static void json_usb(const struct tp_cli *c, const struct tp_remote *r, const char *action,
		     unsigned slot, const char *route, json_object *st)
{
	static const char *const keys[] = { "node", "mode", "route" };
	struct tp_json j;
	json_object *v;

	tp_remote_json_result(c, &j, r, true);
	tp_json_str(&j, "action", action);
	if (strcmp(action, "status")) {
		tp_json_int(&j, "slot", slot);
		tp_json_str(&j, "route", route);
	} else {
		tp_json_obj_begin(&j, "reported");
		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			tp_json_str(&j, keys[k], json_object_object_get_ex(st, keys[k], &v)
						 ? json_object_get_string(v) : NULL);
		tp_json_obj_end(&j);
	}
	tp_json_obj_end(&j);
}

int tp_remote_cmd_usb(struct tp_cli *c, int argc, char **argv)
{
	/* In enum tp_usb_mode's order, the API's mode bits. */
	static const char *const modes[] = { "host", "device", "flash" };
	const char *slots = NULL, *route = "bmc";
	const struct tp_cli_opt opts[] = { { "slot", 's', TP_CLI_STR, &slots },
					   { "route", 'r', TP_CLI_STR, &route },
					   { 0 } };
	json_object *res, *st, *v;
	struct tp_remote *r;
	unsigned mask = 0, mode = 0, slot = 0;
	bool status, bmc = false;
	char q[TP_REMOTE_QUERY_MAX];
	int rc;

	if ((rc = tp_cli_parse(c, argc, argv, opts, usb_help, TP_CLI_ARGS)) != TP_CLI_GO)
		return rc;
	if (optind != argc - 1)
		return tp_cli_usage(c, "give one action: host, device, flash, msd or status");
	if (!strcmp(argv[optind], "msd"))
		return usb_msd(c, slots);
	status = !strcmp(argv[optind], "status");
	if (!status) {
		while (mode < 3 && strcmp(argv[optind], modes[mode]))
			mode++;
		if (mode == 3)
			return tp_cli_usage(c, "unknown action \"%s\"; use host, device, flash, msd "
					    "or status", argv[optind]);
		if (!slots || tp_slots_parse(slots, TP_BOARD_SLOTS, &mask) < 0 ||
		    tp_slots_count(mask) != 1)
			return tp_cli_usage(c, "%s needs --slot N, one slot", argv[optind]);
		slot = (unsigned)__builtin_ffs((int)mask);
		bmc = !strcmp(route, "bmc");
		if (!bmc && strcmp(route, "external"))
			return tp_cli_usage(c, "--route over the API is bmc or external (the "
					    "board's USB-A or OTG port), not \"%s\"", route);
	}
	if ((rc = tp_remote_cli_open(c, &r)))
		return rc;
	if (!status) {
		tp_remote_usb_query(q, slot, mode, bmc);
		rc = tp_remote_set(r, q);
	}
	if (rc == 0)
		rc = tp_remote_result(r, "opt=get&type=usb", "result", &res);
	if (rc < 0) {
		rc = tp_cli_fail(c, rc);
		tp_remote_cli_close(r);
		return rc;
	}
	/* [{"node":"Node 1","mode":"Device","route":"BMC"}]: the node the last
	 * change named, as bmcd keeps it. */
	st = json_object_array_get_idx(res, 0);
	if (c->json)
		json_usb(c, r, status ? "status" : modes[mode], slot, route, st);
	else if (!status && c->verbosity >= 0)
		printf("slot %u: USB %s via %s\n", slot, modes[mode], route);
	else if (status)
		printf("NODE      MODE      ROUTE\n%-9s %-9s %s\n",
		       json_object_object_get_ex(st, "node", &v) ? json_object_get_string(v) : "?",
		       json_object_object_get_ex(st, "mode", &v) ? json_object_get_string(v) : "?",
		       json_object_object_get_ex(st, "route", &v) ? json_object_get_string(v) : "?");
	json_object_put(res);
	tp_remote_cli_close(r);
	return TP_EXIT_OK;
}

static void info_help(void)
{
	printf("Usage: tpkit --host HOST info\n\n"
	       "What another BMC says of itself (its daemon, version, addresses) and the\n"
	       "power of its slots, through its API (tpkit serve or bmcd).\n"
	       TP_CLI_COMMON_HELP);
}

int tp_remote_cmd_info(struct tp_cli *c, int argc, char **argv)
{
	const struct tp_cli_opt opts[] = { { 0 } };
	json_object *other, *first, *power = NULL, *holder = NULL;
	struct tp_remote *r;
	int rc;

	if ((rc = tp_cli_parse(c, argc, argv, opts, info_help, 0)) != TP_CLI_GO)
		return rc;
	if ((rc = tp_remote_cli_open(c, &r)))
		return rc;
	rc = tp_remote_result(r, "opt=get&type=other", "result", &other);
	if (rc == 0 && (rc = power_read(r, &power, &holder)) < 0)
		json_object_put(other);
	if (rc < 0) {
		rc = tp_cli_fail(c, rc);
		tp_remote_cli_close(r);
		return rc;
	}
	/* [{"api":"1.1","version":"2.0.5",...}]: every value a string. */
	first = json_object_array_get_idx(other, 0);
	if (first && !json_object_is_type(first, json_type_object))
		first = NULL;
	if (c->json) {
		struct tp_json j;

		tp_remote_json_result(c, &j, r, true);
		tp_json_obj_begin(&j, "bmc");
		if (first) {
			json_object_object_foreach(first, key, val)
				tp_json_str(&j, key, json_object_get_string(val));
		}
		tp_json_obj_end(&j);
		json_slots(&j, power, TP_SLOTS_ALL);
		tp_json_obj_end(&j);
	} else {
		printf("host: %s\n", tp_remote_name(r));
		if (first) {
			json_object_object_foreach(first, key, val)
				printf("%s: %s\n", key, json_object_get_string(val));
		}
		printf("\n");
		text_power("status", power, TP_SLOTS_ALL, c->verbosity);
	}
	json_object_put(other);
	json_object_put(holder);
	tp_remote_cli_close(r);
	return TP_EXIT_OK;
}
