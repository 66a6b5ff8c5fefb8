/* SPDX-License-Identifier: MIT */
/*
 * CRC-16/CCITT-FALSE (a.k.a. CRC-16/IBM-3740) as the RK3588 maskrom checks
 * it on every downloaded area (docs/protocols.md §4.2).
 */
#ifndef TP_CRC16_H
#define TP_CRC16_H

#include <stddef.h>
#include <stdint.h>

#define TP_CRC16_INIT 0xFFFFu

/* Continue crc over data: width 16, poly 0x1021, MSB first, no final XOR.
 * Start with TP_CRC16_INIT; "123456789" gives 0x29B1. */
uint16_t tp_crc16_ccitt(uint16_t crc, const void *data, size_t len);

#endif
