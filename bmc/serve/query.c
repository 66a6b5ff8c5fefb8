// SPDX-License-Identifier: MIT
/*
 * Query parameters of bmcd's API (serve.md §4.1). CivetWeb
 * splits and decodes; this file only looks names up and reads the one
 * parameter whose rules are bmcd's own, `node`.
 */
#include "serve.h"
#include "common/err.h"

#include <civetweb.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int tp_query_parse(struct tp_query *q, const char *query)
{
	struct mg_header h[TP_QUERY_MAX + 1];
	size_t len = query ? strlen(query) : 0;
	int n;

	q->n = 0;
	if (len >= sizeof(q->buf))
		return tp_err_set(-E2BIG, "the query is %zu bytes; at most %zu are read", len,
				  sizeof(q->buf) - 1);
	memcpy(q->buf, query ? query : "", len + 1);
	/* One slot more than kept, to tell "exactly full" from "too many". */
	n = mg_split_form_urlencoded(q->buf, h, TP_QUERY_MAX + 1);
	if (n < 0)
		return tp_err_set(-EINVAL, "the query cannot be read");
	if (n > TP_QUERY_MAX)
		return tp_err_set(-E2BIG, "the query has more than %d parameters", TP_QUERY_MAX);
	for (int i = 0; i < n; i++) {
		q->f[i].name = h[i].name;
		q->f[i].value = h[i].value;
	}
	q->n = (unsigned)n;
	return 0;
}

const char *tp_query_get(const struct tp_query *q, const char *name)
{
	/* The first of repeated keys, as actix's query extractor takes it. */
	for (unsigned i = 0; i < q->n; i++)
		if (!strcmp(q->f[i].name, name))
			return q->f[i].value ? q->f[i].value : "";
	return NULL;
}

int tp_query_node(const struct tp_query *q, unsigned *slot)
{
	const char *v = tp_query_get(q, "node");
	char *end;
	long n;

	if (!v)
		return tp_err_set(-EINVAL, "Missing `node` parameter");
	errno = 0;
	n = strtol(v, &end, 10);
	if (!*v || *end || errno || n < INT32_MIN || n > INT32_MAX)
		return tp_err_set(-EINVAL, "Parameter `node` is not a number");
	/* bmcd truncates the i32 to 8 bits before its range check, so that
	 * node=256 means node 0 (serve.md §4.1). tpkit checks the number as
	 * given: a client that sends 256 has a bug worth hearing about. */
	if (n < 0 || n >= TP_BOARD_SLOTS)
		return tp_err_set(-EINVAL, "Parameter `node` is out of range 0..%d of node IDs",
				  TP_BOARD_SLOTS - 1);
	*slot = (unsigned)n + 1;
	return 0;
}
