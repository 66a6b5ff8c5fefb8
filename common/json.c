// SPDX-License-Identifier: MIT
#include "json.h"

#include <inttypes.h>

void tp_json_init(struct tp_json *j, FILE *f)
{
	j->f = f;
	j->depth = 0;
	j->need_comma[0] = false;
}

static void put_escaped(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void put_key(struct tp_json *j, const char *key)
{
	if (j->need_comma[j->depth])
		fputc(',', j->f);
	j->need_comma[j->depth] = true;
	if (key) {
		put_escaped(j->f, key);
		fputc(':', j->f);
	}
}

static void open_level(struct tp_json *j, const char *key, char c)
{
	put_key(j, key);
	fputc(c, j->f);
	if (j->depth < TP_JSON_DEPTH - 1)
		j->depth++;
	j->need_comma[j->depth] = false;
}

static void close_level(struct tp_json *j, char c)
{
	fputc(c, j->f);
	if (j->depth > 0)
		j->depth--;
	if (j->depth == 0) {
		/* A finished top-level value ends its line. */
		fputc('\n', j->f);
		j->need_comma[0] = false;
	}
}

void tp_json_obj_begin(struct tp_json *j, const char *key)
{
	open_level(j, key, '{');
}

void tp_json_obj_end(struct tp_json *j)
{
	close_level(j, '}');
}

void tp_json_arr_begin(struct tp_json *j, const char *key)
{
	open_level(j, key, '[');
}

void tp_json_arr_end(struct tp_json *j)
{
	close_level(j, ']');
}

void tp_json_str(struct tp_json *j, const char *key, const char *val)
{
	put_key(j, key);
	if (val)
		put_escaped(j->f, val);
	else
		fputs("null", j->f);
}

void tp_json_int(struct tp_json *j, const char *key, int64_t val)
{
	put_key(j, key);
	fprintf(j->f, "%" PRId64, val);
}

void tp_json_bool(struct tp_json *j, const char *key, bool val)
{
	put_key(j, key);
	fputs(val ? "true" : "false", j->f);
}

void tp_json_null(struct tp_json *j, const char *key)
{
	put_key(j, key);
	fputs("null", j->f);
}
