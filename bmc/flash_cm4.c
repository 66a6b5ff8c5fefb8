// SPDX-License-Identifier: MIT
/*
 * The CM4 (BCM2711) steps of a flash job: protocols.md §7 through
 * bmc/rpiboot. Before any node is touched the rpiboot directory is checked;
 * once the boot ROM is on the bus it is given the mass-storage payload, and
 * the eMMC that then appears as a USB disk under the same port becomes a
 * file sink (O_EXCL, O_DIRECT). flash.c does the rest.
 */
#include "flash.h"
#include "common/cancel.h"
#include "common/log.h"
#include "common/sink_file.h"
#include "usbdisk.h"
#include "rpiboot/rpiboot.h"
#include "rpiboot/rpiboot_proto.h"
#include "rpiboot/rpifiles.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { OPT_DIR, OPT_FIRMWARE };

static const struct tp_flash_mopt cm4_opts[] = {
	[OPT_DIR] = { .name = "rpiboot-dir", .names_files = true },
	[OPT_FIRMWARE] = { .name = "cm4-firmware" },
};

/* The second stage comes back under the boot ROM's id (protocols.md §7). */
static const struct tp_flash_usb_id cm4_ids[] = {
	{ TP_RPI_VID, TP_RPI_PID_2711, "boot ROM or second stage" },
};

static void cm4_help(char *buf, size_t size)
{
	snprintf(buf, size,
		 "  --rpiboot-dir DIR  CM4 rpiboot files: bootcode4.bin, start4.elf or the\n"
		 "                     mass-storage-gadget64 files (default %s)\n"
		 "  --cm4-firmware F   CM4: msd, gadget or auto (default: gadget if the\n"
		 "                     directory holds bootfiles.bin, config.txt, boot.img)\n",
		 CONFIG_TPKIT_RPIBOOT_DIR);
}

static int cm4_check_opt(const struct tp_flash_mopt *opt, const char *val)
{
	enum tp_rpi_fw fw;

	if (opt == &cm4_opts[OPT_FIRMWARE] && tp_rpi_fw_parse(val, &fw) < 0)
		return tp_err_set(-EINVAL, "--cm4-firmware is msd, gadget or auto, not \"%s\"",
				  val);
	return 0;
}

/* The rpiboot directory, checked as a set before any node is powered
 * (a missing start4.elf would otherwise show only as a disk that never
 * comes); the set chosen is the context start serves from. */
static int cm4_ready(const struct tp_flash_opts *o, void **ctx)
{
	const char *dir = tp_flash_opt(o, &cm4_opts[OPT_DIR]);
	const char *firmware = tp_flash_opt(o, &cm4_opts[OPT_FIRMWARE]);
	struct tp_rpi_files *f;
	enum tp_rpi_fw fw;
	int rc;

	*ctx = NULL;
	if (tp_rpi_fw_parse(firmware, &fw) < 0)
		return cm4_check_opt(&cm4_opts[OPT_FIRMWARE], firmware);
	f = calloc(1, sizeof(*f));
	if (!f)
		return tp_err_set(-ENOMEM, "out of memory");
	rc = tp_rpi_files_check(f, dir ? dir : CONFIG_TPKIT_RPIBOOT_DIR, fw, TP_RPI_PID_2711);
	if (rc < 0) {
		free(f);
		return rc;
	}
	TP_INFO("rpiboot: %s firmware from %s", tp_rpi_fw_title(f->fw), f->dir);
	*ctx = f;
	return 0;
}

/* rpiboot's three steps (rpiboot.h), the boot ROM's handle as the state
 * between them: the boot ROM gets bootcode4.bin here, answers a second
 * later (cm4_rom_answer), then the second stage gets its files
 * (cm4_serve); the disk the payload makes is finish's to wait for. */
static int cm4_start(void *ctx, const struct tp_flash_opts *o, struct tp_flash_result *r,
		     const char *path, void (*step)(void *c, enum tp_flash_phase what),
		     void *step_cookie, void **state)
{
	struct tp_rpiboot *rpi = NULL;
	int rc;

	step(step_cookie, TP_FLASH_PHASE_RPIBOOT);
	rc = tp_rpiboot_wait(path, o->enum_timeout_ms, &rpi);
	if (rc < 0)
		return rc;
	snprintf(r->usb_path, sizeof(r->usb_path), "%s", tp_rpiboot_path(rpi));
	rc = tp_rpiboot_send_stage2(rpi, ctx);
	if (rc < 0) {
		tp_rpiboot_close(rpi);
		return rc;
	}
	*state = rpi;
	return 0;
}

