// SPDX-License-Identifier: MIT
#include "cli.h"
int cmd_commission_main(struct tp_cli *c, int argc, char **argv)
{
	(void)argc; (void)argv;
	return tp_cli_usage(c, "not built yet");
}
