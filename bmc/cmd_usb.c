// SPDX-License-Identifier: MIT
/* tpkit usb host|device|flash|msd --slot N [--route bmc|usb-a|usb-c] ; tpkit usb status */
#include "cli.h"
#include "flash.h"
#include "board/turingpi2/gadget.h"
#include "board/turingpi2/usb.h"
#include "common/log.h"
#include "common/err.h"
#include "common/slots.h"
#ifdef CONFIG_TPKIT_REMOTE
#include "remote/remote.h"
#endif
#ifdef CONFIG_TPKIT_CMD_FLASH
#include "usb_msd.h"
#endif

#include <stdio.h>
#include <string.h>

static void help(void)
{
	printf("Usage: tpkit usb host|device|flash --slot N [--route ROUTE] [OPTIONS]\n"
#ifdef CONFIG_TPKIT_CMD_FLASH
	       "       tpkit usb msd --slot N [--flash-opt NAME=VALUE]... [OPTIONS]\n"
#endif
	       "       tpkit usb status [--slot LIST] [OPTIONS]\n\n"
	       "Route a node's USB port, as the stock firmware's USB modes do:\n"
	       "  host     the node is USB host (v2.4 only)\n"
	       "  device   the node is a USB device\n"
	       "  flash    device, with the node's USB-boot strap (nodeN-rpiboot) asserted\n"
#ifdef CONFIG_TPKIT_CMD_FLASH
	       "  msd      the node's eMMC as a USB disk of a computer on the BMC's own USB\n"
	       "           port (tpi advanced msd): the node brought up as for a flash (an\n"
	       "           RK1's loader, a CM4's rpiboot), left on, its disk LUN 0 of the\n"
	       "           BMC's USB gadget; the next USB mode change ends it. Through\n"
	       "           tpkit serve when it runs. --flash-opt gives a module's option\n"
	       "           (loader=FILE, rpiboot-dir=DIR, as tpkit flash's --loader ...)\n"
#endif
	       "Other modes release every strap. On a v2.5 board the BMC and the\n"
	       "4XNODE_USB_OTG port take all four nodes at once (a USB hub): what else\n"
	       "changes is printed after the slot asked for. A change that would release\n"
	       "another slot's strap while it is in flash mode is refused without --force.\n\n"
	       "  --slot N           the node (1-4); for status, the slots to show (all by default)\n"
	       "  --route ROUTE      bmc (default): the BMC's own USB host;\n"
	       "                     usb-a: the board's USB-A port (v2.4: any node; v2.5: node 1);\n"
	       "                     usb-c: the 4XNODE_USB_OTG port (v2.5: all nodes at once)\n"
	       "  --force            release another slot's flash strap if need be\n"
	       TP_CLI_COMMON_HELP
	       "\nExit codes: 0 ok, 1 failed (the lines are put back), 2 usage,\n"
	       "3 the board cannot do that (host on v2.5), 4 a line is held elsewhere.\n");
}

/* A strap's level, null when it could not be read (-1). */
static void json_strap(struct tp_json *j, const char *key, int strap)
{
	tp_json_uint_opt(j, key, (uint64_t)(strap > 0), strap >= 0);
}

