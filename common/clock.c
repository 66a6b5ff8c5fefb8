// SPDX-License-Identifier: MIT
#include "clock.h"
#include "cancel.h"
#include "err.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int sys_now(void *cookie, uint64_t *ns)
{
	struct timespec ts;

	(void)cookie;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		return tp_err_set(-errno, "clock_gettime(CLOCK_MONOTONIC): %s", strerror(errno));
	*ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	return 0;
}

static int sys_sleep(void *cookie, uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000u),
			       .tv_nsec = (long)(ns % 1000000000u) };
	int rc;

	(void)cookie;
	/* Relative sleep, restarted with the remainder after a signal. */
	while ((rc = clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts)) == EINTR)
		;
	return rc ? tp_err_set(-rc, "sleep failed: %s", strerror(rc)) : 0;
}

static const struct tp_clock_ops sys_clock = {
	.name = "system",
	.now_ns = sys_now,
	.sleep_ns = sys_sleep,
};

static const struct tp_clock_ops *clock_ops = &sys_clock;
static void *clock_cookie;
static int clock_virt = -1; /* tp_clock_virtual's answer once asked; -1: not yet */
/* The first failed read of the chosen clock (tp_clock_error); any thread. */
static pthread_mutex_t lost_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tp_err_ctx lost;

bool tp_clock_virtual(void)
{
	if (clock_virt < 0)
		clock_virt = clock_ops != &sys_clock &&
			     !(clock_ops->self_moving && clock_ops->self_moving(clock_cookie));
	return clock_virt;
}

void tp_clock_use(const struct tp_clock_ops *ops, void *cookie)
{
	clock_ops = ops ? ops : &sys_clock;
	clock_cookie = cookie;
	clock_virt = -1;
	pthread_mutex_lock(&lost_lock);
	lost.rc = 0;
	pthread_mutex_unlock(&lost_lock);
}

int tp_clock_open(const char *spec)
{
	if (!spec || !*spec)
		spec = getenv("TPKIT_CLOCK");
	if (!spec || !*spec || !strcmp(spec, "system"))
		return 0;
#ifdef CONFIG_TPKIT_CLOCK_SIM
	if (!strncmp(spec, "sim:", 4))
		return tp_clock_sim_open(spec + 4);
#endif
	return tp_err_set(-EINVAL, "clock \"%s\" is not built into this tpkit (TPKIT_CLOCK): "
			  "system%s", spec,
#ifdef CONFIG_TPKIT_CLOCK_SIM
			  " or sim:SOCKET"
#else
			  ""
#endif
	);
}

void tp_clock_close(void)
{
	const struct tp_clock_ops *ops = clock_ops;
	void *cookie = clock_cookie;

	tp_clock_use(NULL, NULL);
	if (ops->close)
		ops->close(cookie);
}

uint64_t tp_clock_now_ns(void)
{
	uint64_t ns = 0;
	int rc = clock_ops->now_ns(clock_cookie, &ns);

	if (rc < 0) {
		rc = tp_err_prefix(rc, "reading the %s clock: ", clock_ops->name);
		pthread_mutex_lock(&lost_lock);
		(void)tp_err_save_first(&lost, rc);
		pthread_mutex_unlock(&lost_lock);
		return 0;
	}
	return ns;
}

uint64_t tp_clock_real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int tp_clock_error(void)
{
	int rc = 0;

	pthread_mutex_lock(&lost_lock);
	if (lost.rc)
		rc = tp_err_restore(&lost);
	pthread_mutex_unlock(&lost_lock);
	return rc;
}

int tp_clock_sleep_ms(unsigned ms)
{
	/* Every poll loop sleeps through here, so a cancelled job stops
	 * polling at once instead of waiting out its timeout. */
	int rc = tp_cancel_check();

	if (rc < 0)
		return rc;
	return clock_ops->sleep_ns(clock_cookie, (uint64_t)ms * 1000000u);
}

int tp_clock_delay_ms(unsigned ms)
{
	return clock_ops->sleep_ns(clock_cookie, (uint64_t)ms * 1000000u);
}
