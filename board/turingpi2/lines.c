// SPDX-License-Identifier: MIT
#include "board.h"
#include "flashmode.h"
#include "gpio.h"
#include "common/err.h"
#include "common/log.h"

#include <stdio.h>
#include <string.h>

static int busy_error(const struct tp_line *l, const char *consumer)
{
	const char *hint;
	char what[32];
	int pid;

	/* Another tpkit: name it, from its flash-mode record when it has one
	 * (docs/recovery.md), rather than send the user to gpioinfo. */
	if (!strcmp(l->holder, consumer)) {
		if ((pid = tp_flashmode_owner(what, sizeof(what))) > 0)
			return tp_err_set(-EBUSY, "GPIO line %s is held by another tpkit (pid %d, "
					  "in flash mode for its %s); wait for it to end, or stop "
					  "it (kill %d puts the board back). Nothing was changed.",
					  l->name, pid, what, pid);
		return tp_err_set(-EBUSY, "another tpkit holds GPIO line %s (a power or USB "
				  "change under way); retry when it ends. Nothing was changed.",
				  l->name);
	}
	/* The stock daemon holds every node line for its whole life
	 * (hardware.md §3.1), so it is by far the likeliest holder. */
	if (strstr(l->holder, "bmcd"))
		hint = "the stock BMC daemon bmcd holds the node lines while it runs: "
		       "stop it with `/etc/init.d/S94bmcd stop` (start it again "
		       "afterwards), then retry";
	else
		hint = "find the process with `gpioinfo`, stop it, then retry "
		       "(if it is bmcd: `/etc/init.d/S94bmcd stop`)";
	return tp_err_set(-EBUSY, "GPIO line %s (%s line %u) is held by \"%s\"; %s. Nothing was "
			  "changed.",
			  l->name, l->chip, l->offset, l->holder[0] ? l->holder : "another process",
			  hint);
}

static int claim_one(struct tp_lines *ls, const struct tp_board_desc *d, const char *name,
		     const char *consumer, unsigned flags)
{
	struct tp_line *l = &ls->l[ls->n];
	const struct tp_pin *pin = d ? tp_board_pin(d, name) : NULL;
	int rc;

	memset(l, 0, sizeof(*l));
	snprintf(l->name, sizeof(l->name), "%s", name);
	l->value = -1;
	if (pin) {
		/* Raw SoC pins are unnamed; address them by chip and offset, and
		 * only after the revision check gave them this meaning (§3.1). */
		snprintf(l->chip, sizeof(l->chip), "%s", d->soc_chip);
		l->offset = pin->offset;
	} else {
		rc = ls->gpio->ops->find(ls->gpio, l);
		if (rc < 0)
			return tp_err_prefix(rc, "GPIO line %s: ", name);
	}
	ls->n++;
	rc = ls->gpio->ops->request(ls->gpio, l, consumer);
	if (rc == -EBUSY && (flags & TP_LINES_TOLERATE_BUSY)) {
		TP_DBG("%s is held by %s; its state is unknown", l->name, l->holder);
		return 0;
	}
	if (rc == -EBUSY)
		return busy_error(l, consumer);
	if (rc < 0)
		return tp_err_prefix(rc, "GPIO line %s (%s line %u): ", l->name, l->chip,
				     l->offset);
	l->held = true;
	return 0;
}

int tp_lines_claim(struct tp_lines *ls, struct tp_gpio *g, const struct tp_board_desc *d,
		   const char *const *names, size_t n, const char *consumer, unsigned flags)
{
	int rc;

	memset(ls, 0, sizeof(*ls));
	ls->gpio = g;
	if (n > TP_LINES_MAX)
		return tp_err_set(-E2BIG, "too many GPIO lines in one set (%zu)", n);
	for (size_t i = 0; i < n; i++) {
		if (tp_lines_find(ls, names[i]))
			continue;
		rc = claim_one(ls, d, names[i], consumer, flags);
		if (rc < 0) {
			tp_lines_release(ls);
			return rc;
		}
	}
	return 0;
}

struct tp_line *tp_lines_find(struct tp_lines *ls, const char *name)
{
	for (size_t i = 0; i < ls->n; i++)
		if (!strcmp(ls->l[i].name, name))
			return &ls->l[i];
	return NULL;
}

int tp_lines_set(struct tp_lines *ls, const char *name, int value)
{
	struct tp_line *l = tp_lines_find(ls, name);
	int rc;

	if (!l || !l->held)
		return tp_err_set(-EPERM, "GPIO line %s is not held by tpkit", name);
	rc = ls->gpio->ops->set(ls->gpio, l, value);
	if (rc < 0)
		return tp_err_prefix(rc, "setting GPIO line %s (%s line %u) to %d: ", l->name,
				     l->chip, l->offset, value);
	l->value = value;
	TP_DBG("gpio %s = %d", l->name, value);
	return 0;
}

int tp_lines_get(struct tp_lines *ls, const char *name)
{
	struct tp_line *l = tp_lines_find(ls, name);
	int v;

	if (!l || !l->held)
		return -1;
	if (ls->gpio->ops->get(ls->gpio, l, &v) < 0)
		return -1;
	l->value = v;
	return v;
}

void tp_lines_release(struct tp_lines *ls)
{
	for (size_t i = 0; i < ls->n; i++) {
		if (ls->l[i].held)
			ls->gpio->ops->release(ls->gpio, &ls->l[i]);
		ls->l[i].held = false;
	}
}
