// SPDX-License-Identifier: MIT
#include "crc32.h"

uint32_t tp_crc32(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t crc = 0xFFFFFFFFu;

	/* Ours, not zlib's crc32(), on purpose: the node helper
	 * uses this too (GPT headers and entry arrays, parttable.c), and it
	 * is a static aarch64 program with libc and libcrypto alone
	 * (docs/node-helper.md §7); ten lines are cheaper than zlib there.
	 * Bitwise, no table: its inputs are a 50-byte EEPROM block and 16 KiB
	 * GPT entry arrays, read once per run, so a 1 KiB table would cost
	 * more memory than it saves time. test_detect checks the standard
	 * check value ("123456789" -> 0xCBF43926). */
	while (len--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
	}
	return ~crc;
}
