/* SPDX-License-Identifier: MIT */
/*
 * tpkit usb msd --slot N (usb_msd.c): a node's eMMC as a USB disk on the
 * BMC's own USB port, as `tpi advanced msd` asks bmcd.
 */
#ifndef TP_USB_MSD_H
#define TP_USB_MSD_H

struct tp_cli;
struct tp_board;
struct tp_flash_opts;

/* The command's run on an open board; mopts holds the module options of
 * --flash-opt (tp_cli_flash_opt()). Returns the exit code, the error
 * reported. */
int tp_usb_msd_run(struct tp_cli *c, struct tp_board *b, unsigned slot,
		   const struct tp_flash_opts *mopts);

#endif
