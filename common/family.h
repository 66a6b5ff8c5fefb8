/* SPDX-License-Identifier: MIT */
/*
 * Which compute module an OS image is meant for, told from its first bytes,
 * so `tpkit flash` can refuse an RK1 image for a CM4 slot (or the reverse)
 * before anything is written. Only positive evidence counts:
 *
 *  - Rockchip: a Rockchip ID block header at sector 64 (byte 0x8000), where
 *    the RK3588 boot ROM looks for its loader on eMMC/SD: the newer "RKNS"
 *    (or "RRNS") header, or the older header whose first 512 bytes are
 *    RC4-scrambled with Rockchip's fixed key and begin 0x0FF0AA55.
 *  - Raspberry Pi: an MBR (not GPT's protective one) whose first partition
 *    is FAT, and no Rockchip ID block.
 *  - Anything else is unknown, and the caller lets it through: the check
 *    exists to catch the obvious mistake, not to gate every image.
 */
#ifndef TP_FAMILY_H
#define TP_FAMILY_H

#include <stddef.h>

enum tp_family {
	TP_FAMILY_UNKNOWN,
	TP_FAMILY_ROCKCHIP,
	TP_FAMILY_RPI,
};

/*
 * head: the image's first len bytes, decoded (the pipeline holds the first
 * TP_IMAGE_HEAD_SIZE, or the whole image if it is shorter). why, if not
 * NULL, receives a short reason for a person ("Rockchip ID block (RKNS) at
 * sector 64"), truncated to why_size. A head too short to reach past sector
 * 64 is unknown: an image that small cannot hold either kind of boot chain,
 * and a truncated head must not be taken for "no Rockchip loader".
 */
enum tp_family tp_family_detect(const void *head, size_t len, char *why, size_t why_size);

/* "RK1 (Rockchip)", "Raspberry Pi (CM4)" or "unknown". */
const char *tp_family_name(enum tp_family f);

#endif
