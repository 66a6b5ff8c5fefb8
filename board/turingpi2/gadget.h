/* SPDX-License-Identifier: MIT */
/*
 * The BMC's own USB gadget (hardware.md §10.4): the configfs gadget g1 that
 * the firmware's S11bmc-otg makes at boot on the BMC_USB_OTG port (a serial
 * console, acm.usb0), and the mass-storage function that tpkit usb msd (the
 * API's node_to_msd) adds so that a computer on that port sees a node's
 * eMMC as a USB disk, as bmcd does. Paths are under TPKIT_ROOT; the disk is
 * named as the BMC's kernel sees it ("/dev/sda"), since the kernel opens it.
 */
#ifndef TP_GADGET_H
#define TP_GADGET_H

#include <stddef.h>

/*
 * Make disk LUN 0 of the gadget's mass_storage.0 function, linked into its
 * configuration, the gadget unbound around the change and bound again to
 * the UDC it had (else the BMC's only one). A LUN already there is
 * replaced. 0, or -errno with a message naming the step; on failure the
 * gadget is bound again as it was, where it can be.
 */
int tp_gadget_msd_export(const char *disk);

/*
 * Take the mass-storage function out again (a USB mode change, the node's
 * power going): unlinked and removed, which closes the disk, and the
 * gadget bound again as it was. 0 also when there was none.
 */
int tp_gadget_msd_withdraw(void);

/* The disk LUN 0 serves now into disk: 1, 0 if none (no function, no
 * medium, no gadget), -errno with a message. */
int tp_gadget_msd_query(char *disk, size_t size);

#endif
