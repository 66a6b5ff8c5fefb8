// SPDX-License-Identifier: MIT
/*
 * rpiboot message codec (protocols.md §7.3, §7.4). Lengths and commands are
 * "host byte order" in usbboot, which is little-endian on every machine that
 * runs it (ARM and x86); they are written little-endian explicitly here so a
 * big-endian host would still speak to the device correctly.
 */
#include "rpiboot_proto.h"

#include <errno.h>
#include <string.h>

const char *tp_rpi_second_stage(uint16_t pid)
{
	switch (pid) {
	case 0x2763:
	case 0x2764:
		return "bootcode.bin";
	case 0x2711:
		return "bootcode4.bin";
	case 0x2712:
		return "bootcode5.bin";
	default:
		return NULL;
	}
}

bool tp_rpi_is_bootrom(uint16_t vid, uint16_t pid)
{
	return vid == TP_RPI_VID && tp_rpi_second_stage(pid) != NULL;
}

bool tp_rpi_is_stage1(uint8_t iserial)
{
	return iserial == 0 || iserial == 3;
}

int tp_rpi_boot_msg(uint8_t out[TP_RPI_BOOT_MSG_LEN], uint64_t len)
{
	if (len == 0 || len > INT32_MAX)
		return -EFBIG;
	memset(out, 0, TP_RPI_BOOT_MSG_LEN);
	for (int i = 0; i < 4; i++)
		out[i] = (uint8_t)(len >> (8 * i));
	return 0;
}

bool tp_rpi_name_ok(const char *name)
{
	if (!name[0] || strchr(name, '/') || strstr(name, ".."))
		return false;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

int tp_rpi_request_parse(const uint8_t *buf, size_t len, struct tp_rpi_request *req)
{
	size_t n;

	memset(req, 0, sizeof(*req));
	if (len < 4)
		return -EPROTO;
	req->cmd = (int32_t)((uint32_t)buf[0] | (uint32_t)buf[1] << 8 | (uint32_t)buf[2] << 16 |
			     (uint32_t)buf[3] << 24);
	n = len - 4 < TP_RPI_NAME_MAX ? len - 4 : TP_RPI_NAME_MAX;
	memcpy(req->name, buf + 4, n);
	req->name[n] = '\0';
	req->name[strnlen(req->name, n)] = '\0';
	if (req->cmd == TP_RPI_DONE || !req->name[0])
		req->action = TP_RPI_ACT_DONE;
	else if (req->name[0] == '*')
		req->action = TP_RPI_ACT_ACK; /* metadata report "KEY*value" */
	else if (req->cmd != TP_RPI_GET_FILE_SIZE && req->cmd != TP_RPI_READ_FILE)
		req->action = TP_RPI_ACT_BAD;
	else if (!tp_rpi_name_ok(req->name))
		req->action = TP_RPI_ACT_NOTFOUND;
	else
		req->action = req->cmd == TP_RPI_GET_FILE_SIZE ? TP_RPI_ACT_SIZE : TP_RPI_ACT_READ;
	return 0;
}
