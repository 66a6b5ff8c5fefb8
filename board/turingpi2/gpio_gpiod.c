// SPDX-License-Identifier: MIT
/*
 * libgpiod v1.6 backend: the API line the BMC's Buildroot ships
 * (hardware.md §3.1, §12). Chips are enumerated under the root prefix and
 * lines looked up by name across all of them, never by hard-coded chip
 * number: the aggregator is gpiochip1 on v2.4 but gpiochip2 on v2.5.
 */
#include "gpio.h"
#include "common/err.h"
#include "common/path.h"

#include <dirent.h>
#include <gpiod.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CHIPS 8

struct gpiod_be {
	struct gpiod_chip *chip[MAX_CHIPS];
	size_t nchips;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int be_open(struct tp_gpio *g, const char *arg)
{
	char dev[TP_PATH_MAX], *names[MAX_CHIPS];
	size_t nnames = 0;
	struct gpiod_be *be;
	struct dirent *de;
	DIR *d;
	int rc;

	(void)arg;
	rc = tp_path(dev, sizeof(dev), "/dev");
	if (rc < 0)
		return rc;
	d = opendir(dev);
	if (!d)
		return tp_err_set(-errno, "cannot list %s: %s", dev, strerror(errno));
	while ((de = readdir(d)) && nnames < MAX_CHIPS)
		if (!strncmp(de->d_name, "gpiochip", 8))
			names[nnames++] = strdup(de->d_name);
	closedir(d);
	qsort(names, nnames, sizeof(names[0]), cmp_str);

	be = calloc(1, sizeof(*be));
	if (!be) {
		rc = tp_err_set(-ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < nnames; i++) {
		char path[TP_PATH_MAX];

		if (!names[i])
			continue;
		snprintf(path, sizeof(path), "%s/%s", dev, names[i]);
		be->chip[be->nchips] = gpiod_chip_open(path);
		if (!be->chip[be->nchips]) {
			rc = tp_err_set(-errno, "cannot open GPIO chip %s: %s", path,
					strerror(errno));
			goto out;
		}
		be->nchips++;
	}
	if (!be->nchips) {
		rc = tp_err_set(-ENODEV, "no GPIO chips under %s; is this the BMC?", dev);
		goto out;
	}
	g->priv = be;
	be = NULL;
	rc = 0;
out:
	if (be) {
		for (size_t i = 0; i < be->nchips; i++)
			gpiod_chip_close(be->chip[i]);
		free(be);
	}
	for (size_t i = 0; i < nnames; i++)
		free(names[i]);
	return rc;
}

static void be_close(struct tp_gpio *g)
{
	struct gpiod_be *be = g->priv;

	for (size_t i = 0; i < be->nchips; i++)
		gpiod_chip_close(be->chip[i]);
	free(be);
}

static struct gpiod_chip *chip_by_name(struct gpiod_be *be, const char *name)
{
	for (size_t i = 0; i < be->nchips; i++)
		if (!strcmp(gpiod_chip_name(be->chip[i]), name))
			return be->chip[i];
	return NULL;
}

static int be_find(struct tp_gpio *g, struct tp_line *l)
{
	struct gpiod_be *be = g->priv;

	for (size_t i = 0; i < be->nchips; i++) {
		struct gpiod_line *line = gpiod_chip_find_line(be->chip[i], l->name);

		if (line) {
			snprintf(l->chip, sizeof(l->chip), "%s", gpiod_chip_name(be->chip[i]));
			l->offset = gpiod_line_offset(line);
			return 0;
		}
	}
	return tp_err_set(-ENOENT, "no GPIO line is named %s on this board (gpioinfo lists "
			  "them); is the firmware's device tree the one tpkit expects?",
			  l->name);
}

static int be_request(struct tp_gpio *g, struct tp_line *l, const char *consumer)
{
	struct gpiod_line_request_config cfg = {
		.consumer = consumer,
		.request_type = GPIOD_LINE_REQUEST_DIRECTION_AS_IS,
	};
	struct gpiod_chip *chip = chip_by_name(g->priv, l->chip);
	struct gpiod_line *line;
	int v;

	if (!chip)
		return tp_err_set(-ENODEV, "no GPIO chip %s", l->chip);
	line = gpiod_chip_get_line(chip, l->offset);
	if (!line)
		return tp_err_set(-errno, "%s has no line %u", l->chip, l->offset);
	if (gpiod_line_request(line, &cfg, 0) < 0) {
		int err = errno;

		if (err == EBUSY && gpiod_line_update(line) == 0 && gpiod_line_consumer(line))
			snprintf(l->holder, sizeof(l->holder), "%s", gpiod_line_consumer(line));
		return err == EBUSY ? -EBUSY : tp_err_set(-err, "%s", strerror(err));
	}
	v = gpiod_line_get_value(line);
	if (v < 0) {
		gpiod_line_release(line);
		return tp_err_set(-errno, "cannot read: %s", strerror(errno));
	}
	l->value = v;
	l->priv = line;
	return 0;
}

static int be_get(struct tp_gpio *g, struct tp_line *l, int *value)
{
	int v = gpiod_line_get_value(l->priv);

	(void)g;
	if (v < 0)
		return tp_err_set(-errno, "%s", strerror(errno));
	*value = v;
	return 0;
}

static int be_set(struct tp_gpio *g, struct tp_line *l, int value)
{
	struct gpiod_line *line = l->priv;
	int rc;

	(void)g;
	/* Requested as is, the line may still be an input: switch it with the
	 * value in the same ioctl so it never glitches through a default. */
	if (gpiod_line_direction(line) == GPIOD_LINE_DIRECTION_OUTPUT)
		rc = gpiod_line_set_value(line, value);
	else
		rc = gpiod_line_set_direction_output(line, value);
	return rc < 0 ? tp_err_set(-errno, "%s", strerror(errno)) : 0;
}

static void be_release(struct tp_gpio *g, struct tp_line *l)
{
	(void)g;
	gpiod_line_release(l->priv);
	l->priv = NULL;
}

const struct tp_gpio_ops tp_gpio_gpiod_ops = {
	.name = "gpiod",
	.open = be_open,
	.close = be_close,
	.find = be_find,
	.request = be_request,
	.get = be_get,
	.set = be_set,
	.release = be_release,
};
