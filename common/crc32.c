// SPDX-License-Identifier: MIT
#include "crc32.h"

uint32_t tp_crc32(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t crc = 0xFFFFFFFFu;

	/* Bitwise: this only ever sees 50-byte EEPROM blocks, so a table
	 * would cost more memory than it saves time. */
	while (len--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
	}
	return ~crc;
}
