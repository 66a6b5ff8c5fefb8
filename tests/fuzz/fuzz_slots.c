// SPDX-License-Identifier: MIT
/* libFuzzer target: the slot-list parser (common/slots.c). Byte 0 is the
 * number of slots; a parsed mask names only slots that exist, and it
 * formats back to a list that parses to the same mask. */
#include "common/slots.h"
#include "fuzz_util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned nslots, mask = 0, again = 0;
	char *list, buf[256];

	if (size < 1)
		return 0;
	nslots = data[0] % 33;
	if (!(list = tp_fuzz_text(data, size)))
		return 0;
	if (tp_slots_parse(list, nslots, &mask) == 0) {
		if (nslots < 32 && (mask >> nslots))
			abort();
		if (tp_slots_parse(tp_slots_format(mask, buf, sizeof(buf)), nslots, &again) != 0 ||
		    again != mask)
			abort();
		(void)tp_slots_count(mask);
	}
	free(list);
	return 0;
}
