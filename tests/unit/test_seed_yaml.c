// SPDX-License-Identifier: MIT
/*
 * YAML quoting of configuration values (bmc/seed/text.c, tp_text_yaml):
 * what a value becomes, checked three ways. Fixed cases against expected
 * text; many random strings (valid UTF-8 with every kind of character YAML
 * treats specially) decoded back by a small double-quoted-scalar reader
 * here; and the same strings read by PyYAML, the parser cloud-init uses,
 * from a document of "key: <quoted>" lines, so that no value can end its
 * scalar or its line early.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmc/seed/text.h"

static char *quote(const char *s, int *err)
{
	struct tp_text t = { 0 };
	char *out = NULL;

	tp_text_yaml(&t, s);
	*err = tp_text_take(&t, &out, NULL);
	return out;
}

static void fixed(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "lab-1", "\"lab-1\"" },
		{ "", "\"\"" },
		{ "a\"b\\c", "\"a\\\"b\\\\c\"" },
		{ "x\ny: 1", "\"x\\x0ay: 1\"" },
		{ "tab\there\r", "\"tab\\x09here\\x0d\"" },
		{ "# not a comment: {x}", "\"# not a comment: {x}\"" },
		{ "caf\xc3\xa9", "\"caf\xc3\xa9\"" },           /* é stays */
		{ "nel\xc2\x85", "\"nel\\x85\"" },              /* U+0085, a YAML line break */
		{ "ls\xe2\x80\xa8ps\xe2\x80\xa9", "\"ls\\Lps\\P\"" },
		{ "\xef\xbb\xbf" "bom", "\"\\ufeffbom\"" },
		{ "del\x7f", "\"del\\x7f\"" },
		{ "\xf0\x9f\x94\x91", "\"\xf0\x9f\x94\x91\"" }, /* a 4-byte emoji */
	};
	static const char *const bad[] = {
		"\xff", "a\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x80",
	};
	int err;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *q = quote(cases[i].in, &err);

		assert_int_equal(err, 0);
		assert_string_equal(q, cases[i].out);
		free(q);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *q = quote(bad[i], &err);

		assert_int_equal(err, -EILSEQ);
		assert_null(q);
	}
}

/* Append code point c as UTF-8. */
static size_t put_utf8(char *p, uint32_t c)
{
	if (c < 0x80)
		return p[0] = (char)c, 1;
	if (c < 0x800)
		return p[0] = (char)(0xC0 | c >> 6), p[1] = (char)(0x80 | (c & 0x3F)), 2;
	if (c < 0x10000)
		return p[0] = (char)(0xE0 | c >> 12), p[1] = (char)(0x80 | (c >> 6 & 0x3F)),
		       p[2] = (char)(0x80 | (c & 0x3F)), 3;
	return p[0] = (char)(0xF0 | c >> 18), p[1] = (char)(0x80 | (c >> 12 & 0x3F)),
	       p[2] = (char)(0x80 | (c >> 6 & 0x3F)), p[3] = (char)(0x80 | (c & 0x3F)), 4;
}

static uint32_t hexval(const char *s, int n)
{
	char b[9];

	memcpy(b, s, (size_t)n);
	b[n] = '\0';
	return (uint32_t)strtoul(b, NULL, 16);
}

/* A YAML double-quoted scalar, decoded: only the escapes it may contain. */
static char *unquote(const char *q)
{
	size_t n = strlen(q);
	char *out = malloc(2 * n + 1), *o = out; /* "\\L" (2) decodes to 3 bytes */

	assert_true(n >= 2 && q[0] == '"' && q[n - 1] == '"');
	for (size_t i = 1; i < n - 1; i++) {
		unsigned char ch = (unsigned char)q[i];

		/* Nothing raw that YAML would fold or stop at. */
		assert_true(ch >= 0x20 && ch != 0x7F && ch != '"');
		if (ch != '\\') {
			*o++ = (char)ch;
			continue;
		}
		switch (q[++i]) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case 'L': o += put_utf8(o, 0x2028); break;
		case 'P': o += put_utf8(o, 0x2029); break;
		case 'x': o += put_utf8(o, hexval(q + i + 1, 2)); i += 2; break;
		case 'u': o += put_utf8(o, hexval(q + i + 1, 4)); i += 4; break;
		default: fail_msg("unexpected escape \\%c", q[i]);
		}
	}
	*o = '\0';
	return out;
}

/* Characters YAML cares about, weighted so every string has several. */
static uint32_t pick(unsigned r)
{
	static const uint32_t special[] = {
		'"', '\\', '\n', '\r', '\t', 0, ':', '#', '-', '{', '}', '[', ']', ',', '&',
		'*', '!', '|', '>', '\'', '%', '@', '`', ' ', 0x7F, 0x85, 0xA0, 0x2028, 0x2029,
		0xFEFF, 0xFFFE, 0x1F511, 0xE9, 0x3000,
	};
	unsigned n = sizeof(special) / sizeof(special[0]);
	uint32_t c;

	if (r % 3 == 0) {
		c = special[(r / 3) % n];
		return c ? c : 1; /* a C string has no NUL inside */
	}
	if (r % 3 == 1)
		return 0x20 + (r / 3) % 0x5F;
	c = (r / 3) % 0x30000;
	return (c >= 0xD800 && c <= 0xDFFF) || c == 0 ? 'x' : c;
}

static void random_roundtrip(void **state)
{
	const char *tmp = getenv("TMPDIR");
	char dir[256], cmd[1024];
	FILE *in, *doc;
	uint32_t seed = 12345;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/tp-yaml.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd), "%s/in.bin", dir);
	assert_non_null(in = fopen(cmd, "wb"));
	snprintf(cmd, sizeof(cmd), "%s/doc.yaml", dir);
	assert_non_null(doc = fopen(cmd, "w"));
	for (int k = 0; k < 3000; k++) {
		char s[400], *q, *back;
		size_t len = 0;
		int err, n;

		seed = seed * 1103515245u + 12345u;
		n = (int)(seed >> 16) % 40;
		for (int i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			len += put_utf8(s + len, pick(seed >> 8));
		}
		s[len] = '\0';
		q = quote(s, &err);
		assert_int_equal(err, 0);
		back = unquote(q);
		assert_string_equal(back, s);
		fwrite(s, 1, len + 1, in);
		fprintf(doc, "k%d: %s\n", k, q);
		free(q);
		free(back);
	}
	fclose(in);
	fclose(doc);
	/* PyYAML reads every value back exactly (it is cloud-init's parser). */
	snprintf(cmd, sizeof(cmd),
		 "cd %s && python3 -c \"import yaml\n"
		 "d = yaml.safe_load(open('doc.yaml', encoding='utf-8'))\n"
		 "want = open('in.bin', 'rb').read().split(b'\\0')[:-1]\n"
		 "assert len(d) == len(want) == 3000\n"
		 "for i, w in enumerate(want):\n"
		 "    assert d['k%%d' %% i].encode('utf-8') == w, (i, d['k%%d' %% i], w)\n\"",
		 dir);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fixed),
		cmocka_unit_test(random_roundtrip),
	};

	return cmocka_run_group_tests_name("seed_yaml", tests, NULL, NULL);
}
