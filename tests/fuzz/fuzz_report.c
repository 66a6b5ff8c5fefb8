// SPDX-License-Identifier: MIT
/* libFuzzer target: report lines (common/report.c,
 * docs/report-protocol.md §7). Any bytes are either refused with one of the
 * three documented codes, or parse to a report that formats back to exactly
 * the bytes from the marker on (trailing CR/LF aside). The key is fixed; a
 * well-formed line with a matching MAC is what the seeds provide, so the
 * fuzzer mutates around authentic lines. Byte 0 picks one of two keys. */
#include "common/report.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tp_report_key key;
	struct tp_report r;
	char again[TP_REPORT_LINE_MAX + 1];
	const char *line, *start = NULL;
	size_t len, end;
	int rc;

	if (size < 1)
		return 0;
	for (size_t i = 0; i < TP_REPORT_KEY_BYTES; i++)
		key.b[i] = (unsigned char)(data[0] & 1 ? 0xa5 : i);
	line = (const char *)data + 1;
	len = size - 1;
	rc = tp_report_parse(line, len, &key, &r);
	if (rc == -ENOMSG || rc == -EBADMSG || rc == -EPERM) {
		if (rc == -ENOMSG && tp_report_is_candidate(line, len))
			abort();
		return 0;
	}
	if (rc != 0)
		abort();
	for (size_t i = 0; i + 5 <= len; i++)
		if (!memcmp(line + i, TP_REPORT_MARKER, 5))
			start = line + i;
	if (!start)
		abort();
	end = len - (size_t)(start - line);
	while (end && (start[end - 1] == '\r' || start[end - 1] == '\n'))
		end--;
	rc = tp_report_format(again, sizeof(again), &key, &r);
	if (rc < 0 || (size_t)rc != end || memcmp(again, start, end))
		abort();
	return 0;
}
