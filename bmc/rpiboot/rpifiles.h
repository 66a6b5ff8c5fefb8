/* SPDX-License-Identifier: MIT */
/*
 * The files rpiboot serves a BCM2711 (docs/twin.md, "CM4 firmware sets"):
 * which firmware set a directory holds, checked as a set before any node is
 * powered, and where each name the device asks for is found. Two sets:
 *
 *   legacy msd               bootcode4.bin, start4.elf or start.elf
 *                            (usbboot's msd/)
 *   mass-storage-gadget64    bootfiles.bin (a tar whose 2711/ folder holds
 *                            bootcode4.bin, mcb.bin, memsys0N.bin, bootmain),
 *                            config.txt, boot.img (usbboot's
 *                            mass-storage-gadget64/)
 *
 * A name is looked up the way usbboot looks it up, so a directory that works
 * with upstream rpiboot works with tpkit: gadget: DIR/2711/NAME, then
 * 2711/NAME inside DIR/bootfiles.bin (case-insensitive, as usbboot compares),
 * then DIR/NAME; msd: DIR/2711/NAME, then DIR/NAME, and DIR/start.elf for
 * start4.elf (usbboot serves its msd/start.elf so). Never prints; errors are
 * -errno with a message (common/err.h).
 */
#ifndef TP_RPIFILES_H
#define TP_RPIFILES_H

#include <stdint.h>
#include <sys/types.h>

#include "common/path.h"

enum tp_rpi_fw {
	TP_RPI_FW_AUTO,   /* gadget if its set is complete, else msd */
	TP_RPI_FW_MSD,
	TP_RPI_FW_GADGET,
};

/* "auto", "msd", "gadget" -> the enum; -EINVAL for anything else. */
int tp_rpi_fw_parse(const char *s, enum tp_rpi_fw *fw);
/* "legacy msd", "mass-storage-gadget64", for messages. */
const char *tp_rpi_fw_title(enum tp_rpi_fw fw);

struct tp_rpi_files {
	char dir[TP_PATH_MAX];
	char bootfiles[TP_PATH_MAX]; /* DIR/bootfiles.bin (gadget), "" (msd) */
	char prefix[8];              /* the chip's folder: "2711" */
	enum tp_rpi_fw fw;           /* resolved: MSD or GADGET */
};

/*
 * Check dir as a set for the boot ROM of product pid (0x2711) and firmware
 * want, and fill f with the set chosen (auto: gadget when its set is
 * complete, else msd). -ENOENT with a message naming, for each set that was
 * considered, what is missing and where it was looked for.
 */
int tp_rpi_files_check(struct tp_rpi_files *f, const char *dir, enum tp_rpi_fw want,
		       uint16_t pid);

/* One file being served: a plain file (fd) or an archive member (data). */
struct tp_rpi_file {
	int fd;
	uint8_t *data;
	uint32_t size;
	char from[TP_PATH_MAX + 64]; /* "rpi/boot.img", "rpi/bootfiles.bin:2711/mcb.bin" */
};

/*
 * Find name in the set. 0 and *out filled; -ENOENT if the set has no such
 * file (no message: answering "not found" is normal, docs/twin.md); other
 * -errno with a message (an unreadable archive, a file over 2 GiB).
 */
int tp_rpi_files_open(const struct tp_rpi_files *f, const char *name, struct tp_rpi_file *out);

/* Read len bytes at off of an open file: bytes read or -errno. */
ssize_t tp_rpi_file_read(const struct tp_rpi_file *rf, void *buf, size_t len, uint32_t off);

void tp_rpi_file_close(struct tp_rpi_file *rf);

#endif
