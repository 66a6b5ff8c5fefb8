// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: what a CM4 boot ROM's second stage asks for over
 * rpiboot (bmc/rpiboot/rpiboot_proto.c): a file-server request of any
 * length, on an exact-size copy. A name it would serve is never a path out
 * of the directory, and is always NUL-terminated.
 */
#include "bmc/rpiboot/rpiboot_proto.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tp_rpi_request req;
	uint8_t *b = malloc(size ? size : 1), msg[TP_RPI_BOOT_MSG_LEN];
	uint64_t len = 0;

	if (!b)
		return 0;
	memcpy(b, data, size);
	if (tp_rpi_request_parse(b, size, &req) == 0) {
		if (strnlen(req.name, sizeof(req.name)) == sizeof(req.name))
			abort();
		if ((req.action == TP_RPI_ACT_SIZE || req.action == TP_RPI_ACT_READ) &&
		    (strstr(req.name, "..") || strchr(req.name, '/') || !tp_rpi_name_ok(req.name)))
			abort();
	}
	memcpy(&len, data, size < 8 ? size : 8);
	(void)tp_rpi_boot_msg(msg, len);
	if (size >= 4) {
		(void)tp_rpi_second_stage((uint16_t)(data[0] | data[1] << 8));
		(void)tp_rpi_is_bootrom((uint16_t)(data[2] | data[3] << 8),
					(uint16_t)(data[0] | data[1] << 8));
		(void)tp_rpi_is_stage1(data[0]);
	}
	free(b);
	return 0;
}
