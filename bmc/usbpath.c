// SPDX-License-Identifier: MIT
#include "usbpath.h"
#include "common/clock.h"
#include "common/err.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define TP_LSAN_DISABLE() __lsan_disable()
#define TP_LSAN_ENABLE() __lsan_enable()
#else
#define TP_LSAN_DISABLE() ((void)0)
#define TP_LSAN_ENABLE() ((void)0)
#endif

void tp_usb_path(libusb_device *dev, char *buf, size_t size)
{
	uint8_t ports[8];
	int n = libusb_get_port_numbers(dev, ports, sizeof(ports));
	size_t len = (size_t)snprintf(buf, size, "%u", libusb_get_bus_number(dev));

	for (int i = 0; i < n && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%c%u", i ? '.' : '-', ports[i]);
}

bool tp_usb_path_match(const char *pattern, const char *path)
{
	const char *dash = strchr(path, '-');

	if (!pattern)
		return true;
	if (!strncmp(pattern, "*-", 2))
		return dash && !strcmp(pattern + 1, dash);
	return !strcmp(pattern, path);
}

int tp_usb_errno(int e)
{
	switch (e) {
	case LIBUSB_ERROR_NO_DEVICE: return -ENODEV;
	case LIBUSB_ERROR_NOT_FOUND: return -ENODEV;
	case LIBUSB_ERROR_ACCESS: return -EACCES;
	case LIBUSB_ERROR_BUSY: return -EBUSY;
	case LIBUSB_ERROR_TIMEOUT: return -ETIMEDOUT;
	case LIBUSB_ERROR_PIPE: return -EPIPE;
	case LIBUSB_ERROR_OVERFLOW: return -EOVERFLOW;
	case LIBUSB_ERROR_NO_MEM: return -ENOMEM;
	case LIBUSB_ERROR_INTERRUPTED: return -EINTR;
	case LIBUSB_ERROR_INVALID_PARAM: return -EINVAL;
	case LIBUSB_ERROR_NOT_SUPPORTED: return -ENOTSUP;
	default: return -EIO;
	}
}

/* Contexts alive in this process: several mean several USB jobs at once
 * (tpkit flash of more than one slot, tpkit serve's parallel flashes). */
static atomic_int live_ctx;

/*
 * libusb 1.0.26 leaks a device that leaves the bus while another context is
 * inside libusb_init() (docs/toolchain.md §7.5), in a race that needs a
 * second USB job in the process. Under LeakSanitizer the allocations of
 * such an init are not reported, so that the sanitizer runs stay a verdict
 * on tpkit's own memory; a process with one context at a time is checked
 * whole.
 */
static int init_beside_others(libusb_context **ctx)
{
	bool others = atomic_load(&live_ctx) > 0;
	int rc;

	if (others)
		TP_LSAN_DISABLE();
	rc = libusb_init(ctx);
	if (others)
		TP_LSAN_ENABLE();
	return rc;
}

int tp_usb_ctx_renew(libusb_context **ctx, const char *who)
{
	int rc;

	tp_usb_ctx_free(ctx);
	rc = init_beside_others(ctx);
	if (rc < 0) {
		*ctx = NULL;
		return tp_err_set(tp_usb_errno(rc), "%s: libusb_init: %s", who, libusb_strerror(rc));
	}
	atomic_fetch_add(&live_ctx, 1);
	return 0;
}

void tp_usb_ctx_free(libusb_context **ctx)
{
	if (!*ctx)
		return;
	libusb_exit(*ctx);
	*ctx = NULL;
	atomic_fetch_sub(&live_ctx, 1);
}

int tp_usb_poll(unsigned timeout_ms, tp_usb_look_fn look, void *cookie, int *open_err)
{
	uint64_t deadline = tp_clock_now_ns() + (uint64_t)timeout_ms * 1000000u;
	int rc;

	*open_err = 0;
	for (;;) {
		rc = look(cookie, open_err);
		if (rc <= 0)
			return rc;
		if (tp_clock_now_ns() >= deadline)
			return -ETIMEDOUT;
		rc = tp_clock_sleep_ms(TP_USB_POLL_MS);
		if (rc < 0)
			return rc;
	}
}
