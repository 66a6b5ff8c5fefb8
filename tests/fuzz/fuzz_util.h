/* SPDX-License-Identifier: MIT */
/* What several fuzz targets share. Header only: each target is built from
 * its one .c file (Makefile, $(O)/tests/fuzz/%). */
#ifndef TP_FUZZ_UTIL_H
#define TP_FUZZ_UTIL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/*
 * The input after its first byte (the byte a target reads as its choice)
 * as a C string in a new buffer, for parsers that read text: the fuzzer's
 * bytes carry no NUL at their end, and may hold one inside. The caller
 * frees it; NULL when size is 0 or memory runs out.
 */
static inline char *tp_fuzz_text(const uint8_t *data, size_t size)
{
	char *text;

	if (size < 1 || !(text = malloc(size)))
		return NULL;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	return text;
}

#endif
