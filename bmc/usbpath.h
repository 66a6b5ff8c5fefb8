/* SPDX-License-Identifier: MIT */
/* USB bus-port paths ("1-1.2"), as the transports find modules by them. */
#ifndef TP_USBPATH_H
#define TP_USBPATH_H

#include <libusb.h>
#include <stdbool.h>
#include <stddef.h>

/* The device's path: bus, then its port numbers ("1-1.2"). */
void tp_usb_path(libusb_device *dev, char *buf, size_t size);

/* "1-1.2" matches itself; "*-1.2" matches port path 1.2 on any bus (which
 * bus the BMC's hub hangs off is UNVERIFIED, hardware.md §6.1); NULL
 * matches anything. */
bool tp_usb_path_match(const char *pattern, const char *path);

#endif
