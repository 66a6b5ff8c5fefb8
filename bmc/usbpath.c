// SPDX-License-Identifier: MIT
#include "usbpath.h"
#include "common/clock.h"
#include "common/err.h"

#include <stdio.h>
#include <string.h>

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

int tp_usb_ctx_renew(libusb_context **ctx, const char *who)
{
	int rc;

	if (*ctx)
		libusb_exit(*ctx);
	*ctx = NULL;
	rc = libusb_init(ctx);
	if (rc < 0)
		return tp_err_set(tp_usb_errno(rc), "%s: libusb_init: %s", who, libusb_strerror(rc));
	return 0;
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
