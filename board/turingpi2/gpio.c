// SPDX-License-Identifier: MIT
#include "gpio.h"
#include "common/err.h"

#include <stdlib.h>
#include <string.h>

int tp_gpio_open(struct tp_gpio **out, const char *spec)
{
	const struct tp_gpio_ops *ops = NULL;
	const char *arg = NULL;
	struct tp_gpio *g;
	int rc;

	if (!spec)
		spec = getenv("TPKIT_GPIO");
	if (!spec || !*spec)
		spec = CONFIG_TPKIT_GPIO_DEFAULT;
#ifdef CONFIG_TPKIT_GPIO_GPIOD
	if (!strcmp(spec, "gpiod"))
		ops = &tp_gpio_gpiod_ops;
#endif
#ifdef CONFIG_TPKIT_GPIO_SIM
	if (!strncmp(spec, "sim:", 4)) {
		ops = &tp_gpio_sim_ops;
		arg = spec + 4;
	}
#endif
	if (!ops)
		return tp_err_set(-EINVAL,
				  "GPIO backend \"%s\" is not built into this tpkit (TPKIT_GPIO); "
				  "see `make menuconfig`, GPIO backends",
				  spec);
	g = calloc(1, sizeof(*g));
	if (!g)
		return tp_err_set(-ENOMEM, "out of memory");
	g->ops = ops;
	rc = ops->open(g, arg);
	if (rc < 0) {
		free(g);
		return rc;
	}
	*out = g;
	return 0;
}

void tp_gpio_close(struct tp_gpio *g)
{
	if (!g)
		return;
	g->ops->close(g);
	free(g);
}
