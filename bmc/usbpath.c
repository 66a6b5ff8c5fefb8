// SPDX-License-Identifier: MIT
#include "usbpath.h"

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