/* The board-wide routing, then a row for each slot in mask. */
static int do_status(struct tp_cli *c, struct tp_board *b, unsigned mask)
{
	struct tp_usb_state st;
	int rc = tp_usb_status(b, &st);
	bool hub = b->desc->usb_bus == TP_USB_HUB;

	if (rc < 0)
		return tp_cli_fail(c, rc);
	if (c->json) {
		struct tp_json j;

		tp_cli_json_result(c, &j, b, true);
		tp_json_str(&j, "bus", hub ? "hub" : "mux");
		tp_json_bool(&j, "known", st.known);
		if (!st.known)
			tp_json_str(&j, "held_by", st.holder);
		/* "route": where USB goes, board-wide here and per slot below,
		 * named as --route names it (docs/json.md). */
		if (st.known && hub) {
			tp_json_str(&j, "route", st.route_pin ? "bmc" : "usb-c");
			tp_json_bool(&j, "node1_usb_a", st.node1_usb_a);
		} else if (st.known) {
			tp_json_str(&j, "route", st.route_pin ? "bmc" : "usb-a");
			if (st.selected)
				tp_json_int(&j, "selected", st.selected);
			else
				tp_json_null(&j, "selected");
		}
		tp_json_arr_begin(&j, "slots");
		for (unsigned s = 1; s <= TP_BOARD_SLOTS; s++) {
			const struct tp_usb_slot *u = &st.slot[s - 1];

			if (!(mask & TP_SLOT_BIT(s)))
				continue;
			tp_json_obj_begin(&j, NULL);
			tp_json_int(&j, "slot", s);
			tp_json_str(&j, "route", tp_usb_link_name(u->link));
			if (st.known) {
				tp_json_str(&j, "mode", tp_usb_mode_name(u->mode));
				json_strap(&j, "strap", u->strap);
			}
			tp_json_obj_end(&j);
		}
		tp_json_arr_end(&j);
		tp_json_obj_end(&j);
		return TP_EXIT_OK;
	}
	if (!st.known) {
		printf("USB routing unknown: %s\n", st.holder);
		return TP_EXIT_OK;
	}
	if (hub)
		printf("%s: USB hub, upstream to %s (PG2=%d); node 1 on USB-A: %s\n",
		       b->desc->name, st.route_pin ? "the BMC" : "the 4XNODE_USB_OTG port",
		       st.route_pin, st.node1_usb_a ? "yes" : "no");
	else if (st.selected)
		printf("%s: USB mux on slot %d, routed to %s (PG5=%d)\n", b->desc->name,
		       st.selected, st.route_pin ? "the BMC" : "the USB-A port", st.route_pin);
	else
		printf("%s: USB mux selects no slot\n", b->desc->name);
	printf("SLOT  LINK    MODE    STRAP\n");
	for (unsigned s = 1; s <= TP_BOARD_SLOTS; s++) {
		const struct tp_usb_slot *u = &st.slot[s - 1];

		if (!(mask & TP_SLOT_BIT(s)))
			continue;
		printf("%-5u %-7s %-7s %d\n", s, tp_usb_link_name(u->link),
		       tp_usb_mode_name(u->mode), u->strap);
	}
	return TP_EXIT_OK;
}

/* Another slot held in flash mode (its USB-boot strap asserted): a change
 * for this slot would release it, since every mode but flash clears the
 * other straps (hardware.md §6.4). 0 if none. */
static unsigned strapped_other(const struct tp_usb_state *st, unsigned slot)
{
	for (unsigned s = 1; s <= TP_BOARD_SLOTS; s++)
		if (s != slot && st->slot[s - 1].strap == 1)
			return s;
	return 0;
}

/* What changed for a slot the user did not name: a node still reachable
 * somewhere whose link or mode moved (on v2.5 the hub's upstream moves
 * every node), or a strap that went. A node on no link before and after
 * has nothing to tell. */
static bool other_changed(const struct tp_usb_slot *a, const struct tp_usb_slot *z)
{
	if (a->strap != z->strap)
		return true;
	if (a->link == TP_LINK_NONE && z->link == TP_LINK_NONE)
		return false;
	return a->link != z->link || a->mode != z->mode;
}

