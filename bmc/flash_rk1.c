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

#include <stdio.h>

static int rk1_ready(const struct tp_flash_opts *o, void **ctx)
{
	struct tp_ldr *ldr;
	int rc = tp_ldr_open(o->loader ? o->loader : CONFIG_TPKIT_RK1_LOADER, "3588", &ldr);

	if (rc < 0 && o->loader)
		return tp_err_prefix(rc, "RK3588 loader: ");
	if (rc < 0)
		return tp_err_prefix(rc, "RK3588 loader (Rockchip's rk3588_spl_loader*.bin: put "
				     "it there or pass --loader FILE): ");
	*ctx = ldr;
	return 0;
}

static bool rk1_files_named(const struct tp_flash_opts *o)
{
	return o->loader != NULL;
}

/* The loader goes down now; its re-enumeration is finish's to wait for. */
static int rk1_start(void *ctx, const struct tp_flash_opts *o, struct tp_flash_result *r,
		     const char *path, void (*step)(void *c, const char *what), void *step_cookie,
		     void **state)
{
	struct tp_ldr *ldr = ctx;
	struct tp_rockusb *dev;
	int rc;

	/* The device was seen by the probe; it is opened (and, by then, has
	 * settled) here, with the same wait. */
	rc = tp_rockusb_wait_device(path, o->enum_timeout_ms, &dev);
	if (rc < 0)
		return rc;
	snprintf(r->usb_path, sizeof(r->usb_path), "%s", tp_rockusb_path(dev));
	if (tp_rockusb_mode(dev) == TP_ROCKUSB_MASKROM) {
		step(step_cookie, "loader");
		rc = tp_rockusb_download(dev, ldr);
		if (rc < 0) {
			tp_rockusb_close(dev);
			return rc;
		}
	}
	*state = dev;
	return 0;
}

static int rk1_finish(void *ctx, const struct tp_flash_opts *o, struct tp_flash_result *r,
		      void *state, void (*step)(void *c, const char *what), void *step_cookie,
		      struct tp_sink **sink)
{
	struct tp_rockusb *dev = state;
	struct tp_sink *raw;
	int rc = 0;

	(void)ctx, (void)r, (void)step, (void)step_cookie;
	if (tp_rockusb_mode(dev) == TP_ROCKUSB_MASKROM)
		rc = tp_rockusb_wait_loader(dev, o->loader_timeout_ms
						      ? o->loader_timeout_ms
						      : CONFIG_TPKIT_RK1_LOADER_TIMEOUT_MS);
	if (rc == 0 && o->rk_sectors)
		rc = tp_rockusb_set_sectors(dev, o->rk_sectors);
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

static void rk1_release(void *ctx)
{
	tp_ldr_free(ctx);
}

const struct tp_flash_module tp_flash_rk1 = {
	.name = "rk1",
	.title = "RK1",
	.a_title = "an RK1",
	.usb_id = "RK3588 (2207:350b)",
	.family = TP_FAMILY_ROCKCHIP,
	.files_named = rk1_files_named,
	.ready = rk1_ready,
	.start = rk1_start,
	.finish = rk1_finish,
	.release = rk1_release,
};
