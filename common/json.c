// SPDX-License-Identifier: MIT
#include "json.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <unistd.h>

void tp_json_init(struct tp_json *j, FILE *f)
{
	j->out = f;
	j->f = NULL;
	j->buf = NULL;
	j->len = 0;
	j->depth = 0;
	j->need_comma[0] = false;
	j->not_event = false;
}

/* The stream the current line is built in, opened at its first byte.
 * Without memory for it the line goes out piece by piece as it is
 * written: still whole, only not in one write. */
static FILE *line(struct tp_json *j)
{
	if (!j->f) {
		j->f = open_memstream(&j->buf, &j->len);
		if (!j->f)
			j->f = j->out;
	}
	return j->f;
}

/* The length of the valid UTF-8 sequence at s, or 0 when its first byte
 * does not start one (RFC 3629, section 4: no overlong forms, no surrogates,
 * nothing past U+10FFFF). */
static size_t utf8_len(const unsigned char *s)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t n;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

/* JSON text is UTF-8 (RFC 8259, section 8.1), but a file name or a node's console
 * can hold any bytes: each byte that is not part of valid UTF-8 becomes
 * U+FFFD, so every line parses (docs/json.md, "Strings"). */
static void put_escaped(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	fputc('"', f);
	while (*s) {
		size_t n = utf8_len(s);

		if (n == 0) {
			fputs("\\ufffd", f);
			s++;
			continue;
		}
		if (n > 1) {
			fwrite(s, 1, n, f);
			s += n;
			continue;
		}
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else if (*s == '\t')
			fputs("\\t", f);
		else if (*s < 0x20 || *s == 0x7f)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
		s++;
	}
	fputc('"', f);
}

/* TPKIT_JSON_COPY=FILE: every line is also appended to FILE (one write,
 * O_APPEND, so lines from several tpkit at once stay whole). The test
 * suite checks what it collects against docs/json.schema.json; an operator
 * can keep the events of runs whose stdout went elsewhere. */
static void copy_line(const char *buf, size_t len)
{
	const char *path = getenv("TPKIT_JSON_COPY");
	int fd;

	if (!path || !*path)
		return;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	if (write(fd, buf, len) < 0) {
		/* Best effort: a copy must not fail the command. */
	}
	close(fd);
}

static void line_end(struct tp_json *j)
{
	if (j->f == j->out) {
		j->f = NULL;
		return;
	}
	if (fclose(j->f) == 0 && j->buf) {
		fwrite(j->buf, 1, j->len, j->out);
		if (!j->not_event)
			copy_line(j->buf, j->len);
	}
	free(j->buf);
	j->buf = NULL;
	j->len = 0;
	j->f = NULL; /* a next line with the same writer starts afresh */
}

static void put_key(struct tp_json *j, const char *key)
{
	if (j->need_comma[j->depth])
		fputc(',', line(j));
	j->need_comma[j->depth] = true;
	if (key) {
		put_escaped(line(j), key);
		fputc(':', line(j));
	}
}

static void open_level(struct tp_json *j, const char *key, char c)
{
	put_key(j, key);
	fputc(c, line(j));
	if (j->depth < TP_JSON_DEPTH - 1)
		j->depth++;
	j->need_comma[j->depth] = false;
}

static void close_level(struct tp_json *j, char c)
{
	fputc(c, line(j));
	if (j->depth > 0)
		j->depth--;
	if (j->depth == 0) {
		/* A finished top-level value ends its line. */
		fputc('\n', line(j));
		j->need_comma[0] = false;
		line_end(j);
	}
}

void tp_json_abandon(struct tp_json *j)
{
	if (j->f && j->f != j->out)
		fclose(j->f);
	free(j->buf);
	j->buf = NULL;
	j->len = 0;
	j->f = NULL;
	j->depth = 0;
	j->need_comma[0] = false;
}

void tp_json_event(struct tp_json *j, FILE *f, const char *event)
{
	tp_json_init(j, f);
	tp_json_obj_begin(j, NULL);
	tp_json_int(j, "schema", TP_JSON_SCHEMA);
	tp_json_str(j, "event", event);
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
		put_escaped(line(j), val);
	else
		fputs("null", line(j));
}

void tp_json_int(struct tp_json *j, const char *key, int64_t val)
{
	put_key(j, key);
	fprintf(line(j), "%" PRId64, val);
}

void tp_json_uint(struct tp_json *j, const char *key, uint64_t val)
{
	put_key(j, key);
	fprintf(line(j), "%" PRIu64, val);
}

void tp_json_uint_opt(struct tp_json *j, const char *key, uint64_t val, bool known)
{
	if (known)
		tp_json_uint(j, key, val);
	else
		tp_json_null(j, key);
}

void tp_json_bool(struct tp_json *j, const char *key, bool val)
{
	put_key(j, key);
	fputs(val ? "true" : "false", line(j));
}

void tp_json_null(struct tp_json *j, const char *key)
{
	put_key(j, key);
	fputs("null", line(j));
}
