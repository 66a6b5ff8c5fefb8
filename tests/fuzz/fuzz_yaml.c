// SPDX-License-Identifier: MIT
/* libFuzzer target: YAML quoting of configuration values (bmc/seed/text.c,
 * tp_text_yaml). Any input is quoted; an accepted one must come out as one
 * double-quoted scalar with nothing raw that YAML folds or stops at, and
 * decode back to the input byte for byte. */
#include "bmc/seed/text.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t put_utf8(char *p, uint32_t c)
{
	if (c < 0x80)
		return p[0] = (char)c, 1;
	if (c < 0x800)
		return p[0] = (char)(0xC0 | c >> 6), p[1] = (char)(0x80 | (c & 0x3F)), 2;
	return p[0] = (char)(0xE0 | c >> 12), p[1] = (char)(0x80 | (c >> 6 & 0x3F)),
	       p[2] = (char)(0x80 | (c & 0x3F)), 3;
}

static uint32_t hexval(const char *s, int n)
{
	char b[5];

	memcpy(b, s, (size_t)n);
	b[n] = '\0';
	return (uint32_t)strtoul(b, NULL, 16);
}

/* Decode the scalar q[0..n) into out; abort on anything tp_text_yaml must
 * never write. */
static size_t decode(const char *q, size_t n, char *out)
{
	size_t o = 0;

	if (n < 2 || q[0] != '"' || q[n - 1] != '"')
		abort();
	for (size_t i = 1; i < n - 1; i++) {
		unsigned char ch = (unsigned char)q[i];

		if (ch < 0x20 || ch == 0x7F || ch == '"')
			abort();
		if (ch != '\\') {
			out[o++] = (char)ch;
			continue;
		}
		if (i + 1 >= n - 1)
			abort();
		switch (q[++i]) {
		case '"': out[o++] = '"'; break;
		case '\\': out[o++] = '\\'; break;
		case 'L': o += put_utf8(out + o, 0x2028); break;
		case 'P': o += put_utf8(out + o, 0x2029); break;
		case 'x': o += put_utf8(out + o, hexval(q + i + 1, 2)); i += 2; break;
		case 'u': o += put_utf8(out + o, hexval(q + i + 1, 4)); i += 4; break;
		default: abort();
		}
	}
	return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tp_text t = { 0 };
	char *in = malloc(size + 1), *q = NULL, *back;
	size_t len = 0;

	if (!in)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	tp_text_yaml(&t, in);
	if (tp_text_take(&t, &q, &len) == 0) {
		if (!(back = malloc(2 * len + 1)))
			abort();
		if (decode(q, len, back) != strlen(in) || memcmp(back, in, strlen(in)))
			abort();
		free(back);
		free(q);
	}
	free(in);
	return 0;
}
