/* SPDX-License-Identifier: MIT */
/*
 * The rpiboot messages (protocols.md §7), without USB: the boot message of
 * stage 1, the file-server request of stage 2 and the rules for the names it
 * may ask for. Pure functions, so the unit tests cover them byte for byte.
 */
#ifndef TP_RPIBOOT_PROTO_H
#define TP_RPIBOOT_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TP_RPI_VID 0x0a5c
#define TP_RPI_PID_2711 0x2711 /* BCM2711: CM4, Pi 4 */

#define TP_RPI_BOOT_MSG_LEN 24   /* length (4) + signature (20), §7.3 */
#define TP_RPI_REQUEST_LEN 260   /* command (4) + name (256), §7.4 */
#define TP_RPI_NAME_MAX 256
#define TP_RPI_MAX_XFER 16384    /* bulk chunk, usbboot's LIBUSB_MAX_TRANSFER (§7.2) */

enum tp_rpi_cmd {
	TP_RPI_GET_FILE_SIZE = 0,
	TP_RPI_READ_FILE = 1,
	TP_RPI_DONE = 2,
};

/* What the host does with one stage-2 request. */
enum tp_rpi_action {
	TP_RPI_ACT_SIZE,     /* GetFileSize of a servable name */
	TP_RPI_ACT_READ,     /* ReadFile of a servable name */
	TP_RPI_ACT_NOTFOUND, /* a name refused (".." or "/"): answer "not found" */
	TP_RPI_ACT_ACK,      /* metadata "KEY*value": ep_write(NULL, 0) */
	TP_RPI_ACT_DONE,     /* Done, or an empty name: ack and stop */
	TP_RPI_ACT_BAD,      /* unknown command: stop with an error */
};

struct tp_rpi_request {
	int32_t cmd;
	char name[TP_RPI_NAME_MAX + 1]; /* always NUL-terminated */
	enum tp_rpi_action action;
};

/* The second-stage file a boot ROM wants, by USB product ID (§7.1), or NULL
 * for a product that is not a Broadcom boot ROM. */
const char *tp_rpi_second_stage(uint16_t pid);

/* True for the PIDs of §7.1 (2763, 2764, 2711, 2712). */
bool tp_rpi_is_bootrom(uint16_t vid, uint16_t pid);

/* Stage 1 vs stage 2: iSerialNumber index 0 or 3 is the boot ROM (§7.3). */
bool tp_rpi_is_stage1(uint8_t iserial);

/* The 24-byte boot message for a second stage of len bytes (length
 * little-endian, signature zero). -EFBIG if len does not fit a signed
 * 32-bit length. */
int tp_rpi_boot_msg(uint8_t out[TP_RPI_BOOT_MSG_LEN], uint64_t len);

/* A name the file server may serve from its directory: not empty, no "/",
 * no "..", no control characters. */
bool tp_rpi_name_ok(const char *name);

/* Parse a request of len bytes (normally 260) and decide the answer. -EPROTO
 * for a short request. */
int tp_rpi_request_parse(const uint8_t *buf, size_t len, struct tp_rpi_request *req);

/* The setup packet's split of a 32-bit length (§7.2). */
static inline uint16_t tp_rpi_wvalue(uint32_t len) { return (uint16_t)(len & 0xffff); }
static inline uint16_t tp_rpi_windex(uint32_t len) { return (uint16_t)(len >> 16); }

#endif
