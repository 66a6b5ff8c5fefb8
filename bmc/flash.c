// SPDX-License-Identifier: MIT
/*
 * Which module is in a slot. bmcd drives the same flash-mode sequence for
 * RK1 and CM4 and then looks at what enumerates (hardware.md §7.1): so does
 * tpkit, polling the slot's USB port for either boot ROM (§7.2, item 4).
 */
#include "bmc/usbpath.h"
#include "flash.h"
#include "common/err.h"
#include "common/log.h"
#include "rockchip/ldr.h"
#include "rockchip/rockusb.h"
#ifdef CONFIG_TPKIT_CM4
#include "rpiboot/rpiboot.h"
#include "rpiboot/rpiboot_proto.h"
#endif

#include <libusb.h>
#include <stdio.h>
#include <string.h>

#ifndef CONFIG_TPKIT_RK1_LOADER
#define CONFIG_TPKIT_RK1_LOADER "/usr/share/tpkit/rk3588_spl_loader.bin"
#endif
#ifndef CONFIG_TPKIT_RPIBOOT_DIR
#define CONFIG_TPKIT_RPIBOOT_DIR "/usr/share/tpkit/rpiboot"
#endif

struct probe {
	const char *path;
	int hit; /* 1 RK3588, 2 Broadcom boot ROM */
};

/* One look with a fresh context (tp_usb_ctx_renew() says why); nothing is
 * opened. A context that cannot be made counts as nothing there yet. */
static int probe_look(void *cookie, int *open_err)
{
	struct probe *pr = cookie;
	libusb_context *ctx;
	libusb_device **list;
	ssize_t n;

	(void)open_err;
	if (libusb_init(&ctx) < 0)
		return 1;
	n = libusb_get_device_list(ctx, &list);
	for (ssize_t i = 0; i < n && !pr->hit; i++) {
		struct libusb_device_descriptor dd;
		char p[32];

		if (libusb_get_device_descriptor(list[i], &dd) < 0)
			continue;
		tp_usb_path(list[i], p, sizeof(p));
		if (!tp_usb_path_match(pr->path, p))
			continue;
		if (dd.idVendor == TP_ROCKUSB_VID && dd.idProduct == TP_ROCKUSB_PID_RK3588)
			pr->hit = 1;
#ifdef CONFIG_TPKIT_CM4
		else if (tp_rpi_is_bootrom(dd.idVendor, dd.idProduct))
			pr->hit = 2;
#endif
	}
	if (n >= 0)
		libusb_free_device_list(list, 1);
	libusb_exit(ctx);
	return pr->hit ? 0 : 1;
}

int tp_flash_probe(const char *path, unsigned timeout_ms, bool *cm4)
{
	struct probe pr = { .path = path };
	int open_err, rc = tp_usb_poll(timeout_ms, probe_look, &pr, &open_err);

	*cm4 = false;
	if (rc == -ETIMEDOUT)
		return tp_err_set(rc,
				  "no RK3588 (2207:350b) or BCM2711 boot ROM (0a5c:2711) "
				  "appeared at USB path %s within %u ms",
				  path ? path : "(any)", timeout_ms);
	if (rc < 0)
		return rc;
	*cm4 = pr.hit == 2;
	TP_INFO("USB path %s: %s", path ? path : "(any)", *cm4 ? "a CM4 boot ROM" : "an RK3588");
	return 0;
}

int tp_flash_slot(struct tp_board *b, unsigned slot, const struct tp_flash_opts *o,
		  struct tp_flash_result *r)
{
#ifdef CONFIG_TPKIT_CM4
	const char *dir = o->rpiboot_dir ? o->rpiboot_dir : CONFIG_TPKIT_RPIBOOT_DIR;
	struct tp_flash_opts both = *o;
	struct tp_ldr *ldr = NULL;

	/* No rpiboot files: an RK1-only job, exactly as before — unless
	 * --rpiboot-dir named them, then the CM4 job says what is wrong
	 * before the node is touched. */
	if (tp_rpiboot_check_dir(dir, TP_RPI_PID_2711) < 0)
		return o->rpiboot_dir ? tp_flash_cm4_slot(b, slot, o, r)
				      : tp_flash_rk1_slot(b, slot, o, r);
	/* rpiboot files but no usable loader: a CM4-only job. */
	if (tp_ldr_open(o->loader ? o->loader : CONFIG_TPKIT_RK1_LOADER, "3588", &ldr) < 0)
		return tp_flash_cm4_slot(b, slot, o, r);
	tp_ldr_free(ldr);
	both.probe = tp_flash_probe;
	both.cm4_write = tp_flash_cm4_write;
	return tp_flash_rk1_slot(b, slot, &both, r);
#else
	return tp_flash_rk1_slot(b, slot, o, r);
#endif
}

/* Keep the current error as the slot's message, prefixed with the slot and
 * the step it stopped at, and leave it current for the caller. */
void tp_flash_result_fail(struct tp_flash_result *r, int rc)
{
	if (r->slot)
		snprintf(r->msg, sizeof(r->msg), "slot %u: %s: %s", r->slot, r->phase,
			 tp_err_msg());
	else
		snprintf(r->msg, sizeof(r->msg), "%s: %s", r->phase, tp_err_msg());
	tp_err_set(rc, "%s", r->msg);
}
