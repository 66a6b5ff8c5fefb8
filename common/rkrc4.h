/* SPDX-License-Identifier: MIT */
/*
 * Rockchip's RC4: textbook RC4 with the fixed 16-byte key every Rockchip tool
 * uses, for loader payloads (protocols.md §3.4) and the legacy ID block
 * header at sector 64 of a boot medium. In common/ because both the loader
 * parser (bmc/rockchip) and the image family check (common/family.c) need
 * it, and a CM4-only build has no bmc/rockchip.
 */
#ifndef TP_RKRC4_H
#define TP_RKRC4_H

#include <stddef.h>
#include <stdint.h>

/* Scramble or unscramble buf in place (RC4 is symmetric); the keystream
 * starts afresh on every call. */
void tp_rk_rc4(uint8_t *buf, size_t len);

#endif
