// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the image catalogue parser (common/catalogue.c), fed
 * an exact-size copy (the text need not be NUL-terminated), twice into one
 * catalogue (the second file overrides the first), then looked up.
 */
#include "common/catalogue.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tp_catalogue cat = { 0 };
	char *text = malloc(size ? size : 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	if (tp_catalogue_parse(&cat, text, size, "fuzz.conf") == 0) {
		tp_catalogue_parse(&cat, text, size / 2, "fuzz2.conf");
		for (size_t i = 0; i < cat.n; i++)
			if (tp_catalogue_find(&cat, cat.e[i].name) == NULL)
				abort(); /* an entry it holds must be found by its name */
		(void)tp_catalogue_auto(&cat, "rk1");
		(void)tp_catalogue_auto(&cat, "cm4");
		/* A k3s file found must be of the kind and version asked for. */
		for (size_t i = 0; i < cat.n; i++) {
			const struct tp_catalogue_entry *k =
				tp_catalogue_k3s(&cat, cat.e[i].kind, cat.e[i].version, "arm64");

			if (k && (k->kind != cat.e[i].kind || strcmp(k->version, cat.e[i].version)))
				abort();
		}
	}
	tp_catalogue_free(&cat);
	free(text);
	return 0;
}
