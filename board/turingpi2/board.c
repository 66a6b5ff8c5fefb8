// SPDX-License-Identifier: MIT
#include "board.h"
#include "gpio.h"
#include "common/err.h"

#include <stdio.h>
#include <stdlib.h>

int tp_board_open(struct tp_board **out, const struct tp_board_opts *opts)
{
	struct tp_board *b;
	int rc;

	b = calloc(1, sizeof(*b));
	if (!b)
		return tp_err_set(-ENOMEM, "out of memory");
	b->consumer = "tpkit";
	rc = tp_board_detect(opts->rev, &b->id);
	if (rc < 0)
		goto fail;
	b->desc = tp_board_desc_get(b->id.rev);
	snprintf(b->gpio_spec, sizeof(b->gpio_spec), "%s", opts->gpio ? opts->gpio : "");
	rc = tp_gpio_open(&b->gpio, opts->gpio);
	if (rc < 0)
		goto fail;
	*out = b;
	return 0;
fail:
	free(b);
	return rc;
}

void tp_board_close(struct tp_board *b)
{
	if (!b)
		return;
	tp_gpio_close(b->gpio);
	free(b);
}
