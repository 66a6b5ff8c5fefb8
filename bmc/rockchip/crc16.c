// SPDX-License-Identifier: MIT
/*
 * The maskrom's CRC-16 (protocols.md §4.2): CCITT-FALSE, the same function as
 * rockchiprs' CRC_16_IBM_3740 and rkdeveloptool's bitwise CRC_CCITT.
 */
#include "crc16.h"

/* A nibble table: 32 bytes instead of 512, and twice the speed of the bit
 * loop, which matters little for the ~160 KiB a download covers but costs
 * nothing. Entry n is the CRC register after shifting nibble n through. */
static const uint16_t nibble[16] = {
	0x0000, 0x1021, 0x2042, 0x3063, 0x4084, 0x50A5, 0x60C6, 0x70E7,
	0x8108, 0x9129, 0xA14A, 0xB16B, 0xC18C, 0xD1AD, 0xE1CE, 0xF1EF,
};

uint16_t tp_crc16_ccitt(uint16_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len--) {
		crc = (uint16_t)((crc << 4) ^ nibble[(crc >> 12) ^ (*p >> 4)]);
		crc = (uint16_t)((crc << 4) ^ nibble[(crc >> 12) ^ (*p++ & 0x0F)]);
	}
	return crc;
}
