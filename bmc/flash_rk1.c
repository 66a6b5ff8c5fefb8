// SPDX-License-Identifier: MIT
/*
 * The RK1 (RK3588) steps of a flash job: protocols.md §4-§5 through
 * bmc/rockchip. Before any node is touched the loader is parsed and
 * checked (RC4, chip, checksums); once the boot ROM is on the bus the
 * loader is downloaded, the loader re-enumerates, and its eMMC becomes a
 * rockusb sink. flash.c does the rest.
 */
#include "flash.h"
#include "common/cancel.h"
#include "common/log.h"
#include "rockchip/ldr.h"
#include "rockchip/rockusb.h"
#include "usbdisk.h"

#include <stdio.h>
#include <stdlib.h>

enum { OPT_LOADER, OPT_SECTORS };

static const struct tp_flash_mopt rk1_opts[] = {
	[OPT_LOADER] = { .name = "loader", .names_files = true },
	[OPT_SECTORS] = { .name = "rk-sectors" },
};

static const struct tp_flash_usb_id rk1_ids[] = {
	{ TP_ROCKUSB_VID, TP_ROCKUSB_PID_RK3588, "boot ROM (maskrom) or loader" },
};

/* What ready found, for start and finish. */
struct rk1_ctx {
	struct tp_ldr *ldr;
	unsigned sectors; /* per READ/WRITE_LBA, 0 for the Kconfig default */
};

static void rk1_help(char *buf, size_t size)
{
	snprintf(buf, size,
		 "  --loader FILE      RK3588 loader (default %s)\n"
		 "  --rk-sectors N     RK1: sectors per USB command, 1-%u (default %u; above\n"
		 "                     %u no loader is known to take: for measuring one)\n",
		 CONFIG_TPKIT_RK1_LOADER, TP_ROCKUSB_SECTORS_TRY,
		 CONFIG_TPKIT_ROCKUSB_WRITE_SECTORS, TP_ROCKUSB_SECTORS_MAX);
}

static int rk1_check_opt(const struct tp_flash_mopt *opt, const char *val)
{
	char *end;
	unsigned long v;

	if (opt != &rk1_opts[OPT_SECTORS])
		return 0;
	v = strtoul(val, &end, 10);
	if (*end || end == val || val[0] == '-' || v < 1 || v > TP_ROCKUSB_SECTORS_TRY)
		return tp_err_set(-EINVAL, "--rk-sectors takes 1-%u (sectors of 512 bytes per USB "
				  "command; %u is the most an RK1's loader is known to take), not "
				  "\"%s\"", TP_ROCKUSB_SECTORS_TRY, TP_ROCKUSB_SECTORS_MAX, val);
	return 0;
}

static int rk1_ready(const struct tp_flash_opts *o, void **ctx)
{
	const char *loader = tp_flash_opt(o, &rk1_opts[OPT_LOADER]);
	const char *sectors = tp_flash_opt(o, &rk1_opts[OPT_SECTORS]);
	struct rk1_ctx *c;
	int rc;

	if (sectors && (rc = rk1_check_opt(&rk1_opts[OPT_SECTORS], sectors)) < 0)
		return rc;
	c = calloc(1, sizeof(*c));
	if (!c)
		return tp_err_set(-ENOMEM, "out of memory");
	c->sectors = sectors ? (unsigned)strtoul(sectors, NULL, 10) : 0;
	if (c->sectors > TP_ROCKUSB_SECTORS_MAX)
		TP_WARN("--rk-sectors %u: more than %u, which no RK1 loader is known to take; a "
			"loader that refuses fails the first write, before any of the image is written",
			c->sectors, TP_ROCKUSB_SECTORS_MAX);
	rc = tp_ldr_open(loader ? loader : CONFIG_TPKIT_RK1_LOADER, "3588", &c->ldr);
	if (rc < 0) {
		free(c);
		if (loader)
			return tp_err_prefix(rc, "RK3588 loader: ");
		return tp_err_prefix(rc, "RK3588 loader (Rockchip's rk3588_spl_loader*.bin: put "
				     "it there or pass --loader FILE): ");
	}
	*ctx = c;
	return 0;
}