static void report_others(const struct tp_cli *c, struct tp_json *j, unsigned slot,
			  const struct tp_usb_state *was, const struct tp_usb_state *now)
{
	if (j)
		tp_json_arr_begin(j, "others");
	for (unsigned s = 1; s <= TP_BOARD_SLOTS; s++) {
		const struct tp_usb_slot *a = &was->slot[s - 1], *z = &now->slot[s - 1];

		if (s == slot || !other_changed(a, z))
			continue;
		if (j) {
			tp_json_obj_begin(j, NULL);
			tp_json_int(j, "slot", s);
			tp_json_str(j, "route", tp_usb_link_name(z->link));
			tp_json_str(j, "mode", tp_usb_mode_name(z->mode));
			json_strap(j, "strap", z->strap);
			tp_json_str(j, "was_route", tp_usb_link_name(a->link));
			tp_json_str(j, "was_mode", tp_usb_mode_name(a->mode));
			json_strap(j, "was_strap", a->strap);
			tp_json_obj_end(j);
		} else if (c->verbosity >= 0) {
			printf("slot %u: also changed: %s/%s -> %s/%s%s\n", s,
			       tp_usb_link_name(a->link), tp_usb_mode_name(a->mode),
			       tp_usb_link_name(z->link), tp_usb_mode_name(z->mode),
			       a->strap == 1 && z->strap != 1 ? ", its USB-boot strap released" : "");
		}
	}
	if (j)
		tp_json_arr_end(j);
}

/*
 * While tpkit serve runs on this BMC it owns the lines, and the change goes
 * through it (docs/serve.md section 1), as the API's mode bits
 * (tp_remote_usb_query()); without the BMC's bit the server routes to
 * the board's other port, USB-A on v2.4 and USB-C on v2.5. Node 1 to
 * v2.5's USB-A has no bits: tpkit does that itself. 1 done there, 0 not
 * (no server, or no bits), -errno with the server's reason.
 */
static int apply_served(const struct tp_board *b, unsigned slot, enum tp_usb_mode mode,
			enum tp_usb_route route)
{
#ifdef CONFIG_TPKIT_REMOTE
	enum tp_usb_route other = b->desc->usb_bus == TP_USB_MUX ? TP_ROUTE_USB_A : TP_ROUTE_USB_C;
	char q[TP_REMOTE_QUERY_MAX];
	const char *qs[] = { q };

	if (route != TP_ROUTE_BMC && route != other)
		return 0;
	tp_remote_usb_query(q, slot, mode, route == TP_ROUTE_BMC);
	return tp_remote_served_set(qs, 1);
#else
	(void)b, (void)slot, (void)mode, (void)route;
	return 0;
#endif
}

static int do_set(struct tp_cli *c, struct tp_board *b, unsigned slot, enum tp_usb_mode mode,
		  enum tp_usb_route route, bool force)
{
	struct tp_usb_plan plan;
	struct tp_usb_state was, now;
	bool known;
	unsigned held;
	int rc;

	rc = tp_usb_plan(b->desc, slot, mode, route, &plan);
	if (rc < 0)
		return tp_cli_fail(c, rc);
	/* The lines as they are, to refuse releasing another slot's strap
	 * and to say afterwards what else moved. Unknown (a line held
	 * elsewhere): applying says so. */
	known = tp_usb_status(b, &was) == 0 && was.known;
	held = known ? strapped_other(&was, slot) : 0;
	if (held && !force)
		return tp_cli_fail(c, tp_err_set(-EPERM, "slot %u is in flash mode (its USB-boot "
						 "strap is asserted), and USB %s for slot %u "
						 "would release it; finish with slot %u first "
						 "(tpkit usb device --slot %u), or pass --force",
						 held, tp_usb_mode_name(mode), slot, held, held));
	if ((rc = apply_served(b, slot, mode, route)) == 0) {
		/* As bmcd: a USB mode change ends usb msd's export. */
		if (tp_gadget_msd_withdraw() < 0)
			TP_WARN("%s", tp_err_msg());
		rc = tp_usb_apply(b, &plan);
	}
	if (rc < 0)
		return tp_cli_fail(c, rc);
	known = known && tp_usb_status(b, &now) == 0 && now.known;
	if (c->json) {
		struct tp_json j;

		tp_cli_json_result(c, &j, b, true);
		tp_json_int(&j, "slot", slot);
		tp_json_str(&j, "mode", tp_usb_mode_name(mode));
		tp_json_str(&j, "route", tp_usb_route_name(route));
		if (known)
			report_others(c, &j, slot, &was, &now);
		tp_json_obj_end(&j);
	} else if (c->verbosity >= 0) {
		printf("slot %u: USB %s via %s\n", slot, tp_usb_mode_name(mode),
		       tp_usb_route_name(route));
		if (known)
			report_others(c, NULL, slot, &was, &now);
	}
	return TP_EXIT_OK;
}

