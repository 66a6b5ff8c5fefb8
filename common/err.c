// SPDX-License-Identifier: MIT
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char err_buf[TP_ERR_MAX];

int tp_err_set(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err_buf, sizeof(err_buf), fmt, ap);
	va_end(ap);
	return err;
}

int tp_err_prefix(int err, const char *fmt, ...)
{
	char prefix[256], old[TP_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err_buf, sizeof(old));
	snprintf(err_buf, sizeof(err_buf), "%s%s", prefix, old);
	return err;
}

const char *tp_err_msg(void)
{
	return err_buf;
}

void tp_err_clear(void)
{
	err_buf[0] = '\0';
}

int tp_err_save(struct tp_err_ctx *e, int rc)
{
	e->rc = rc;
	snprintf(e->msg, sizeof(e->msg), "%s", err_buf);
	return rc;
}

int tp_err_save_first(struct tp_err_ctx *e, int rc)
{
	return rc < 0 && !e->rc ? tp_err_save(e, rc) : rc;
}

int tp_err_restore(const struct tp_err_ctx *e)
{
	snprintf(err_buf, sizeof(err_buf), "%s", e->msg);
	return e->rc;
}
