// SPDX-License-Identifier: MIT
/*
 * The hub's upstream line, shared by the flash modes of one process.
 *
 * On a hub board (v2.5+, hardware.md §6.3) one pin steers the upstream of
 * the hub every node sits behind, so each slot's flash mode needs it at 1.
 * A process that enters flash mode for slots apart — tpkit serve, one job
 * per slot, each on a board handle of its own — cannot claim that pin once
 * per job: the second claim finds it busy. So the pin is held here, once
 * per process: the first job claims it on a GPIO handle of its own (the
 * jobs' handles come and go) and remembers its value; later jobs join; the
 * last to leave puts the value back and releases it. Another process still
 * finds the pin busy, as before.
 */
#include "flashmode.h"
#include "common/err.h"

#include <pthread.h>
#include <string.h>

static struct {
	pthread_mutex_t lock;
	unsigned users;
	struct tp_gpio *gpio;
	struct tp_lines ls;
	const char *pin;
	int before;              /* the pin's value when the first joined */
} hub = { .lock = PTHREAD_MUTEX_INITIALIZER };

int tp_hub_hold_join(struct tp_board *b, int *before)
{
	const char *pin = b->desc->hub_upstream;
	int rc = 0;

	if (!pin)
		return tp_err_set(-EINVAL, "a %s board has no hub upstream to hold", b->desc->name);
	pthread_mutex_lock(&hub.lock);
	if (hub.users == 0) {
		rc = tp_gpio_open(&hub.gpio, b->gpio_spec[0] ? b->gpio_spec : NULL);
		if (rc == 0) {
			rc = tp_lines_claim(&hub.ls, hub.gpio, b->desc, &pin, 1, b->consumer, 0);
			if (rc < 0) {
				tp_gpio_close(hub.gpio);
				hub.gpio = NULL;
			}
		}
		if (rc == 0) {
			hub.pin = pin;
			hub.before = hub.ls.l[0].value;
		}
	}
	if (rc == 0) {
		hub.users++;
		*before = hub.before;
	}
	pthread_mutex_unlock(&hub.lock);
	return rc;
}

int tp_hub_hold_set(int value)
{
	int rc;

	pthread_mutex_lock(&hub.lock);
	rc = hub.users ? tp_lines_set(&hub.ls, hub.pin, value) :
			 tp_err_set(-EPERM, "the hub upstream is not held");
	pthread_mutex_unlock(&hub.lock);
	return rc;
}

int tp_hub_hold_keep(void)
{
	int rc = 0;

	pthread_mutex_lock(&hub.lock);
	if (hub.users)
		hub.before = hub.ls.l[0].value;
	else
		rc = tp_err_set(-EPERM, "the hub upstream is not held");
	pthread_mutex_unlock(&hub.lock);
	return rc;
}

int tp_hub_hold_leave(void)
{
	int rc = 0;

	pthread_mutex_lock(&hub.lock);
	if (hub.users && --hub.users == 0) {
		/* Its value as the first job found it: what the other jobs
		 * recorded too, so a crash's records all agree. */
		if (hub.before >= 0 && hub.ls.l[0].value != hub.before)
			rc = tp_lines_set(&hub.ls, hub.pin, hub.before);
		tp_lines_release(&hub.ls);
		tp_gpio_close(hub.gpio);
		hub.gpio = NULL;
	}
	pthread_mutex_unlock(&hub.lock);
	return rc;
}
