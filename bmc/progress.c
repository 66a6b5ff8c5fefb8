// SPDX-License-Identifier: MIT
#include "progress.h"
#include "cli.h"
#include "common/cancel.h"
#include "common/image.h"
#include "common/json.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

const char *tp_fmt_bytes(uint64_t v, char *buf, size_t size)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double d = (double)v;
	unsigned u = 0;

	while (d >= 1024 && u < 4) {
		d /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, size, "%llu B", (unsigned long long)v);
	else
		snprintf(buf, size, d < 10 ? "%.2f %s" : d < 100 ? "%.1f %s" : "%.0f %s", d, unit[u]);
	return buf;
}

const char *tp_fmt_duration(uint64_t s, char *buf, size_t size)
{
	if (s >= 3600)
		snprintf(buf, size, "%llu:%02llu:%02llu", (unsigned long long)(s / 3600),
			 (unsigned long long)(s / 60 % 60), (unsigned long long)(s % 60));
	else
		snprintf(buf, size, "%llu:%02llu", (unsigned long long)(s / 60),
			 (unsigned long long)(s % 60));
	return buf;
}

/* Seconds between progress lines when stderr is not a terminal. */
#define EVERY_DEFAULT_S 5
#define EVERY_MAX_S 3600

void tp_progress_ui_init(struct tp_progress_ui *u, enum tp_progress_mode mode)
{
	struct winsize ws;
	const char *every = getenv("TPKIT_PROGRESS_EVERY");
	unsigned long v;

	memset(u, 0, sizeof(*u));
	u->mode = mode;
	u->f = mode == TP_PROGRESS_JSON ? stdout : stderr;
	/* ssh without -t, a log: a line now and then instead of silence */
	if (mode == TP_PROGRESS_BAR && !isatty(STDERR_FILENO))
		u->mode = TP_PROGRESS_LINES;
	u->every_ns = EVERY_DEFAULT_S * 1000000000ull;
	if (every && tp_cli_uint(every, 0, EVERY_MAX_S, &v))
		u->every_ns = v * 1000000000ull;
	u->width = 80;
	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
		u->width = ws.ws_col;
}

/* "slot 2 write" or "write": what a row is about. */
static const char *label(const struct tp_progress *p, char *buf, size_t size)
{
	if (p->target)
		snprintf(buf, size, "slot %u %s", p->target, tp_phase_name(p->phase));
	else
		snprintf(buf, size, "%s", tp_phase_name(p->phase));
	return buf;
}

/* Decimal megabytes per second, as the summary and every peer print. */
static const char *fmt_rate(uint64_t rate, char *buf, size_t size)
{
	snprintf(buf, size, "%.1f MB/s", (double)rate / 1e6);
	return buf;
}

static void draw_line(struct tp_progress_ui *u, const struct tp_progress *p)
{
	char done[32], total[32], rate[32], eta[32] = "", bar[128], what[32];
	int barw = u->width - 78, fill = 0;

	if (barw > 60)
		barw = 60;
	tp_fmt_bytes(p->done, done, sizeof(done));
	fmt_rate(p->rate, rate, sizeof(rate));
	if (p->total && p->done < p->total && p->rate)
		tp_fmt_duration((p->total - p->done) / p->rate, eta, sizeof(eta));
	if (p->total) {
		tp_fmt_bytes(p->total, total, sizeof(total));
		fill = (int)((double)p->done / (double)p->total * barw);
	} else {
		snprintf(total, sizeof(total), "?");
	}
	if (barw < 5)
		barw = 0;
	if (fill > barw)
		fill = barw;
	memset(bar, '#', (size_t)fill);
	memset(bar + fill, p->total ? '.' : ' ', (size_t)(barw - fill));
	bar[barw] = '\0';
	fprintf(u->f, "\r\033[K%-14s [%s] %9s / %-9s %5.1f%% %10s%s%s",
		label(p, what, sizeof(what)), bar, done, total,
		p->total ? 100.0 * (double)p->done / (double)p->total : 0.0, rate,
		eta[0] ? "  ETA " : "", eta);
}

