/* SPDX-License-Identifier: MIT */
/*
 * rpiboot over libusb-1.0 (protocols.md §7): find a Broadcom boot ROM at a
 * USB port path, send it the second stage, wait for the second stage to
 * re-enumerate and serve it files from one directory until it says Done.
 * What it then runs (the legacy msd firmware, mass-storage-gadget64) comes up
 * as a USB disk: see msd.h. Never prints, never exits; errors are -errno with
 * a message (common/err.h).
 */
#ifndef TP_RPIBOOT_H
#define TP_RPIBOOT_H

#include <stdint.h>

struct tp_rpiboot;

/*
 * Check before touching a node that dir holds the second stage for a
 * boot ROM of product pid (0x2711: bootcode4.bin) and that it is a readable,
 * non-empty regular file. 0 or -errno with a message naming the file.
 */
int tp_rpiboot_check_dir(const char *dir, uint16_t pid);

/*
 * Poll (every 100 ms on tp_clock, a fresh libusb context each time) until a
 * Broadcom boot ROM in stage 1 (iSerialNumber 0 or 3) is at path ("1-1.2",
 * "*-1.2": that port path on any bus, NULL: anywhere), then open it.
 * -ETIMEDOUT with a message after timeout_ms.
 */
int tp_rpiboot_wait(const char *path, unsigned timeout_ms, struct tp_rpiboot **out);

/* Bus-port path ("1-1.2") and product ID of the opened device. */
const char *tp_rpiboot_path(const struct tp_rpiboot *d);
uint16_t tp_rpiboot_pid(const struct tp_rpiboot *d);

/*
 * Stage 1 (§7.3) with dir's second stage, then wait up to timeout_ms for
 * the second stage at the same port path and serve files from dir (§7.4)
 * until Done or until the device leaves the bus. Names with ".." or "/"
 * are refused (answered "not found", logged); missing files are answered
 * "not found" and logged. The USB handle is closed on return.
 */
int tp_rpiboot_boot(struct tp_rpiboot *d, const char *dir, unsigned timeout_ms);

/* Names the second stage asked for that were not served ("start4.elf"),
 * space-separated, or "" — for the error when no disk shows up. */
const char *tp_rpiboot_missing(const struct tp_rpiboot *d);

void tp_rpiboot_close(struct tp_rpiboot *d);

#endif