#ifdef CONFIG_TPKIT_CMD_FLASH
#define ACTIONS "host, device, flash, msd or status"
#else
#define ACTIONS "host, device, flash or status"
#endif

int cmd_usb_main(struct tp_cli *c, int argc, char **argv)
{
	const char *slots = NULL, *routestr = "bmc";
	bool force = false, msd = false;
	struct tp_flash_opts fo = { .nmopt = 0 }; /* msd's --flash-opt */
	const struct tp_cli_opt opts[] = { { "slot", 's', TP_CLI_STR, &slots },
					   { "route", 'r', TP_CLI_STR, &routestr },
					   { "force", 0, TP_CLI_FLAG, &force },
#ifdef CONFIG_TPKIT_CMD_FLASH
					   { "flash-opt", 0, TP_CLI_FN, &fo, tp_cli_flash_opt },
#endif
					   { 0 } };
	enum tp_usb_mode mode = TP_USB_DEVICE;
	enum tp_usb_route route;
	struct tp_board *b = NULL;
	unsigned mask = 0, slot = 0;
	bool status;
	int rc;

	if ((rc = tp_cli_parse(c, argc, argv, opts, help, TP_CLI_ARGS)) != TP_CLI_GO)
		return rc;
	if (optind != argc - 1)
		return tp_cli_usage(c, "give one action: " ACTIONS);
	status = !strcmp(argv[optind], "status");
#ifdef CONFIG_TPKIT_CMD_FLASH
	msd = !strcmp(argv[optind], "msd");
#endif
	if (status && force)
		return tp_cli_usage(c, "--force goes with host, device or flash");
	if (fo.nmopt && !msd)
		return tp_cli_usage(c, "--flash-opt goes with msd");
	if (msd && (force || strcmp(routestr, "bmc")))
		return tp_cli_usage(c, "msd takes --slot N and --flash-opt (no --force or --route: "
				    "the disk is on the BMC's own port)");
	if (status) {
		mask = TP_SLOTS_ALL;
		if (slots && tp_slots_parse(slots, TP_BOARD_SLOTS, &mask) < 0)
			return tp_cli_usage(c, "%s", tp_err_msg());
	} else {
		if (!msd && tp_usb_mode_parse(argv[optind], &mode) < 0)
			return tp_cli_usage(c, "unknown action \"%s\"; use " ACTIONS,
					    argv[optind]);
		if (!slots)
			return tp_cli_usage(c, "%s needs --slot N", argv[optind]);
		if (tp_slots_parse(slots, TP_BOARD_SLOTS, &mask) < 0)
			return tp_cli_usage(c, "%s", tp_err_msg());
		if (tp_slots_count(mask) != 1)
			return tp_cli_usage(c, "USB routing takes one slot, not \"%s\"", slots);
		slot = (unsigned)__builtin_ffs((int)mask);
	}
	if (tp_usb_route_parse(routestr, &route) < 0)
		return tp_cli_usage(c, "%s", tp_err_msg());
	rc = tp_cli_board_open(c, &b);
	if (rc)
		return rc;
	if (!status && (rc = tp_cli_board_recover(c, b))) {
		tp_board_close(b);
		return rc;
	}
#ifdef CONFIG_TPKIT_CMD_FLASH
	if (msd)
		rc = tp_usb_msd_run(c, b, slot, &fo);
	else
#endif
		rc = status ? do_status(c, b, mask) : do_set(c, b, slot, mode, route, force);
	tp_board_close(b);
	return rc;
}
