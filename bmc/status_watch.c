// SPDX-License-Identifier: MIT
/*
 * The live table (docs/commission.md §12). A terminal gets the table
 * redrawn in place: the cursor goes up over the lines drawn last time and
 * each line is rewritten and cleared to its end, plain ANSI that every
 * terminal the BMC's users have knows, so no curses library is needed.
 * Anything else (a file, a pipe, a log) gets a line only when a slot's
 * line changes, so it reads as a history.
 */
#include "status_watch.h"
#include "commission/live.h"
#include "common/json.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

void tp_watch_age(uint64_t t, char *buf, size_t size)
{
	uint64_t now = (uint64_t)time(NULL), d = now > t ? now - t : 0;

	if (!t)
		snprintf(buf, size, "-");
	else if (d < 120)
		snprintf(buf, size, "%" PRIu64 "s", d);
	else if (d < 7200)
		snprintf(buf, size, "%" PRIu64 "m", d / 60);
	else if (d < 172800)
		snprintf(buf, size, "%" PRIu64 "h", d / 3600);
	else
		snprintf(buf, size, "%" PRIu64 "d", d / 86400);
}

static unsigned width(FILE *f)
{
	struct winsize ws;

	if (ioctl(fileno(f), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20)
		return ws.ws_col - 1u;
	return 79;
}

void tp_watch_init(struct tp_watch *w, FILE *f, unsigned mask, bool tty, bool json)
{
	memset(w, 0, sizeof(*w));
	w->f = f;
	w->mask = mask;
	w->tty = tty && !json;
	w->json = json;
}

void tp_watch_erase(struct tp_watch *w)
{
	if (!w->tty || !w->drawn)
		return;
	fprintf(w->f, "\033[%uA\r\033[J", w->drawn);
	w->drawn = 0;
	fflush(w->f);
}

static void show_json(struct tp_watch *w, const struct tp_clive_row *r)
{
	struct tp_json j;

	tp_json_event(&j, w->f, "slot");
	tp_json_int(&j, "slot", r->slot);
	tp_json_str(&j, "module", r->rec.module);
	tp_json_str(&j, "state", r->state);
	tp_json_str(&j, "phase", r->phase);
	tp_json_uint_opt(&j, "since", (uint64_t)r->rec.since, r->rec.since > 0);
	tp_json_uint_opt(&j, "changed", (uint64_t)r->changed, r->changed > 0);
	tp_json_obj_end(&j);
}

int tp_watch_update(struct tp_watch *w, bool *ended)
{
	struct tp_clive_row rows[TP_SLOTS_MAX];
	unsigned n = 0, records = 0, open = 0;
	int rc;

	for (unsigned slot = 1; slot <= TP_SLOTS_MAX; slot++) {
		struct tp_clive_row *r = &rows[n];

		if (!(w->mask & TP_SLOT_BIT(slot)))
			continue;
		if ((rc = tp_clive_row(slot, r)) < 0)
			return rc;
		n++;
		if (r->rc == -ENOENT)
			continue;
		records++;
		open += !r->end;
	}
	*ended = records && !open;
	if (w->tty) {
		tp_watch_erase(w);
		fprintf(w->f, "SLOT MODULE STATE      AGE    PHASE\n");
		w->drawn = 1;
	}
	for (unsigned i = 0; i < n; i++) {
		const struct tp_clive_row *r = &rows[i];
		char line[sizeof(w->last[0])], a[16];

		/* The same columns as tpkit status; the phase cut to a line. */
		snprintf(line, sizeof(line), "%-4u %-6s %-10s", r->slot,
			 r->rec.module[0] ? r->rec.module : "-", r->state);
		if (w->tty) {
			char full[sizeof(line) + 32];

			/* A line that wrapped would throw the cursor-up count out. */
			tp_watch_age(r->changed, a, sizeof(a));
			snprintf(full, sizeof(full), "%s %-6s %s", line, a, r->phase);
			fprintf(w->f, "%.*s\n", (int)width(w->f), full);
			w->drawn++;
			continue;
		}
		snprintf(line + strlen(line), sizeof(line) - strlen(line), " %.400s", r->phase);
		if (!strcmp(line, w->last[r->slot]))
			continue;
		snprintf(w->last[r->slot], sizeof(w->last[0]), "%s", line);
		if (w->json)
			show_json(w, r);
		else
			fprintf(w->f, "%s\n", line);
	}
	fflush(w->f);
	return 0;
}