/* The loader goes down now; its re-enumeration is finish's to wait for. */
static int rk1_start(void *ctx, const struct tp_flash_opts *o, struct tp_flash_result *r,
		     const char *path, void (*step)(void *c, enum tp_flash_phase what),
		     void *step_cookie, void **state)
{
	struct rk1_ctx *c = ctx;
	struct tp_rockusb *dev;
	int rc;

	/* The device was seen by the probe; it is opened (and, by then, has
	 * settled) here, with the same wait. */
	rc = tp_rockusb_wait_device(path, o->enum_timeout_ms, &dev);
	if (rc < 0)
		return rc;
	snprintf(r->usb_path, sizeof(r->usb_path), "%s", tp_rockusb_path(dev));
	if (tp_rockusb_mode(dev) == TP_ROCKUSB_MASKROM) {
		step(step_cookie, TP_FLASH_PHASE_LOADER);
		rc = tp_rockusb_download(dev, c->ldr);
		if (rc < 0) {
			tp_rockusb_close(dev);
			return rc;
		}
	}
	*state = dev;
	return 0;
}

static int rk1_finish(void *ctx, const struct tp_flash_opts *o, struct tp_flash_result *r,
		      void *state, void (*step)(void *c, enum tp_flash_phase what),
		      void *step_cookie, struct tp_sink **sink)
{
	struct rk1_ctx *c = ctx;
	struct tp_rockusb *dev = state;
	struct tp_sink *raw;
	int rc = 0;

	(void)o, (void)r, (void)step, (void)step_cookie;
	if (tp_rockusb_mode(dev) == TP_ROCKUSB_MASKROM)
		rc = tp_rockusb_wait_loader(dev, CONFIG_TPKIT_RK1_LOADER_TIMEOUT_MS);
	if (rc == 0 && c->sectors)
		rc = tp_rockusb_set_sectors(dev, c->sectors);
	if (rc == 0)
		rc = tp_rockusb_sink_open(dev, &raw);
	if (rc < 0) {
		tp_rockusb_close(dev);
		return rc;
	}
	/* The sink owns the device now. */
	rc = tp_cancel_sink_wrap(raw, sink);
	if (rc < 0)
		tp_sink_close(raw);
	return rc;
}

/* The eMMC as the BMC kernel's disk: rockusb.ko binds the loader when it
 * comes up, and usb-storage makes it /dev/sdX (protocols.md §6); the
 * maskrom handle is done with, and a loader found as such is given back. */
static int rk1_disk(void *ctx, const struct tp_flash_opts *o, struct tp_flash_result *r,
		    void *state, void (*step)(void *c, enum tp_flash_phase what),
		    void *step_cookie, struct tp_usbdisk *disk)
{
	struct tp_rockusb *dev = state;
	int rc = 0;

	(void)ctx, (void)o;
	if (tp_rockusb_mode(dev) == TP_ROCKUSB_MASKROM)
		tp_rockusb_close(dev);
	else
		rc = tp_rockusb_give_back(dev);
	if (rc < 0)
		return rc;
	step(step_cookie, TP_FLASH_PHASE_DISK);
	rc = tp_usbdisk_wait(&tp_usbdisk_rk1, r->usb_path, CONFIG_TPKIT_RK1_LOADER_TIMEOUT_MS,
			     disk);
	return rc < 0 ? rc : tp_usbdisk_check_unmounted(disk);
}

static void rk1_release(void *ctx)
{
	struct rk1_ctx *c = ctx;

	tp_ldr_free(c->ldr);
	free(c);
}

const struct tp_flash_module tp_flash_rk1 = {
	.name = "rk1",
	.title = "RK1",
	.a_title = "an RK1",
	.usb_id = "RK3588 (2207:350b)",
	/* docs/commissioning.md §5.1 */
	.rom_why = "the module's fallback when its eMMC holds no boot loader (a flash that "
		   "did not finish, or a failing eMMC); a power cycle cannot mend that, a flash can",
	.rom_flash_mends = true,
	.ids = rk1_ids,
	.nids = sizeof(rk1_ids) / sizeof(rk1_ids[0]),
	.family = TP_FAMILY_ROCKCHIP,
	.opts = rk1_opts,
	.nopts = sizeof(rk1_opts) / sizeof(rk1_opts[0]),
	.help = rk1_help,
	.check_opt = rk1_check_opt,
	.ready = rk1_ready,
	.start = rk1_start,
	.finish = rk1_finish,
	.disk = rk1_disk,
	.release = rk1_release,
};
