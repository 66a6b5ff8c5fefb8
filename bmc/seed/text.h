/* SPDX-License-Identifier: MIT */
/*
 * A growing text buffer for the files seeding renders (cloud-init YAML,
 * node.conf, units): append formatted text, and quote a value for YAML.
 * An allocation failure sticks (t->err), so renderers append freely and
 * check once at the end.
 */
#ifndef TP_SEED_TEXT_H
#define TP_SEED_TEXT_H

#include <stddef.h>

struct tp_text {
	char *s;     /* NUL-terminated, malloc'ed; NULL until the first append */
	size_t len, cap;
	int err;     /* 0, or the first -errno met */
};

void tp_text_add(struct tp_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Append s as a YAML double-quoted scalar (docs/seeding.md §5): '"' and '\'
 * escaped, control characters, C1 controls, the Unicode line and paragraph
 * separators (which YAML would fold) and the BOM as escapes, other valid
 * UTF-8 kept as is. Bytes that are not UTF-8 set t->err to -EILSEQ.
 */
void tp_text_yaml(struct tp_text *t, const char *s);

/* Take the text (the caller frees it): 0 and *out, or t->err. t is reset. */
int tp_text_take(struct tp_text *t, char **out, size_t *len);

/* Drop the text, wiping it first (it may hold a secret). */
void tp_text_wipe(struct tp_text *t);

#endif
