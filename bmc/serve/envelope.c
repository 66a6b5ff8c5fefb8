// SPDX-License-Identifier: MIT
/*
 * bmcd's response envelope (serve.md §4.2), in one place:
 * {"response":[{"result":"ok"}]}, {"response":[{"result":<value>}]}, and
 * errors as {"response":[{"result":"<message>"}]} with their status. The
 * JSON is common/json.c's writer, into a memory stream.
 */
#include "serve.h"
#include "common/err.h"
#include "common/json.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

int tp_env_begin(struct tp_env *e)
{
	FILE *f;

	e->buf = NULL;
	e->len = 0;
	e->json = malloc(sizeof(*e->json));
	f = e->json ? open_memstream(&e->buf, &e->len) : NULL;
	if (!f) {
		free(e->json);
		free(e->buf);
		return -ENOMEM;
	}
	e->f = f;
	tp_json_init(e->json, f);
	e->json->not_event = true;
	tp_json_obj_begin(e->json, NULL);
	tp_json_arr_begin(e->json, "response");
	tp_json_obj_begin(e->json, NULL);
	return 0;
}

int tp_env_send(struct tp_req *r, struct tp_env *e, int status)
{
	tp_json_obj_end(e->json);
	tp_json_arr_end(e->json);
	tp_json_obj_end(e->json);
	fclose(e->f);
	tp_http_send(r, status, "application/json", e->buf, e->len, NULL);
	free(e->buf);
	free(e->json);
	return status;
}

/* The envelope with one string result, for "ok" and every error. */
static int send_result(struct tp_req *r, int status, const char *text)
{
	struct tp_env e;

	if (tp_env_begin(&e) < 0)
		return tp_http_send(r, 500, "text/plain", "out of memory\n", 14, NULL);
	tp_json_str(e.json, "result", text);
	return tp_env_send(r, &e, status);
}

int tp_env_ok(struct tp_req *r)
{
	return send_result(r, 200, "ok");
}

int tp_env_error(struct tp_req *r, int status, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return send_result(r, status, msg);
}

int tp_env_fail(struct tp_req *r, const char *what, int rc)
{
	/* The request's own fault (a mode the board cannot do, a bad value)
	 * is a 400, as bmcd's parameter errors are; the rest, what the board
	 * cannot do included (serve.md §5's host mode on v2.5), is a 500 in
	 * bmcd's "Failed to <what>: <cause>" words; a line another process
	 * holds is a 503. */
	int status = rc == -EINVAL || rc == -ERANGE ? 400 : 500;

	if (rc == -EBUSY)
		status = 503;
	return tp_env_error(r, status, "Failed to %s: %s", what, tp_err_msg());
}
