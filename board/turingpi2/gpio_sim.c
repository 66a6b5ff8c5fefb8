// SPDX-License-Identifier: MIT
/*
 * GPIO lines of the board twin (tests/twin, docs/twin.md), over its socket
 * (common/simlink.h). This is how the real tpkit binary is driven in tests:
 * everything above this file is the code that runs on the BMC. The twin's
 * clock is a separate backend (common/clock_sim.c), chosen on its own.
 */
#include "gpio.h"
#include "common/simlink.h"
#include "common/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int sim_open(struct tp_gpio *g, const char *arg)
{
	struct tp_simlink *l;
	int rc = tp_simlink_open(arg, &l);

	if (rc < 0)
		return tp_err_prefix(rc, "TPKIT_GPIO=sim: ");
	g->priv = l;
	return 0;
}

static void sim_close(struct tp_gpio *g)
{
	tp_simlink_close(g->priv);
}

static int sim_find(struct tp_gpio *g, struct tp_line *l)
{
	char reply[128];
	int rc = tp_simlink_call(g->priv, reply, sizeof(reply), "FIND %s", l->name);

	if (rc == -ENOENT)
		return tp_err_set(rc, "no GPIO line is named %s on this board", l->name);
	if (rc < 0)
		return tp_err_set(rc, "%s", reply);
	if (sscanf(reply, "%31s %u", l->chip, &l->offset) != 2)
		return tp_err_set(-EPROTO, "board twin: bad FIND reply \"%s\"", reply);
	return 0;
}

static int sim_request(struct tp_gpio *g, struct tp_line *l, const char *consumer)
{
	char reply[128];
	int rc = tp_simlink_call(g->priv, reply, sizeof(reply), "REQUEST %s %u %s", l->chip, l->offset,
			  consumer);

	if (rc == -EBUSY) {
		snprintf(l->holder, sizeof(l->holder), "%s", reply);
		return rc;
	}
	if (rc < 0)
		return tp_err_set(rc, "request refused: %s", reply);
	l->value = atoi(reply);
	return 0;
}

static int sim_get(struct tp_gpio *g, struct tp_line *l, int *value)
{
	char reply[128];
	int rc = tp_simlink_call(g->priv, reply, sizeof(reply), "GET %s %u", l->chip, l->offset);

	if (rc < 0)
		return tp_err_set(rc, "%s", reply);
	*value = atoi(reply);
	return 0;
}

static int sim_set(struct tp_gpio *g, struct tp_line *l, int value)
{
	char reply[128];
	int rc = tp_simlink_call(g->priv, reply, sizeof(reply), "SET %s %u %d", l->chip, l->offset,
			  value);

	return rc < 0 ? tp_err_set(rc, "%s (%s)", strerror(-rc), reply) : 0;
}

static void sim_release(struct tp_gpio *g, struct tp_line *l)
{
	char reply[128];

	tp_simlink_call(g->priv, reply, sizeof(reply), "RELEASE %s %u", l->chip, l->offset);
}

const struct tp_gpio_ops tp_gpio_sim_ops = {
	.name = "sim",
	.open = sim_open,
	.close = sim_close,
	.find = sim_find,
	.request = sim_request,
	.get = sim_get,
	.set = sim_set,
	.release = sim_release,
};
