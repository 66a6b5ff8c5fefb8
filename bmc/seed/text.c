// SPDX-License-Identifier: MIT
/*
 * The text buffer of seeding (text.h) and its YAML quoting. Every value that
 * comes from the configuration goes into the YAML files double-quoted through
 * tp_text_yaml(), never pasted bare: a hostname or key comment must not be
 * able to end a scalar and add keys of its own.
 */
#include "text.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

static int grow(struct tp_text *t, size_t more)
{
	size_t need = t->len + more + 1, cap = t->cap ? t->cap : 256;
	char *s;

	if (t->err)
		return t->err;
	if (need <= t->cap)
		return 0;
	while (cap < need)
		cap *= 2;
	if (!(s = malloc(cap)))
		return t->err = -ENOMEM;
	/* Copy rather than realloc, so that a secret never stays behind in a
	 * freed block. */
	if (t->s) {
		memcpy(s, t->s, t->len + 1);
		OPENSSL_cleanse(t->s, t->cap);
		free(t->s);
	}
	t->s = s;
	t->cap = cap;
	return 0;
}

void tp_text_add(struct tp_text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		if (!t->err)
			t->err = -EINVAL;
		return;
	}
	if (grow(t, (size_t)n) < 0)
		return;
	va_start(ap, fmt);
	vsnprintf(t->s + t->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	t->len += (size_t)n;
}

/* One UTF-8 sequence at s: its code point and length, or 0 if invalid
 * (overlong forms, surrogates and values above U+10FFFF included). */
static size_t utf8(const unsigned char *s, uint32_t *cp)
{
	static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
	size_t n;
	uint32_t c;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xC2 && s[0] <= 0xDF)
		n = 2, c = s[0] & 0x1F;
	else if (s[0] >= 0xE0 && s[0] <= 0xEF)
		n = 3, c = s[0] & 0x0F;
	else if (s[0] >= 0xF0 && s[0] <= 0xF4)
		n = 4, c = s[0] & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3F);
	}
	if (c < min[n] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	*cp = c;
	return n;
}

void tp_text_yaml(struct tp_text *t, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	tp_text_add(t, "\"");
	while (*p && !t->err) {
		uint32_t c;
		size_t n = utf8(p, &c);

		if (!n) {
			t->err = -EILSEQ;
			break;
		}
		if (c == '"' || c == '\\')
			tp_text_add(t, "\\%c", (int)c);
		else if (c < 0x20 || (c >= 0x7F && c <= 0x9F))
			tp_text_add(t, "\\x%02x", (unsigned)c);
		else if (c == 0x2028)
			tp_text_add(t, "\\L");
		else if (c == 0x2029)
			tp_text_add(t, "\\P");
		else if (c == 0xFEFF || c == 0xFFFE || c == 0xFFFF)
			tp_text_add(t, "\\u%04x", (unsigned)c);
		else
			tp_text_add(t, "%.*s", (int)n, (const char *)p);
		p += n;
	}
	tp_text_add(t, "\"");
}

int tp_text_take(struct tp_text *t, char **out, size_t *len)
{
	int rc = t->err;

	if (rc == 0 && !t->s && grow(t, 0) == 0)
		t->s[0] = '\0';
	rc = t->err;
	if (rc < 0) {
		tp_text_wipe(t);
		return rc;
	}
	*out = t->s;
	if (len)
		*len = t->len;
	*t = (struct tp_text){ 0 };
	return 0;
}

void tp_text_wipe(struct tp_text *t)
{
	if (t->s) {
		OPENSSL_cleanse(t->s, t->cap);
		free(t->s);
	}
	*t = (struct tp_text){ 0 };
}
