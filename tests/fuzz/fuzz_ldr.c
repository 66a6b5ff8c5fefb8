// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the LDR loader parser (bmc/rockchip/ldr.c) and, for a
 * file it accepts, the maskrom framing of each entry (maskrom.c) into a
 * transfer function that checks every transfer and fails some on request.
 * Input byte 0 bit 0 set: the harness writes the right CRC-32 into the last
 * 4 bytes first, so the fuzzer gets past the checksum into the tables.
 */
#include "bmc/rockchip/ldr.h"
#include "bmc/rockchip/maskrom.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct xfer {
	unsigned calls, fail_at;
	uint8_t sum; /* of every byte sent: makes the reads real */
};

static int xfer(void *cookie, uint16_t area, const uint8_t *buf, size_t len, int last)
{
	struct xfer *x = cookie;

	(void)last;
	if (area != TP_MASKROM_AREA_471 && area != TP_MASKROM_AREA_472)
		abort();
	if (len > 4096 || (len && !buf))
		abort();
	for (size_t i = 0; i < len; i++) /* every byte must be readable */
		x->sum ^= buf[i];
	return ++x->calls == x->fail_at ? -5 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tp_ldr *l = NULL;
	uint8_t *buf;
	struct xfer x = { 0 };

	if (size < 1)
		return 0;
	x.fail_at = data[0] >> 1; /* 0: never */
	buf = malloc(size - 1 ? size - 1 : 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, size - 1);
	if ((data[0] & 1) && size - 1 >= 4) {
		uint32_t crc = tp_ldr_crc32(0, buf, size - 1 - 4);

		for (int i = 0; i < 4; i++)
			buf[size - 1 - 4 + i] = (uint8_t)(crc >> (8 * i));
	}
	if (tp_ldr_parse(buf, size - 1, "fuzz.bin", (data[0] & 2) ? "3588" : NULL, &l) == 0) {
		static const enum tp_ldr_type types[] = { TP_LDR_471, TP_LDR_472, TP_LDR_LOADER };

		(void)tp_ldr_info(l);
		(void)tp_ldr_name(l);
		for (size_t t = 0; t < 3; t++)
			for (size_t i = 0; i < tp_ldr_count(l, types[t]); i++) {
				const struct tp_ldr_entry *e = tp_ldr_entry(l, types[t], i);
				uint8_t *plain = malloc(e->size ? e->size : 1);

				if (!plain)
					continue;
				tp_ldr_entry_plain(l, e, plain);
				if (types[t] != TP_LDR_LOADER && e->size)
					tp_maskrom_send(types[t] == TP_LDR_471 ? TP_MASKROM_AREA_471
									       : TP_MASKROM_AREA_472,
							plain, e->size, 0, xfer, &x);
				free(plain);
			}
		tp_ldr_free(l);
	}
	free(buf);
	return 0;
}
