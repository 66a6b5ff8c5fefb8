// SPDX-License-Identifier: MIT
/*
 * One slot's console during commissioning (docs/commission.md §5). Only
 * a verified report (docs/report-protocol.md §7) moves the slot's state;
 * everything else on the console is kept for diagnosis, and the failure
 * signatures below name what a stuck node showed.
 */
#define _GNU_SOURCE /* memmem: console lines may hold NUL bytes */
#include "monitor.h"
#include "live.h"
#include "bmc/secrets.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/*
 * Console lines that tell a failure without a report (commission.md §5):
 * the kernel's own panic banner stops the node for good, and so does a
 * kernel that cannot mount its root: neither needs the timeout.
 */
static const struct {
	const char *text;    /* substring of a console line */
	const char *name;
	bool urgent;
} signatures[] = {
	{ "Kernel panic - not syncing", "kernel panic", true },
	{ "VFS: Unable to mount root fs", "the kernel found no root file system", true },
};

static void emit(struct tp_cmon *m, const char *kind, const char *text)
{
	struct tp_cevent e = { m->slot, kind, tp_cstate_name(m->rec->state), text };

	if (m->event)
		m->event(m->cookie, &e);
}

void tp_cmon_init(struct tp_cmon *m, unsigned slot, struct tp_cslot *rec, tp_cevent_fn fn,
		  void *cookie)
{
	m->slot = slot;
	m->rec = rec;
	m->open = false;
	m->deadline_ns = 0;
	m->bytes = 0;
	m->signature = NULL;
	m->urgent = false;
	m->dirty = false;
	m->event = fn;
	m->cookie = cookie;
}

int tp_cmon_open(struct tp_cmon *m)
{
	unsigned char raw[TP_SECRET_REPORT_KEY_BYTES];
	struct tp_report_key key;
	struct tp_secrets s;
	int rc = tp_secrets_init(&s, NULL);

	if (rc == 0)
		rc = tp_secrets_report_key(&s, m->slot, raw);
	tp_secrets_close(&s);
	if (rc < 0) {
		OPENSSL_cleanse(raw, sizeof(raw));
		return rc;
	}
	memcpy(key.b, raw, sizeof(key.b));
	OPENSSL_cleanse(raw, sizeof(raw));
	rc = tp_console_open(&m->con, m->slot, &key);
	tp_report_key_wipe(&key);
	if (rc == 0)
		m->open = true;
	return rc;
}

void tp_cmon_arm(struct tp_cmon *m)
{
	const struct tp_cstate_row *r = tp_cstate_row(m->rec->state);

	m->deadline_ns = r && r->timeout_s ?
				 tp_clock_now_ns() + (uint64_t)r->timeout_s * 1000000000u : 0;
	m->bytes = 0;
	m->signature = NULL;
	m->urgent = false;
}

static int on_line(void *cookie, const struct tp_console_line *l)
{
	struct tp_cmon *m = cookie;
	char text[TP_CONSOLE_LINE_MAX + 64], p[TP_CONSOLE_LINE_MAX];
	enum tp_cstate before = m->rec->state;

	switch (l->kind) {
	case TP_CONSOLE_REPORT:
		tp_cslot_report(m->rec, &l->report, (uint64_t)time(NULL));
		m->dirty = true;
		tp_console_printable(l->report.text, strlen(l->report.text), p, sizeof(p), false);
		snprintf(text, sizeof(text), "%s %s: %s", l->report.step, l->report.event, p);
		emit(m, "report", text);
		tp_clive_report(m->slot, &l->report);
		/* Progress: the state's full timeout again from here. */
		if (m->rec->state != before || m->rec->state == TP_CS_RUNNING)
			tp_cmon_arm(m);
		break;
	case TP_CONSOLE_LINE:
		for (size_t i = 0; i < sizeof(signatures) / sizeof(signatures[0]); i++)
			if (memmem(l->text, l->len, signatures[i].text, strlen(signatures[i].text))) {
				m->signature = signatures[i].name;
				m->urgent = m->urgent || signatures[i].urgent;
				emit(m, "signature", signatures[i].name);
			}
		break;
	default:
		/* Logged by console.c already (forged, replayed); never obeyed. */
		tp_console_printable(l->text, l->len, p, sizeof(p), false);
		snprintf(text, sizeof(text), "%s: %.600s", l->reason ? l->reason : "", p);
		emit(m, "rejected", text);
		break;
	}
	return 0;
}

int tp_cmon_read(struct tp_cmon *m)
{
	int rc;

	if (!m->open)
		return 0;
	rc = tp_console_read(&m->con, on_line, m);
	if (rc > 0)
		m->bytes += (uint64_t)rc;
	return rc;
}

void tp_cmon_use_key(struct tp_cmon *m, const struct tp_report_key *key)
{
	tp_console_init(&m->con, m->slot, key);
	m->open = true;
}

int tp_cmon_feed(struct tp_cmon *m, const char *buf, size_t len)
{
	m->bytes += len;
	return tp_console_feed(&m->con, buf, len, on_line, m);
}

bool tp_cmon_expired(const struct tp_cmon *m, uint64_t now_ns)
{
	return m->urgent || (m->deadline_ns && now_ns >= m->deadline_ns);
}

void tp_cmon_verdict(const struct tp_cmon *m, char *buf, size_t size)
{
	const struct tp_cstate_row *r = tp_cstate_row(m->rec->state);
	unsigned s = r ? r->timeout_s : 0;

	if (m->signature)
		snprintf(buf, size, "%s (state %s)", m->signature, tp_cstate_name(m->rec->state));
	else if (!m->bytes)
		snprintf(buf, size,
			 "no output at all on its console for %u s (state %s): no power, no "
			 "module, or a module stuck in maskrom, which prints nothing", s,
			 tp_cstate_name(m->rec->state));
	else {
		/* The last thing the node said is the best hint of where it stopped. */
		char lines[4 * TP_CONSOLE_LINE_MAX] = "", *last = lines, *p;
		size_t n = m->open ? tp_console_recent(&m->con, 4, lines, sizeof(lines)) : 0;

		/* The last line with something on it (a boot loader ends in blank ones). */
		while (n && (lines[n - 1] == '\n' || lines[n - 1] == ' '))
			lines[--n] = '\0';
		if ((p = strrchr(lines, '\n')))
			last = p + 1;
		snprintf(buf, size, "no verified report for %u s (state %s); its console's last line: %.120s",
			 s, tp_cstate_name(m->rec->state), last);
	}
}

size_t tp_cmon_recent(const struct tp_cmon *m, char *buf, size_t size)
{
	if (!m->open) {
		if (size)
			buf[0] = '\0';
		return 0;
	}
	return tp_console_recent(&m->con, 10, buf, size);
}

void tp_cmon_close(struct tp_cmon *m)
{
	if (m->open)
		tp_console_close(&m->con);
	m->open = false;
}
