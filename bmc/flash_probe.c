// SPDX-License-Identifier: MIT
/*
 * Which module is in a slot. bmcd drives the same flash-mode sequence for
 * RK1 and CM4 and then looks at what enumerates (hardware.md §7.1): so does
 * tpkit, polling each slot's USB port for any module's USB id (the module
 * table, modules.def) (§7.2, item 4).
 * All the slots of a run are polled together, so empty slots cost one
 * timeout between them, not one each.
 */
#include "bmc/usbpath.h"
#include "flash.h"
#include "common/log.h"

#include <libusb.h>
#include <stdio.h>
#include <string.h>

struct probe {
	const char *const *paths;
	size_t n;
	const struct tp_flash_module **which;
	void (*found)(void *cookie, size_t i);
	void *cookie;
};

/* One look with a fresh context (tp_usb_ctx_renew() says why); nothing is
 * opened. A context that cannot be made counts as nothing there yet. */
static int probe_look(void *cookie, int *open_err)
{
	struct probe *pr = cookie;
	libusb_context *ctx = NULL;
	libusb_device **list;
	size_t found = 0;
	ssize_t n;

	(void)open_err;
	if (tp_usb_ctx_renew(&ctx, "probe") < 0)
		return 1;
	n = libusb_get_device_list(ctx, &list);
	for (ssize_t i = 0; i < n; i++) {
		struct libusb_device_descriptor dd;
		const struct tp_flash_module *m;
		char p[32];

		if (libusb_get_device_descriptor(list[i], &dd) < 0)
			continue;
		m = tp_flash_module_by_id(dd.idVendor, dd.idProduct);
		if (!m)
			continue;
		tp_usb_path(list[i], p, sizeof(p));
		for (size_t k = 0; k < pr->n; k++)
			if (!pr->which[k] && tp_usb_path_match(pr->paths[k], p)) {
				pr->which[k] = m;
				if (pr->found)
					pr->found(pr->cookie, k);
				break;
			}
	}
	if (n >= 0)
		libusb_free_device_list(list, 1);
	tp_usb_ctx_free(&ctx);
	for (size_t k = 0; k < pr->n; k++)
		found += pr->which[k] != NULL;
	return found == pr->n ? 0 : 1;
}

int tp_flash_probe(const char *const *paths, size_t n, unsigned timeout_ms,
		   const struct tp_flash_module **which,
		   void (*found)(void *cookie, size_t i), void *cookie)
{
	struct probe pr = { .paths = paths, .n = n, .which = which, .found = found,
			    .cookie = cookie };
	int open_err, rc;

	memset(which, 0, n * sizeof(*which));
	rc = tp_usb_poll(timeout_ms, probe_look, &pr, &open_err);
	for (size_t k = 0; k < n; k++)
		if (which[k])
			TP_INFO("USB path %s: %s", paths[k] ? paths[k] : "(any)", which[k]->usb_id);
	if (rc == -ETIMEDOUT)
		return tp_err_set(rc, "not every USB path showed a boot ROM within %u ms",
				  timeout_ms);
	return rc;
}