/* Not a terminal: one line for a row when its last is every_ns old (and
 * the phase's first), nothing redrawn. */
static void put_line(struct tp_progress_ui *u, struct tp_progress_row *r,
		     const struct tp_progress *p)
{
	char done[32], total[32] = "", rate[32], eta[32] = "", what[32], pct[16] = "";
	struct timespec ts;
	uint64_t now;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;

	if (r->printed && now - r->printed < u->every_ns)
		return;
	r->printed = now ? now : 1;
	tp_fmt_bytes(p->done, done, sizeof(done));
	if (p->total) {
		snprintf(total, sizeof(total), " of ");
		tp_fmt_bytes(p->total, total + 4, sizeof(total) - 4);
		snprintf(pct, sizeof(pct), " (%.0f%%)", 100.0 * (double)p->done / (double)p->total);
	}
	if (p->total && p->done < p->total && p->rate) {
		snprintf(eta, sizeof(eta), ", ETA ");
		tp_fmt_duration((p->total - p->done) / p->rate, eta + 6, sizeof(eta) - 6);
	}
	fprintf(u->f, "%s: %s%s%s, %s%s\n", label(p, what, sizeof(what)), done, total, pct,
		fmt_rate(p->rate, rate, sizeof(rate)), eta);
	fflush(u->f);
}

static void put_json(struct tp_progress_ui *u, const struct tp_progress *p)
{
	struct tp_json j;

	/* A reader that went away cancels the job, once. */
	if (!tp_cancel_out_ok(u->f))
		return;
	tp_json_event(&j, u->f, "progress");
	if (p->target)
		tp_json_int(&j, "slot", p->target);
	tp_json_str(&j, "phase", tp_phase_name(p->phase));
	tp_json_uint(&j, "done", p->done);
	tp_json_uint_opt(&j, "total", p->total, p->total != 0);
	tp_json_uint(&j, "rate", p->rate);
	tp_json_obj_end(&j);
	fflush(u->f);
	tp_cancel_out_ok(u->f);
}

/* Redraw every row seen, in place: back to the first line, rewrite them
 * all. The image's rows (download and write run at once) one per phase;
 * a slot's one row, in its latest phase. */
static void draw_all(struct tp_progress_ui *u)
{
	int n = 0;

	if (u->lines > 1)
		fprintf(u->f, "\033[%dA", u->lines - 1);
	for (unsigned t = 0; t < TP_PROGRESS_TARGETS; t++)
		for (int ph = 0; ph < 3; ph++) {
			const struct tp_progress_row *r = &u->row[t][ph];

			if (!r->seen || (t && ph != u->cur[t]))
				continue;
			if (n++)
				fputc('\n', u->f);
			draw_line(u, &r->last);
		}
	u->lines = n;
	fflush(u->f);
}

void tp_progress_ui_cb(void *cookie, const struct tp_progress *p)
{
	struct tp_progress_ui *u = cookie;
	struct tp_progress_row *r;

	if ((unsigned)p->phase > TP_PHASE_VERIFY || p->target >= TP_PROGRESS_TARGETS)
		return;
	r = &u->row[p->target][p->phase];
	switch (u->mode) {
	case TP_PROGRESS_JSON:
		put_json(u, p);
		break;
	case TP_PROGRESS_LINES:
		put_line(u, r, p);
		break;
	case TP_PROGRESS_BAR:
		r->seen = true;
		r->last = *p;
		u->cur[p->target] = p->phase;
		draw_all(u);
		break;
	case TP_PROGRESS_NONE:
		break;
	}
}

void tp_progress_ui_break(struct tp_progress_ui *u)
{
	if (u->mode == TP_PROGRESS_BAR && u->lines) {
		fputc('\n', u->f);
		fflush(u->f);
		u->lines = 0;
	}
}

void tp_progress_ui_end(struct tp_progress_ui *u)
{
	tp_progress_ui_break(u);
	memset(u->row, 0, sizeof(u->row));
}
