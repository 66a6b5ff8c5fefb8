// SPDX-License-Identifier: MIT
/*
 * USB routes (serve.md §5): usb, usb_node1, usb_boot, clear_usb_boot.
 * Routing goes through the plans tpkit usb applies (board/turingpi2/usb.h),
 * and "get" reads the lines, not a record (docs/serve.md).
 */
#include "serve.h"
#include "board/turingpi2/usb.h"
#include "common/err.h"
#include "common/json.h"
#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int status_read(struct tp_req *r, struct tp_usb_state *st)
{
	int rc;

	pthread_mutex_lock(&r->srv->board_lock);
	rc = tp_usb_status(r->srv->board, st);
	pthread_mutex_unlock(&r->srv->board_lock);
	if (rc == 0 && !st->known)
		rc = tp_err_set(-EBUSY, "%s", st->holder);
	return rc;
}

/* Apply a plan; slot, when not 0, becomes the node "get usb" names: bmcd's
 * answer names one node, and on a v2.5 hub the lines alone do not say
 * which one a client chose. */
static int plan_apply(struct tp_req *r, const struct tp_usb_plan *p, unsigned slot)
{
	int rc;

	pthread_mutex_lock(&r->srv->board_lock);
	rc = tp_usb_apply(r->srv->board, p);
	if (rc == 0 && slot)
		r->srv->usb_node = slot;
	pthread_mutex_unlock(&r->srv->board_lock);
	return rc;
}

static const char *mode_word(enum tp_usb_mode m)
{
	return m == TP_USB_HOST ? "Host" : m == TP_USB_FLASH ? "Flash" : "Device";
}

int tp_api_usb_get(struct tp_req *r)
{
	const struct tp_board_desc *d = r->srv->board->desc;
	struct tp_usb_state st;
	struct tp_env e;
	unsigned node;
	char word[16];
	int rc;

	if ((rc = status_read(r, &st)) == -EBUSY && (node = tp_api_flash_running(r->srv))) {
		/* The flash holds the routing lines, and is what they say:
		 * its node in flash mode through the BMC. */
		st.slot[node - 1].mode = TP_USB_FLASH;
		st.slot[node - 1].link = TP_LINK_BMC;
		st.selected = (int)node;
	} else if (rc < 0) {
		return tp_env_fail(r, "get USB mode", rc);
	} else {
		pthread_mutex_lock(&r->srv->board_lock);
		node = r->srv->usb_node;
		pthread_mutex_unlock(&r->srv->board_lock);
	}
	if (d->usb_bus == TP_USB_MUX && st.selected)
		node = (unsigned)st.selected;
	if (tp_env_begin(&e) < 0)
		return tp_env_error(r, 500, "out of memory");
	snprintf(word, sizeof(word), "Node %u", node);
	tp_json_arr_begin(e.json, "result");
	tp_json_obj_begin(e.json, NULL);
	tp_json_str(e.json, "mode", mode_word(st.slot[node - 1].mode));
	tp_json_str(e.json, "node", word);
	tp_json_str(e.json, "route", st.slot[node - 1].link == TP_LINK_BMC ? "Bmc" :
				     "AlternativePort");
	tp_json_str(e.json, "bus_type", d->usb_bus == TP_USB_MUX ? "Single bus" : "Usb hub");
	tp_json_obj_end(e.json);
	tp_json_arr_end(e.json);
	return tp_env_send(r, &e, 200);
}

