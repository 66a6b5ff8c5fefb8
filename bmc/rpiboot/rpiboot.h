/* SPDX-License-Identifier: MIT */
/*
 * rpiboot over libusb-1.0 (protocols.md §7): find a Broadcom boot ROM at a
 * USB port path, send it the second stage, wait for the second stage to
 * re-enumerate and serve it files from a firmware set (rpifiles.h: a
 * directory, or bootfiles.bin in it) until it says Done.
 * What it then runs (the legacy msd firmware, mass-storage-gadget64) comes up
 * as a USB disk: see ../usbdisk.h. Never prints, never exits; errors are -errno with
 * a message (common/err.h).
 */
#ifndef TP_RPIBOOT_H
#define TP_RPIBOOT_H

#include <stdint.h>

struct tp_rpiboot;

struct tp_rpi_files;

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
 * A boot in three steps, so that a run with several nodes overlaps their
 * waits (each node's step before any node's next):
 *
 * send_stage2: stage 1 (§7.3): the boot message and the set's second stage.
 * rom_answer:  the boot ROM's return code, read a second after the send (as
 *              usbboot does); the USB handle is closed after it.
 * serve:       wait up to timeout_ms for the second stage at the same port
 *              path and serve it files from the set (§7.4) until Done or
 *              until it leaves the bus. Names with ".." or "/" are refused
 *              (answered "not found", logged); names the set lacks are
 *              answered "not found" — the firmware asks for optional files
 *              too (pieeprom.sig, fixup4.dat: docs/twin.md) — and
 *              remembered. The USB handle is closed on return.
 *
 * Each returns 0, or -errno with a message; after an error only
 * tp_rpiboot_close() is left to call.
 */
int tp_rpiboot_send_stage2(struct tp_rpiboot *d, const struct tp_rpi_files *f);
int tp_rpiboot_rom_answer(struct tp_rpiboot *d);
int tp_rpiboot_serve(struct tp_rpiboot *d, const struct tp_rpi_files *f, unsigned timeout_ms);

/* Names the second stage asked for that were not served ("fixup4.dat"),
 * space-separated, or "" — for the error when no disk shows up. */
const char *tp_rpiboot_missing(const struct tp_rpiboot *d);

/* How many files (and bytes) were served, for the log and the summary. */
unsigned tp_rpiboot_served(const struct tp_rpiboot *d, uint64_t *bytes);

void tp_rpiboot_close(struct tp_rpiboot *d);

#endif
