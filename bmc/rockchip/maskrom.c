// SPDX-License-Identifier: MIT
/*
 * Maskrom framing (protocols.md §4.2). rkdeveloptool (RKU_DeviceRequest) and
 * rockchiprs (MaskRomOperation) produce exactly these transfers; the rule
 * behind the edge cases is that an area always ends with a transfer shorter
 * than 4096 bytes and the CRC never straddles two transfers.
 */
#include "maskrom.h"
#include "crc16.h"
#include "ldr.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"

#include <string.h>

int tp_maskrom_send(uint16_t area, const uint8_t *data, size_t len, int last,
		    tp_maskrom_xfer_fn xfer, void *cookie)
{
	/* The tail: up to 4095 data bytes, a pad byte, two CRC bytes. */
	uint8_t tail[TP_MASKROM_CHUNK + 2];
	size_t full = len / TP_MASKROM_CHUNK, rem = len % TP_MASKROM_CHUNK, n;
	uint16_t crc;
	int rc;

	if (!len)
		return tp_err_set(-EINVAL, "maskrom area 0x%04x: empty entry", area);
	crc = tp_crc16_ccitt(TP_CRC16_INIT, data, len);
	memcpy(tail, data + full * TP_MASKROM_CHUNK, rem);
	n = rem;
	/* 4095: a 0x00 pad makes the chunk full and is covered by the CRC, so
	 * the CRC goes out on its own as a 2-byte transfer. */
	if (rem == TP_MASKROM_CHUNK - 1) {
		tail[n++] = 0x00;
		crc = tp_crc16_ccitt(crc, tail + rem, 1);
		full++;
		n = 0;
	}
	/* Full chunks go straight from the caller's buffer; the padded one
	 * (4095 case) from tail. */
	for (size_t i = 0; i < full; i++) {
		const uint8_t *p = (i == full - 1 && rem == TP_MASKROM_CHUNK - 1)
					   ? tail
					   : data + i * TP_MASKROM_CHUNK;

		rc = xfer(cookie, area, p, TP_MASKROM_CHUNK, 0);
		if (rc < 0)
			return rc;
	}
	if (rem == TP_MASKROM_CHUNK - 1) {
		tail[0] = (uint8_t)(crc >> 8);
		tail[1] = (uint8_t)crc;
		return xfer(cookie, area, tail, 2, last);
	}
	/* 0 and 1..4094: the remaining data (maybe none) plus the big-endian
	 * CRC in one transfer. */
	tail[n++] = (uint8_t)(crc >> 8);
	tail[n++] = (uint8_t)crc;
	if (rem != TP_MASKROM_CHUNK - 2)
		return xfer(cookie, area, tail, n, last);
	/* 4094: that transfer is exactly 4096 bytes, so one extra 1-byte 0x00
	 * transfer ends the area (§4.2). */
	rc = xfer(cookie, area, tail, n, 0);
	if (rc < 0)
		return rc;
	tail[0] = 0x00;
	return xfer(cookie, area, tail, 1, last);
}

int tp_maskrom_download(const struct tp_ldr *ldr, tp_maskrom_xfer_fn xfer, void *cookie)
{
	static const struct {
		enum tp_ldr_type type;
		uint16_t area;
	} areas[2] = { { TP_LDR_471, TP_MASKROM_AREA_471 }, { TP_LDR_472, TP_MASKROM_AREA_472 } };
	int rc;

	for (int a = 0; a < 2; a++) {
		size_t n = tp_ldr_count(ldr, areas[a].type);

		for (size_t i = 0; i < n; i++) {
			const struct tp_ldr_entry *e = tp_ldr_entry(ldr, areas[a].type, i);
			int last = a == 1 && i == n - 1;

			TP_DBG("maskrom: area 0x%04x entry %zu \"%s\": %u bytes, then %u ms",
			       areas[a].area, i, e->name, e->size, e->delay_ms);
			rc = tp_maskrom_send(areas[a].area, e->data, e->size, last, xfer, cookie);
			if (rc < 0)
				return tp_err_prefix(rc, "maskrom area 0x%04x entry \"%s\" of %s: ",
						     areas[a].area, e->name, tp_ldr_name(ldr));
			/* The delay after each entry is the loader's own (§3.2,
			 * §4.1): DDR init must finish before the next area. */
			if (e->delay_ms) {
				rc = tp_clock_sleep_ms(e->delay_ms);
				if (rc < 0)
					return rc;
			}
		}
	}
	return 0;
}
