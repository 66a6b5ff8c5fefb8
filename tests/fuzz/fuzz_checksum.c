// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the checksum-file parser (common/checksum.c). Byte 0
 * picks the name looked for and whether the file is NAME.sha256; the rest
 * is the file's text. A found hash must be 64 lower-case hex digits. A hang
 * here (a line that is never stepped over) is caught by -timeout.
 */
#include "common/checksum.h"
#include "fuzz_util.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "x.img", "disk.img.xz", "a", "images/x.img" };
	char out[65], *text;
	int rc;

	if (!(text = tp_fuzz_text(data, size)))
		return 0;
	rc = tp_checksum_find_in(text, names[data[0] & 3], (data[0] >> 2) & 1, out);
	if (rc == 0) {
		if (strlen(out) != 64)
			abort();
		for (int i = 0; i < 64; i++)
			if (!isxdigit((unsigned char)out[i]) || isupper((unsigned char)out[i]))
				abort();
	} else if (rc != -ENOENT && rc != -EBADMSG && rc != -ENOTUNIQ && rc != -EINVAL) {
		abort();
	}
	if (tp_checksum_parse_hex(text, out) == 0 && strlen(out) != 64)
		abort();
	free(text);
	return 0;
}
