/* SPDX-License-Identifier: MIT */
/*
 * tpkit usb msd --slot N (usb_msd.c): a node's eMMC as a USB disk on the
 * BMC's own USB port, as `tpi advanced msd` asks bmcd.
 */
#ifndef TP_USB_MSD_H
#define TP_USB_MSD_H

#include <stddef.h>

struct tp_cli;
struct tp_board;

/* The command's run on an open board; fopts are --flash-opt NAME=VALUE.
 * Returns the exit code, the error reported. */
int tp_usb_msd_run(struct tp_cli *c, struct tp_board *b, unsigned slot,
		   const char *const *fopts, size_t nfopts);

#endif
