/* SPDX-License-Identifier: MIT */
#ifndef TP_CRC32_H
#define TP_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* CRC-32/ISO-HDLC (zlib's crc32, as bmcd's crc32fast): reflected 0xEDB88320,
 * init and final XOR 0xFFFFFFFF. Small inputs only (the board's EEPROM
 * block, GPT headers and entry arrays); why not zlib's: crc32.c. */
uint32_t tp_crc32(const void *data, size_t len);

#endif
