/* SPDX-License-Identifier: MIT */
/*
 * A small streaming JSON writer for --json output: objects and arrays are
 * opened and closed in order, commas are placed for the caller, strings are
 * escaped (and made valid UTF-8). Output is one line per top-level value,
 * so scripts can read events line by line; docs/json.md is the schema every
 * line follows.
 */
#ifndef TP_JSON_H
#define TP_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define TP_JSON_DEPTH 16

/* The "schema" every event line carries (docs/json.md): raised when a field
 * changes meaning or goes away, not when one is added. */
#define TP_JSON_SCHEMA 1

struct tp_json {
	FILE *f;    /* where the line is built: a memory stream, or out */
	FILE *out;  /* where finished lines go */
	char *buf;
	size_t len;
	int depth;
	bool need_comma[TP_JSON_DEPTH];
	/* Not one of tpkit's event lines (an HTTP body of tpkit serve): never
	 * appended to TPKIT_JSON_COPY, whose lines docs/json.md describes. */
	bool not_event;
};

/* A line is built in memory and written to f whole when its top-level
 * value ends, so a line is never left half-written by an error path or
 * mixed with another thread's output. */
void tp_json_init(struct tp_json *j, FILE *f);
/* tp_json_init, then {"schema":1,"event":"<event>" — every line of --json
 * output starts so. Close it with tp_json_obj_end(). */
void tp_json_event(struct tp_json *j, FILE *f, const char *event);
/* Drop a line left unfinished (an error part way): nothing of it is
 * written. A finished line needs no call. */
void tp_json_abandon(struct tp_json *j);
void tp_json_obj_begin(struct tp_json *j, const char *key);
void tp_json_obj_end(struct tp_json *j);
void tp_json_arr_begin(struct tp_json *j, const char *key);
void tp_json_arr_end(struct tp_json *j);
/* key is NULL inside arrays. A NULL val is written as null. */
void tp_json_str(struct tp_json *j, const char *key, const char *val);
void tp_json_int(struct tp_json *j, const char *key, int64_t val);
void tp_json_uint(struct tp_json *j, const char *key, uint64_t val);
/* A number that may be unknown (a size, a time): null when !known. */
void tp_json_uint_opt(struct tp_json *j, const char *key, uint64_t val, bool known);
void tp_json_bool(struct tp_json *j, const char *key, bool val);
void tp_json_null(struct tp_json *j, const char *key);

#endif
