// SPDX-License-Identifier: MIT
#define _XOPEN_SOURCE 700 /* nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

static char dir[64];

const char *tu_tmpdir(const char *name)
{
	snprintf(dir, sizeof(dir), "/tmp/tp-%s-XXXXXX", name);
	if (!mkdtemp(dir)) {
		dir[0] = '\0';
		return NULL;
	}
	return dir;
}

const char *tu_dir(void)
{
	return dir;
}

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

int tu_tmpdir_remove(void)
{
	int rc = 0;

	/* Depth first (FTW_DEPTH), not following links (FTW_PHYS): what a
	 * test left there goes, and nothing outside it. */
	if (dir[0] && nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
		rc = -1;
	dir[0] = '\0';
	return rc;
}

int tu_state_setup(void **state)
{
	(void)state;
	if (!tu_tmpdir("state"))
		return -1;
	return setenv("TPKIT_STATE_DIR", dir, 1);
}

int tu_state_teardown(void **state)
{
	(void)state;
	return tu_tmpdir_remove();
}

struct tp_report tu_report(unsigned slot, const char *step, const char *event, const char *text)
{
	struct tp_report r;

	memset(&r, 0, sizeof(r));
	r.slot = slot;
	snprintf(r.step, sizeof(r.step), "%s", step);
	snprintf(r.event, sizeof(r.event), "%s", event);
	tp_report_set_text(&r, text);
	return r;
}

size_t tu_report_line(char *buf, size_t size, const struct tp_report_key *key,
		      const struct tp_report *r)
{
	int n = tp_report_format(buf, size - 2, key, r);

	assert_true(n > 0);
	memcpy(buf + n, "\r\n", 2);
	return (size_t)n + 2;
}
