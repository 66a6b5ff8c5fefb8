/* SPDX-License-Identifier: MIT */
/*
 * What both USB transports (rockusb, rpiboot) and the module probe share:
 * bus-port paths ("1-1.2") to find a slot's device by, libusb errors as
 * errno, and polling for a device that is about to enumerate.
 */
#ifndef TP_USBPATH_H
#define TP_USBPATH_H

#include <libusb.h>
#include <stdbool.h>
#include <stddef.h>

/* Polls look every 100 ms: boot ROMs take a few hundred ms to appear. */
#define TP_USB_POLL_MS 100

/* The device's path: bus, then its port numbers ("1-1.2"). */
void tp_usb_path(libusb_device *dev, char *buf, size_t size);

/* "1-1.2" matches itself; "*-1.2" matches port path 1.2 on any bus (which
 * bus the BMC's hub hangs off is UNVERIFIED, hardware.md §6.1); NULL
 * matches anything. */
bool tp_usb_path_match(const char *pattern, const char *path);

/* A LIBUSB_ERROR_* as a negative errno. */
int tp_usb_errno(int libusb_err);

/*
 * Replace *ctx with a new libusb context (who names the caller in the
 * message). A long-lived context learns of new devices only when its
 * hotplug thread has handled the udev event, which can trail the device
 * by a moment; a new context enumerates what is there now. That makes
 * each poll's answer exact, on the BMC and on the board twin's virtual
 * clock alike, for the cost of a bus scan every poll.
 */
int tp_usb_ctx_renew(libusb_context **ctx, const char *who);

/* End *ctx, if any, and set it NULL: every context made by
 * tp_usb_ctx_renew() ends here, which keeps the count of live ones. */
void tp_usb_ctx_free(libusb_context **ctx);

/*
 * One look of a poll: 0 when the device was found (and opened, if the
 * caller opens it), 1 to look again, < 0 to stop with that error. A look
 * that found the device but could not open it stores the error in
 * *open_err and returns 1: a freshly enumerated device can refuse an open
 * for a moment (udev permissions, a kernel driver binding).
 */
typedef int (*tp_usb_look_fn)(void *cookie, int *open_err);

/*
 * Look every TP_USB_POLL_MS on tp_clock (so a cancel stops it) until a look
 * returns 0 or an error, or timeout_ms has passed: then -ETIMEDOUT with no
 * message (the caller says what did not appear), and *open_err is the last
 * open error if a device was found but refused to open (its message still
 * current), else 0.
 */
int tp_usb_poll(unsigned timeout_ms, tp_usb_look_fn look, void *cookie, int *open_err);

#endif
