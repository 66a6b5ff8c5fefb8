// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: what tpkit --host console reads from a server
 * (bmc/remote/wire.c). The first byte chooses: even, the input after it is
 * the stream of frames, read as ws.c reads it (frame after frame, a
 * partial one waiting for more); odd, it is the head of the answer to the
 * upgrade, checked against a fixed key. A frame taken must lie within the
 * bytes given; a partial one must never be taken.
 */
#include "bmc/remote/wire.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tp_ws_frame f;
	size_t at = 1;
	char *head;

	if (size < 1)
		return 0;
	if (data[0] & 1) {
		if (!(head = malloc(size)))
			return 0;
		memcpy(head, data + 1, size - 1);
		head[size - 1] = '\0';
		tp_ws_answer_check(head, "dGhlIHNhbXBsZSBub25jZQ==", "fuzz");
		free(head);
		return 0;
	}
	while (at < size) {
		int rc = tp_ws_frame_parse(data + at, size - at, 64 * 1024, &f);

		if (rc < 0)
			break;
		if (f.head + f.len > size - at || f.head < 2)
			abort();
		at += f.head + f.len;
	}
	return 0;
}
