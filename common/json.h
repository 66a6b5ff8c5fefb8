/* SPDX-License-Identifier: MIT */
/*
 * A small streaming JSON writer for --json output: objects and arrays are
 * opened and closed in order, commas are placed for the caller, strings are
 * escaped. Output is one line per top-level value, so scripts can read
 * events line by line.
 */
#ifndef TP_JSON_H
#define TP_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define TP_JSON_DEPTH 16

struct tp_json {
	FILE *f;
	int depth;
	bool need_comma[TP_JSON_DEPTH];
};

void tp_json_init(struct tp_json *j, FILE *f);
void tp_json_obj_begin(struct tp_json *j, const char *key);
void tp_json_obj_end(struct tp_json *j);
void tp_json_arr_begin(struct tp_json *j, const char *key);
void tp_json_arr_end(struct tp_json *j);
/* key is NULL inside arrays. */
void tp_json_str(struct tp_json *j, const char *key, const char *val);
void tp_json_int(struct tp_json *j, const char *key, int64_t val);
void tp_json_bool(struct tp_json *j, const char *key, bool val);
void tp_json_null(struct tp_json *j, const char *key);

#endif
