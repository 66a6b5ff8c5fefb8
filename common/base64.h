/* SPDX-License-Identifier: MIT */
/* Base64 (RFC 4648, standard alphabet), as OpenSSH writes keys. */
#ifndef TP_BASE64_H
#define TP_BASE64_H

#include <stdbool.h>
#include <stddef.h>

/* Characters tp_base64_encode() writes for n bytes, without the NUL. */
#define TP_BASE64_LEN(n) ((((n) + 2) / 3) * 4)

/* Encode n bytes into out (TP_BASE64_LEN(n) + 1 bytes), NUL-terminated;
 * pad: with '=' padding (false: none, as SHA256 fingerprints are printed).
 * Returns the length written. */
size_t tp_base64_encode(const void *in, size_t n, char *out, bool pad);

/* Decode len characters of strict base64 (padding required, no white
 * space) into out (at least len / 4 * 3 bytes). Returns the byte count,
 * or -1 if the text is not base64. */
long tp_base64_decode(const char *in, size_t len, unsigned char *out);

#endif