static int cm4_rom_answer(void *ctx, const struct tp_flash_opts *o, struct tp_flash_result *r,
			  void **state)
{
	int rc = tp_rpiboot_rom_answer(*state);

	(void)ctx, (void)o, (void)r;
	if (rc < 0) {
		tp_rpiboot_close(*state);
		*state = NULL;
	}
	return rc;
}

/* What the second stage asked for and did not get is not kept: the set
 * was checked whole before the node was touched, so those are the
 * optional files every real boot asks for (docs/twin.md, "CM4 firmware
 * sets"), no reason for a missing disk. The handle is done with either
 * way; finish needs only the path. */
static int cm4_serve(void *ctx, const struct tp_flash_opts *o, struct tp_flash_result *r,
		     void **state)
{
	struct tp_rpiboot *rpi = *state;
	int rc = tp_rpiboot_serve(rpi, ctx, CONFIG_TPKIT_CM4_STAGE2_TIMEOUT_MS);

	(void)o, (void)r;
	if (rc == 0)
		TP_INFO("rpiboot %s: %u files served", tp_rpiboot_path(rpi),
			tp_rpiboot_served(rpi, NULL));
	tp_rpiboot_close(rpi);
	*state = NULL;
	return rc;
}

static int (*const cm4_mid[])(void *, const struct tp_flash_opts *, struct tp_flash_result *,
			      void **) = { cm4_rom_answer, cm4_serve };

/* The eMMC as the BMC kernel's disk, not opened: a flash opens it (below),
 * msd leaves it to the BMC's USB gadget; neither while the BMC has it
 * mounted. */
static int cm4_disk(void *ctx, const struct tp_flash_opts *o, struct tp_flash_result *r,
		    void *state, void (*step)(void *c, enum tp_flash_phase what),
		    void *step_cookie, struct tp_usbdisk *disk)
{
	int rc;

	(void)ctx, (void)o;
	step(step_cookie, TP_FLASH_PHASE_DISK);
	/* The disk is under the port the boot ROM was on (v2.4: the only
	 * one), so its exact path, not the pattern, is what to look for. */
	rc = tp_usbdisk_wait(&tp_usbdisk_cm4, r->usb_path, CONFIG_TPKIT_CM4_DISK_TIMEOUT_MS, disk);
	tp_rpiboot_close(state); /* NULL once served */
	return rc < 0 ? rc : tp_usbdisk_check_unmounted(disk);
}

static int cm4_finish(void *ctx, const struct tp_flash_opts *o, struct tp_flash_result *r,
		      void *state, void (*step)(void *c, enum tp_flash_phase what),
		      void *step_cookie, struct tp_sink **sink)
{
	struct tp_sink *raw = NULL;
	struct tp_usbdisk disk;
	int rc = cm4_disk(ctx, o, r, state, step, step_cookie, &disk);

	if (rc == 0)
		rc = tp_usbdisk_open(&disk, &raw);
	if (rc < 0)
		return rc;
	snprintf(raw->desc, sizeof(raw->desc), "the CM4's eMMC (%s, %s at %s)", disk.dev,
		 disk.vendor, r->usb_path);
	rc = tp_cancel_sink_wrap(raw, sink);
	if (rc < 0)
		tp_sink_close(raw);
	return rc;
}

static void cm4_release(void *ctx)
{
	free(ctx);
}

const struct tp_flash_module tp_flash_cm4 = {
	.name = "cm4",
	.title = "CM4",
	.a_title = "a CM4",
	.usb_id = "BCM2711 boot ROM (0a5c:2711)",
	/* docs/commissioning.md §5.2: the ROM runs the EEPROM's loader,
	 * which boots the eMMC; the eMMC's content never sends it to USB. */
	.rom_why = "the boot ROM found no usable boot loader in the module's SPI EEPROM, or "
		   "its nRPIBOOT line is held low; neither a power cycle nor a flash of the eMMC "
		   "mends that: rewrite the EEPROM with usbboot's recovery firmware (rpiboot -d "
		   "recovery) on a computer, or free the line",
	.rom_flash_mends = false,
	.ids = cm4_ids,
	.nids = sizeof(cm4_ids) / sizeof(cm4_ids[0]),
	.family = TP_FAMILY_RPI,
	.opts = cm4_opts,
	.nopts = sizeof(cm4_opts) / sizeof(cm4_opts[0]),
	.help = cm4_help,
	.check_opt = cm4_check_opt,
	.ready = cm4_ready,
	.start = cm4_start,
	.finish = cm4_finish,
	.disk = cm4_disk,
	.mid = cm4_mid,
	.nmid = sizeof(cm4_mid) / sizeof(cm4_mid[0]),
	.release = cm4_release,
};
