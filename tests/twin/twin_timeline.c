// SPDX-License-Identifier: MIT
/*
 * The timeline: every change the twin sees, stamped with the virtual clock.
 *
 * Events are formatted when they happen (the clock moves on afterwards) and
 * kept as text; they are printed once, when the command has exited, so that
 * they do not interleave with the command's own output.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "twin.h"

/* Milliseconds with three decimals, from integer nanoseconds: no rounding
 * surprises from floating point, and the same text on every machine. */
static void twin_timeline_format_time(uint64_t ns, char *buf, size_t len)
{
	snprintf(buf, len, "%" PRIu64 ".%03u", ns / TWIN_NS_PER_MS,
		 (unsigned)(ns % TWIN_NS_PER_MS / 1000));
}

void twin_timeline_add(struct twin *t, const char *kind, const char *subject,
		       const char *from, const char *to, const char *note)
{
	char ms[32];
	GString *s = g_string_new(NULL);

	twin_timeline_format_time(t->board.now_ns, ms, sizeof(ms));
	/* Column widths follow the example in docs/twin.md; longer fields
	 * just push the line right, readers split on runs of spaces. */
	g_string_append_printf(s, "%9s  %-4s  %-11s  %s -> %s", ms, kind,
			       subject, from, to);
	if (note)
		g_string_append_printf(s, "  (%s)", note);
	g_ptr_array_add(t->timeline, s->str);
	twin_signal_event(t, g_string_free(s, FALSE));
}

void twin_timeline_violation(struct twin *t, const char *what,
			     const char *fmt, ...)
{
	char ms[32];
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);

	t->violations++;
	/* Printed at once as well: the timeline only comes out at the end,
	 * and a hung command should not hide why the run is failing. */
	fprintf(stderr, "tp-twin: VIOLATION: %s: %s\n", what, msg);
	fflush(stderr);

	twin_timeline_format_time(t->board.now_ns, ms, sizeof(ms));
	g_ptr_array_add(t->timeline, g_strdup_printf("%9s  %-4s  %-11s  %s",
						     ms, "error", what, msg));
	g_free(msg);
}

int twin_timeline_write(struct twin *t, const char *path)
{
	GString *all = g_string_new(NULL);
	GError *err = NULL;
	int rc = 0;

	for (guint i = 0; i < t->timeline->len; i++) {
		g_string_append(all, g_ptr_array_index(t->timeline, i));
		g_string_append_c(all, '\n');
	}

	if (!path) {
		fputs(all->str, stderr);
		fflush(stderr);
	} else if (!g_file_set_contents(path, all->str, (gssize)all->len, &err)) {
		fprintf(stderr, "tp-twin: cannot write timeline: %s\n",
			err->message);
		g_error_free(err);
		rc = -EIO;
	}
	g_string_free(all, TRUE);
	return rc;
}