int tp_api_usb_set(struct tp_req *r)
{
	const struct tp_board_desc *d = r->srv->board->desc;
	static const enum tp_usb_mode modes[] = { TP_USB_HOST, TP_USB_DEVICE, TP_USB_FLASH };
	const char *v = tp_query_get(&r->q, "mode");
	enum tp_usb_route route;
	struct tp_usb_plan p;
	unsigned slot;
	unsigned long m;
	char *end;
	int rc;

	if (tp_query_node(&r->q, &slot) < 0)
		return tp_env_error(r, 400, "%s", tp_err_msg());
	if (!v)
		return tp_env_error(r, 400, "Missing `mode` parameter");
	m = strtoul(v, &end, 10);
	/* Bits 1-0 the mode, bit 2 the BMC; 3 and 7 crash bmcd
	 * (serve.md §5), here they are refused. */
	if (!*v || *end || m > 7 || (m & 3) == 3)
		return tp_env_error(r, 400, "Invalid `mode` parameter %.20s: 0-2 (host, device, "
				    "flash), plus 4 to route to the BMC", v);
	route = m & 4 ? TP_ROUTE_BMC : d->usb_bus == TP_USB_MUX ? TP_ROUTE_USB_A : TP_ROUTE_USB_C;
	/* As bmcd: a USB mode change ends node_to_msd's export (api_msd.c). */
	tp_api_msd_drop(r->srv, 0);
	if ((rc = tp_usb_plan(d, slot, modes[m & 3], route, &p)) < 0 ||
	    (rc = plan_apply(r, &p, slot)) < 0)
		return tp_env_fail(r, "set USB mode", rc);
	tp_log(TP_LOG_INFO, "slot %u: USB %s via %s", slot, tp_usb_mode_name(modes[m & 3]),
	       tp_usb_route_name(route));
	return tp_env_ok(r);
}

static int need_hub(struct tp_req *r, const char *what)
{
	if (r->srv->board->desc->usb_bus == TP_USB_HUB)
		return 0;
	return tp_env_error(r, 500, "Failed to %s: This command is only available on v2.5+ "
			    "boards", what);
}

int tp_api_usb_node1_get(struct tp_req *r)
{
	struct tp_usb_state st;
	struct tp_env e;
	int rc;

	if ((rc = need_hub(r, "get node 1's USB port")))
		return rc;
	if ((rc = status_read(r, &st)) < 0)
		return tp_env_fail(r, "get node 1's USB port", rc);
	if (tp_env_begin(&e) < 0)
		return tp_env_error(r, 500, "out of memory");
	tp_json_bool(e.json, "result", st.node1_usb_a);
	return tp_env_send(r, &e, 200);
}

int tp_api_usb_node1_set(struct tp_req *r)
{
	struct tp_usb_state st;
	struct tp_usb_plan p;
	enum tp_usb_route route;
	int rc;

	if ((rc = need_hub(r, "set node 1's USB port")))
		return rc;
	if ((rc = status_read(r, &st)) < 0)
		return tp_env_fail(r, "set node 1's USB port", rc);
	/* Away from USB-A, node 1 goes back to where the hub is routed. */
	route = tp_query_get(&r->q, "alternative_port") ? TP_ROUTE_USB_A :
		st.route_pin ? TP_ROUTE_BMC : TP_ROUTE_USB_C;
	if ((rc = tp_usb_plan(r->srv->board->desc, 1, st.slot[0].mode == TP_USB_FLASH ?
			      TP_USB_FLASH : TP_USB_DEVICE, route, &p)) < 0 ||
	    (rc = plan_apply(r, &p, 0)) < 0)
		return tp_env_fail(r, "set node 1's USB port", rc);
	return tp_env_ok(r);
}

/* The straps alone (nodeN-rpiboot), as bmcd's usb_boot and clear_usb_boot. */
static int straps(struct tp_req *r, unsigned mask, int value, const char *what)
{
	struct tp_usb_plan p = { 0 };
	int rc;

	for (unsigned s = 1; s <= TP_BOARD_SLOTS; s++) {
		if (!(mask & (1u << (s - 1))))
			continue;
		tp_line_name(p.step[p.n].name, sizeof(p.step[p.n].name), s, "rpiboot");
		p.step[p.n++].value = value;
	}
	if ((rc = plan_apply(r, &p, 0)) < 0)
		return tp_env_fail(r, what, rc);
	return tp_env_ok(r);
}

int tp_api_usb_boot_set(struct tp_req *r)
{
	unsigned slot;

	if (tp_query_node(&r->q, &slot) < 0)
		return tp_env_error(r, 400, "%s", tp_err_msg());
	return straps(r, 1u << (slot - 1), 1, "set the USB boot strap");
}

int tp_api_clear_usb_boot(struct tp_req *r)
{
	/* tpi sends node, bmcd ignores it: every strap is released. */
	return straps(r, (1u << TP_BOARD_SLOTS) - 1, 0, "clear the USB boot straps");
}
