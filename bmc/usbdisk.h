/* SPDX-License-Identifier: MIT */
/*
 * A node's eMMC as the BMC's kernel shows it, a SCSI disk on USB: the disk a
 * CM4 becomes after rpiboot (protocols.md §7.5: the legacy msd firmware,
 * SCSI vendor "RPi-MSD-", or mass-storage-gadget64, f_mass_storage's default
 * vendor "Linux", UNVERIFIED on hardware), or an RK1's loader bound by the
 * BMC's rockusb.ko (protocols.md §6: vendor "Rockchip"). Found in /sys/block
 * by vendor and USB port path, opened as a file sink or handed to the BMC's
 * USB gadget.
 *
 * /sys/block and /dev are read as the kernel shows them, not under TPKIT_ROOT:
 * like libusb's view of USB, they are the kernel's devices (on the board twin,
 * umockdev's preload redirects both to its testbed).
 */
#ifndef TP_USBDISK_H
#define TP_USBDISK_H

#include <stddef.h>
#include <stdint.h>

struct tp_sink;

/* What disk a module's eMMC becomes. */
struct tp_usbdisk_kind {
	const char *what;           /* "CM4 disk", for messages */
	const char *const *vendors; /* SCSI vendors, exact; one ending in '-' is a prefix */
	size_t nvendors;
};

extern const struct tp_usbdisk_kind tp_usbdisk_cm4, tp_usbdisk_rk1;

struct tp_usbdisk {
	char name[32];   /* "sda" */
	char dev[48];    /* "/dev/sda" */
	char vendor[16]; /* trimmed: "RPi-MSD-" */
	uint64_t size;   /* bytes, from /sys/block/NAME/size */
};

/*
 * Poll every 100 ms (tp_clock) until a disk of that kind is at USB path
 * ("1-1.2", "*-1.2": port path 1.2 on any bus, NULL: anywhere) with a
 * non-zero size and its /dev node present. -ETIMEDOUT with a message.
 */
int tp_usbdisk_wait(const struct tp_usbdisk_kind *k, const char *path, unsigned timeout_ms,
		    struct tp_usbdisk *d);

/* -EBUSY with a message if the disk or one of its partitions is mounted
 * (/proc/self/mountinfo under TPKIT_ROOT; absent there: not checked). */
int tp_usbdisk_check_unmounted(const struct tp_usbdisk *d);

/* Open the disk with the file sink: exclusively, O_DIRECT where it works,
 * never created or truncated. */
int tp_usbdisk_open(const struct tp_usbdisk *d, struct tp_sink **s);

#endif
