// SPDX-License-Identifier: MIT
#include "progress.h"
#include "common/cancel.h"
#include "common/image.h"
#include "common/json.h"

#include <string.h>
#include <sys/ioctl.h>
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

void tp_progress_ui_init(struct tp_progress_ui *u, enum tp_progress_mode mode)
{
	struct winsize ws;

	memset(u, 0, sizeof(*u));
	u->mode = mode;
	u->f = mode == TP_PROGRESS_JSON ? stdout : stderr;
	if (mode == TP_PROGRESS_BAR && !isatty(STDERR_FILENO))
		u->mode = TP_PROGRESS_NONE;
	u->width = 80;
	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
		u->width = ws.ws_col;
}

static void draw_line(struct tp_progress_ui *u, const struct tp_progress *p)
{
	char done[32], total[32], rate[32], eta[32] = "", bar[128];
	int barw = u->width - 70, fill = 0;

	if (barw > 60)
		barw = 60;
	tp_fmt_bytes(p->done, done, sizeof(done));
	tp_fmt_bytes(p->rate, rate, sizeof(rate));
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
	fprintf(u->f, "\r\033[K%-8s [%s] %9s / %-9s %5.1f%% %9s/s%s%s",
		tp_phase_name(p->phase), bar, done, total,
		p->total ? 100.0 * (double)p->done / (double)p->total : 0.0, rate,
		eta[0] ? "  ETA " : "", eta);
}

void tp_progress_ui_cb(void *cookie, const struct tp_progress *p)
{
	struct tp_progress_ui *u = cookie;
	struct tp_json j;
	int n = 0;

	if ((unsigned)p->phase > TP_PHASE_VERIFY)
		return;
	if (u->mode == TP_PROGRESS_JSON) {
		/* A reader that went away cancels the job, once. */
		if (!tp_cancel_out_ok(u->f))
			return;
		tp_json_init(&j, u->f);
		tp_json_obj_begin(&j, NULL);
		tp_json_str(&j, "event", "progress");
		tp_json_str(&j, "phase", tp_phase_name(p->phase));
		tp_json_int(&j, "done", (int64_t)p->done);
		tp_json_int(&j, "total", (int64_t)p->total);
		tp_json_int(&j, "rate", (int64_t)p->rate);
		tp_json_obj_end(&j);
		fflush(u->f);
		tp_cancel_out_ok(u->f);
		return;
	}
	if (u->mode != TP_PROGRESS_BAR)
		return;
	u->seen[p->phase] = true;
	u->last[p->phase] = *p;
	/* One line per phase seen (download and write run at the same time),
	 * redrawn in place: back to the first line, rewrite them all. */
	if (u->lines > 1)
		fprintf(u->f, "\033[%dA", u->lines - 1);
	for (int ph = 0; ph < 3; ph++) {
		if (!u->seen[ph])
			continue;
		if (n++)
			fputc('\n', u->f);
		draw_line(u, &u->last[ph]);
	}
	u->lines = n;
	fflush(u->f);
}

void tp_progress_ui_end(struct tp_progress_ui *u)
{
	if (u->mode == TP_PROGRESS_BAR && u->lines) {
		fputc('\n', u->f);
		fflush(u->f);
		u->lines = 0;
		memset(u->seen, 0, sizeof(u->seen));
	}
}
