/* SPDX-License-Identifier: MIT */
/*
 * The RK3588 maskrom download (docs/protocols.md §4): every 0x471
 * entry, then every 0x472 entry, each framed with its own CRC-16 and sent as
 * vendor control OUT transfers of at most 4096 bytes. This layer only frames
 * and sequences; the caller supplies the transfer (libusb in rockusb.c, a
 * recorder in tests).
 */
#ifndef TP_MASKROM_H
#define TP_MASKROM_H

#include <stddef.h>
#include <stdint.h>

struct tp_ldr;

#define TP_MASKROM_REQTYPE 0x40  /* host-to-device, vendor, device (§4.1) */
#define TP_MASKROM_REQUEST 0x0C
#define TP_MASKROM_CHUNK 4096
#define TP_MASKROM_AREA_471 0x0471
#define TP_MASKROM_AREA_472 0x0472

/*
 * One control transfer of len bytes (wIndex = area). last is non-zero for the
 * final transfer of the whole download (after it the usbplug starts and the
 * device re-enumerates, §4.3). 0 or -errno with a message set.
 */
typedef int (*tp_maskrom_xfer_fn)(void *cookie, uint16_t area, const uint8_t *buf, size_t len,
				  int last);

/*
 * Frame and send one entry of len (> 0) bytes to area (§4.2): 4096-byte
 * chunks, the CRC appended big-endian, with the 4094/4095/0 (mod 4096) edge
 * cases. last marks the entry's final transfer as the download's last.
 */
int tp_maskrom_send(uint16_t area, const uint8_t *data, size_t len, int last,
		    tp_maskrom_xfer_fn xfer, void *cookie);

/* The whole download of a validated loader: 0x471 entries in table order,
 * each followed by its delay (tp_clock_sleep_ms), then the 0x472 entries. */
int tp_maskrom_download(const struct tp_ldr *ldr, tp_maskrom_xfer_fn xfer, void *cookie);

#endif
