// SPDX-License-Identifier: MIT
/*
 * The board twin's virtual clock (docs/twin.md): NOW reads it, SLEEP
 * advances it. With it, a test's 10-second timeout passes in no real time
 * and every delay in a timeline is exact. Chosen by TPKIT_CLOCK=sim:PATH
 * (clock.c), independently of the GPIO backend.
 */
#include "clock.h"
#include "err.h"
#include "simlink.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static int sim_now(void *cookie, uint64_t *ns)
{
	char reply[64];
	int rc = tp_simlink_call(cookie, reply, sizeof(reply), "NOW");

	if (rc < 0)
		return rc;
	*ns = strtoull(reply, NULL, 10);
	return 0;
}

static int sim_sleep(void *cookie, uint64_t ns)
{
	char reply[64];

	return tp_simlink_call(cookie, reply, sizeof(reply), "SLEEP %" PRIu64, ns);
}

static void sim_close(void *cookie)
{
	tp_simlink_close(cookie);
}

/* The twin says whether its clock follows real time (--real-clock). */
static bool sim_self_moving(void *cookie)
{
	char reply[64];

	return tp_simlink_call(cookie, reply, sizeof(reply), "CLOCK") == 0 &&
	       !strcmp(reply, "real");
}

static const struct tp_clock_ops sim_clock = {
	.name = "twin",
	.now_ns = sim_now,
	.sleep_ns = sim_sleep,
	.close = sim_close,
	.self_moving = sim_self_moving,
};

int tp_clock_sim_open(const char *socket_path)
{
	struct tp_simlink *l;
	int rc = tp_simlink_open(socket_path, &l);

	if (rc < 0)
		return tp_err_prefix(rc, "TPKIT_CLOCK=sim: ");
	tp_clock_use(&sim_clock, l);
	return 0;
}
