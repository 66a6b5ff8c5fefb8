// SPDX-License-Identifier: MIT
/* libFuzzer target: telling an RK1 image from a CM4 one by its head
 * (common/family.c), on an exact-size copy. */
#include "common/family.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *head = malloc(size ? size : 1);
	char why[200];
	enum tp_family f;

	if (!head)
		return 0;
	memcpy(head, data, size);
	f = tp_family_detect(head, size, why, sizeof(why));
	if (strnlen(why, sizeof(why)) == sizeof(why))
		abort(); /* the reason is always a terminated string */
	(void)tp_family_name(f);
	(void)tp_family_detect(head, size, NULL, 0);
	free(head);
	return 0;
}
