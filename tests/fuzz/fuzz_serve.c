// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: what tpkit serve reads from a client before any route
 * runs (bmc/serve/query.c, bmc/serve/auth.c): the query string, split and
 * decoded, with bmcd's `node` read from it; and the Authorization header,
 * checked. The input is "<query>\n<header>". No shadow file exists under
 * the fuzz root, so Basic credentials can never pass; a Bearer token can
 * only pass if the fuzzer guesses one of the 64-character random tokens.
 */
#include "bmc/serve/auth.h"
#include "bmc/serve/serve.h"
#include "common/path.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t fixed_ms(void)
{
	return 1000;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tp_auth *auth;
	struct tp_auth_opts o = { .now_ms = fixed_ms };
	struct tp_auth_denial d;
	struct tp_query q;
	char *text = malloc(size + 1), *nl;
	unsigned slot = 0;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (!auth) {
		tp_root_set("/nonexistent-tpkit-fuzz-root");
		if (tp_auth_new(&auth, &o) < 0)
			abort();
	}
	nl = strchr(text, '\n');
	if (nl)
		*nl = '\0';
	if (tp_query_parse(&q, text) == 0) {
		for (unsigned i = 0; i < q.n; i++)
			if (!tp_query_get(&q, q.f[i].name))
				abort(); /* a parsed name must be found */
		if (tp_query_node(&q, &slot) == 0 && (slot < 1 || slot > 4))
			abort();
	}
	if (nl && tp_auth_check(auth, "192.0.2.1", nl + 1, &d) == 0)
		abort(); /* nothing can authenticate here */
	free(text);
	return 0;
}
