/* SPDX-License-Identifier: MIT */
/*
 * The disk a CM4 becomes after rpiboot (protocols.md §7.5): the legacy msd
 * firmware (SCSI vendor "RPi-MSD-") or mass-storage-gadget64 (f_mass_storage's
 * default vendor "Linux", UNVERIFIED on hardware), bound by the kernel's
 * usb-storage and sd drivers. Found in /sys/block by vendor and USB port
 * path, opened as a file sink.
 *
 * /sys/block and /dev are read as the kernel shows them, not under TPKIT_ROOT:
 * like libusb's view of USB, they are the kernel's devices (on the board twin,
 * umockdev's preload redirects both to its testbed).
 */
#ifndef TP_MSD_H
#define TP_MSD_H

#include <stdint.h>

struct tp_sink;

struct tp_msd_disk {
	char name[32];   /* "sda" */
	char dev[48];    /* "/dev/sda" */
	char vendor[16]; /* trimmed: "RPi-MSD-" */
	uint64_t size;   /* bytes, from /sys/block/NAME/size */
};

/*
 * Poll every 100 ms (tp_clock) until a disk from a CM4 payload is at USB
 * path ("1-1.2", "*-1.2": port path 1.2 on any bus, NULL: anywhere) with a
 * non-zero size and its /dev node present. -ETIMEDOUT with a message.
 */
int tp_msd_wait(const char *path, unsigned timeout_ms, struct tp_msd_disk *d);

/* -EBUSY with a message if the disk or one of its partitions is mounted
 * (/proc/self/mountinfo under TPKIT_ROOT; absent there: not checked). */
int tp_msd_check_unmounted(const struct tp_msd_disk *d);

/* Open the disk with the file sink: exclusively, O_DIRECT where it works,
 * never created or truncated. */
int tp_msd_open(const struct tp_msd_disk *d, struct tp_sink **s);

#endif
