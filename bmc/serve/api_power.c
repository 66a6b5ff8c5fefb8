// SPDX-License-Identifier: MIT
/*
 * Power routes (serve.md §5): get, set, reset. Unlike bmcd, whose "get"
 * reads a record of what it last wrote, the state is read from the
 * regulators and enable lines each time, through the functions tpkit power
 * uses (board/turingpi2/power.h); serve.md §7.
 */
#include "serve.h"
#include "board/turingpi2/power.h"
#include "common/err.h"
#include "common/json.h"
#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* "1" on, "0" off, as strings (serve.md §4.2); a slot whose regulator and
 * enable disagree, or whose line another process holds, is "Unknown", the
 * word bmcd uses for a state it cannot tell. */
static const char *power_value(const struct tp_slot_power *p)
{
	const char *w = tp_power_word(p);

	return !strcmp(w, "on") ? "1" : !strcmp(w, "off") ? "0" : "Unknown";
}

int tp_api_power_get(struct tp_req *r)
{
	struct tp_slot_power st[TP_BOARD_SLOTS];
	struct tp_env e;
	int rc;

	pthread_mutex_lock(&r->srv->board_lock);
	rc = tp_power_status(r->srv->board, (1u << TP_BOARD_SLOTS) - 1, st);
	pthread_mutex_unlock(&r->srv->board_lock);
	if (rc < 0)
		return tp_env_fail(r, "get power state", rc);
	if (tp_env_begin(&e) < 0)
		return tp_env_error(r, 500, "out of memory");
	tp_json_arr_begin(e.json, "result");
	tp_json_obj_begin(e.json, NULL);
	for (unsigned s = 1; s <= TP_BOARD_SLOTS; s++) {
		char key[8];

		snprintf(key, sizeof(key), "node%u", s);
		tp_json_str(e.json, key, power_value(&st[s - 1]));
	}
	tp_json_obj_end(e.json);
	tp_json_arr_end(e.json);
	return tp_env_send(r, &e, 200);
}

/* Apply op to mask; on success the slots switched on get their power-on
 * time (node_info's power_on_time). The first failing slot's message is
 * left current. */
static int apply(struct tp_req *r, unsigned mask, enum tp_power_op op)
{
	struct tp_power_result res[TP_BOARD_SLOTS];
	int rc;

	if (!mask)
		return 0;
	/* A node going off or through reset takes its disk off the BMC's
	 * USB gadget with it (api_msd.c). */
	for (unsigned s = 1; s <= TP_BOARD_SLOTS && op != TP_POWER_ON; s++)
		if (mask & (1u << (s - 1)))
			tp_api_msd_drop(r->srv, s);
	pthread_mutex_lock(&r->srv->board_lock);
	rc = tp_power_apply(r->srv->board, mask, op, CONFIG_TPKIT_POWER_STAGGER_MS, res);
	for (unsigned s = 1; s <= TP_BOARD_SLOTS; s++) {
		struct tp_serve_node *n = &r->srv->node[s - 1];

		if (!(mask & (1u << (s - 1))) || res[s - 1].rc < 0)
			continue;
		if (op == TP_POWER_OFF)
			n->power_on_ms = 0;
		else if (res[s - 1].changed || op == TP_POWER_RESET)
			n->power_on_ms = tp_serve_now_ms();
		tp_log(TP_LOG_INFO, "slot %u: power %s%s", s,
		       op == TP_POWER_RESET ? "reset" : op == TP_POWER_ON ? "on" : "off",
		       res[s - 1].changed ? "" : " (already)");
	}
	pthread_mutex_unlock(&r->srv->board_lock);
	return rc;
}

int tp_api_power_set(struct tp_req *r)
{
	unsigned on = 0, off = 0;
	int rc;

	for (unsigned s = 1; s <= TP_BOARD_SLOTS; s++) {
		char key[8];
		const char *v;

		snprintf(key, sizeof(key), "node%u", s);
		if (!(v = tp_query_get(&r->q, key)))
			continue;
		if (!strcmp(v, "1"))
			on |= 1u << (s - 1);
		else if (!strcmp(v, "0"))
			off |= 1u << (s - 1);
		else
			return tp_env_error(r, 400, "Invalid value `%.40s` for parameter `%s`", v,
					    key);
	}
	/* bmcd answers an empty mask with a 500; it is the request's fault. */
	if (!on && !off)
		return tp_env_error(r, 400, "no node to switch: give node1..node4 = 0 or 1");
	/* Off first: a request that moves one node off and another on never
	 * has both drawing at once. */
	if ((rc = apply(r, off, TP_POWER_OFF)) < 0 || (rc = apply(r, on, TP_POWER_ON)) < 0)
		return tp_env_fail(r, "set power", rc);
	return tp_env_ok(r);
}

int tp_api_reset(struct tp_req *r)
{
	unsigned slot;
	int rc;

	if (tp_query_node(&r->q, &slot) < 0)
		return tp_env_error(r, 400, "%s", tp_err_msg());
	/* off, 1 s, on, as bmcd; but the state afterwards is read from the
	 * lines, so "get power" never disagrees with a reset node. */
	if ((rc = apply(r, 1u << (slot - 1), TP_POWER_RESET)) < 0)
		return tp_env_fail(r, "reset node", rc);
	return tp_env_ok(r);
}
