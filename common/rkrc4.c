// SPDX-License-Identifier: MIT
#include "rkrc4.h"

void tp_rk_rc4(uint8_t *buf, size_t len)
{
	static const uint8_t key[16] = { 124, 78, 3, 4, 85, 5, 9, 7,
					 45, 44, 123, 56, 23, 13, 23, 17 };
	uint8_t s[256], t;
	unsigned i, j;

	/* Key scheduling, then the keystream XORed into buf. */
	for (i = 0; i < 256; i++)
		s[i] = (uint8_t)i;
	for (i = j = 0; i < 256; i++) {
		j = (j + s[i] + key[i % sizeof(key)]) & 0xFF;
		t = s[i], s[i] = s[j], s[j] = t;
	}
	i = j = 0;
	for (size_t x = 0; x < len; x++) {
		i = (i + 1) & 0xFF;
		j = (j + s[i]) & 0xFF;
		t = s[i], s[i] = s[j], s[j] = t;
		buf[x] ^= s[(s[i] + s[j]) & 0xFF];
	}
}
