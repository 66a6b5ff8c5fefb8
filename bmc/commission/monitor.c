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
#include <strings.h>
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
	m->fatal = false;
	m->wiping = false;
	m->old_boots = 0;
	m->fatal_why[0] = '\0';
	m->foreign_id[0] = '\0';
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
	if (rc == 0) {
		memcpy(key.b, raw, sizeof(key.b));
		rc = tp_console_open(&m->con, m->slot, &key);
		tp_report_key_wipe(&key);
	}
	OPENSSL_cleanse(raw, sizeof(raw));
	if (rc == 0)
		m->open = true;
	/* Kept for the verdict: a node is not silent when nobody could listen. */
	snprintf(m->unopened, sizeof(m->unopened), "%s", rc < 0 ? tp_err_msg() : "");
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
	/* The guard answered (or the node was cycled): a fatal verdict stays,
	 * the wait for the guard ends. */
	m->wiping = false;
}

int tp_cmon_root_foreign(const struct tp_cslot *rec, const char *cmdline, size_t len,
			 char *found, size_t size)
{
	char v[128];
	size_t i = 0, n;

	/* The kernel's own parameter: "root=" at the start or after a blank. */
	for (;; i++) {
		const char *p = i < len ? memmem(cmdline + i, len - i, "root=", 5) : NULL;

		if (!p)
			return 0;
		i = (size_t)(p - cmdline);
		if (i == 0 || cmdline[i - 1] == ' ')
			break;
	}
	i += 5;
	for (n = 0; i + n < len && n + 1 < sizeof(v) && cmdline[i + n] != ' ' &&
		    cmdline[i + n] != '\r' && cmdline[i + n] != '\n' && cmdline[i + n];
	     n++)
		v[n] = cmdline[i + n];
	v[n] = '\0';
	if (!rec->root_uuid[0])
		return 0; /* nothing seeded to compare with */
	if (!strncmp(v, "UUID=", 5)) {
		if (!strcasecmp(v + 5, rec->root_uuid) ||
		    (rec->nvme_root_uuid[0] && !strcasecmp(v + 5, rec->nvme_root_uuid)))
			return 0;
		snprintf(found, size, "root UUID %.40s, seeded %s", v + 5, rec->root_uuid);
		return 1;
	}
	/* A root named by its NVMe device before the helper moved one there. */
	if (!strncmp(v, "/dev/nvme", 9) && !rec->nvme_root_uuid[0]) {
		snprintf(found, size, "root %.40s, seeded UUID %s", v, rec->root_uuid);
		return 1;
	}
	return 0; /* PARTUUID=, LABEL=, another device: not judged (§11) */
}

/*
 * The old NVMe system showed (commission.md §11): without --wipe-nvme the
 * slot stops at once; with it, its guard is given the state's time to
 * wipe the NVMe and reboot, and a second old boot stops the slot. One
 * verdict per boot: the first evidence stands.
 */
static void old_system(struct tp_cmon *m, const char *seen)
{
	bool wipe = !strcmp(m->rec->wipe_nvme, "yes");

	if (m->fatal || m->wiping)
		return;
	m->old_boots++;
	m->signature = "the old NVMe system booted";
	if (wipe && m->old_boots == 1) {
		m->wiping = true;
		snprintf(m->fatal_why, sizeof(m->fatal_why),
			 TP_CSLOT_OLD_NVME " instead of the fresh eMMC (%s) and did not wipe "
			 "itself: it has no tpkit guard; log in and run wipefs -a /dev/nvme0n1, "
			 "then tpkit commission --slot %u (docs/runbooks/old-nvme-boots.md)",
			 seen, m->slot);
		emit(m, "signature", "the old NVMe system booted: waiting for its guard to wipe "
				     "the NVMe (--wipe-nvme)");
		return;
	}
	if (wipe)
		snprintf(m->fatal_why, sizeof(m->fatal_why),
			 TP_CSLOT_OLD_NVME " again after its guard wiped the NVMe (%s); log in "
			 "and run wipefs -a /dev/nvme0n1 (docs/runbooks/old-nvme-boots.md)", seen);
	else
		tp_cslot_old_nvme_reason(m->rec, seen, m->fatal_why, sizeof(m->fatal_why));
	m->fatal = true;
	emit(m, "signature", m->fatal_why);
}

/* "... instance ID" of a `helper start` report (node-helper.md §5): 1
 * with id set, 0 when the text names none. */
static int start_instance(const char *text, char *id, size_t size)
{
	const char *p = strstr(text, " instance ");

	if (!p)
		return 0;
	p += 10;
	snprintf(id, size, "%.*s", (int)strcspn(p, " "), p);
	return *id != '\0';
}

static int on_line(void *cookie, const struct tp_console_line *l)
{
	struct tp_cmon *m = cookie;
	char text[TP_CONSOLE_LINE_MAX + 64], p[TP_CONSOLE_LINE_MAX];
	enum tp_cstate before = m->rec->state;

	switch (l->kind) {
	case TP_CONSOLE_REPORT: {
		char inst[80], seen[200];

		/* Verified, but another instance's (commission.md §11): the old
		 * system's helper, with the same slot key. Never obeyed. */
		if (m->foreign_id[0] && !strcmp(l->report.id, m->foreign_id)) {
			tp_console_printable(l->report.text, strlen(l->report.text), p, sizeof(p),
					     false);
			snprintf(text, sizeof(text), "another instance's node helper: %s %s: %.400s",
				 l->report.step, l->report.event, p);
			emit(m, "rejected", text);
			break;
		}
		/* The slot stops on the verdict: what its node says after it
		 * (the old system's guard, say) is kept, not obeyed. */
		if (m->fatal) {
			tp_console_printable(l->report.text, strlen(l->report.text), p, sizeof(p),
					     false);
			snprintf(text, sizeof(text), "%s %s: %.400s (after the verdict: not obeyed)",
				 l->report.step, l->report.event, p);
			emit(m, "report", text);
			break;
		}
		if (!strcmp(l->report.step, "helper") && !strcmp(l->report.event, "start") &&
		    m->rec->instance_id[0] && start_instance(l->report.text, inst, sizeof(inst)) &&
		    strcmp(inst, m->rec->instance_id)) {
			snprintf(m->foreign_id, sizeof(m->foreign_id), "%s", l->report.id);
			tp_console_printable(inst, strlen(inst), p, sizeof(p), false);
			snprintf(text, sizeof(text), "helper start of instance %.80s, not the "
				 "seeding's %s: not obeyed", p, m->rec->instance_id);
			emit(m, "rejected", text);
			snprintf(seen, sizeof(seen), "its node helper is instance %.60s, seeded %.80s",
				 p, m->rec->instance_id);
			old_system(m, seen);
			break;
		}
		tp_cslot_report(m->rec, &l->report, (uint64_t)time(NULL));
		m->dirty = true;
		tp_console_printable(l->report.text, strlen(l->report.text), p, sizeof(p), false);
		snprintf(text, sizeof(text), "%s %s: %s", l->report.step, l->report.event, p);
		emit(m, "report", text);
		tp_clive_report(m->slot, &l->report);
		/* Progress: the state's full timeout again from here. */
		if (m->rec->state != before || m->rec->state == TP_CS_RUNNING)
			tp_cmon_arm(m);
		/* The root the helper moved to the NVMe: the other root this
		 * flash may boot (node-helper.md §15's progress lines). */
		if (!strcmp(l->report.step, "migrate") && !strcmp(l->report.event, "progress")) {
			const char *u = strstr(l->report.text, "root UUID ");

			if (!u)
				u = strstr(l->report.text, "ext4 UUID ");
			if (u)
				u += 10;
			if (u && strspn(u, "0123456789abcdefABCDEF-") >= 36)
				snprintf(m->rec->nvme_root_uuid, sizeof(m->rec->nvme_root_uuid),
					 "%.36s", u);
		}
		break;
	}
	case TP_CONSOLE_LINE: {
		const char *k;
		char seen[200];

		for (size_t i = 0; i < sizeof(signatures) / sizeof(signatures[0]); i++)
			if (memmem(l->text, l->len, signatures[i].text, strlen(signatures[i].text))) {
				m->signature = signatures[i].name;
				m->urgent = m->urgent || signatures[i].urgent;
				emit(m, "signature", signatures[i].name);
			}
		/* The kernel prints its command line early at every boot. */
		k = memmem(l->text, l->len, "Kernel command line: ", 21);
		if (k && tp_cmon_root_foreign(m->rec, k + 21, l->len - (size_t)(k + 21 - l->text),
					      seen, sizeof(seen)))
			old_system(m, seen);
		break;
	}
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
	return m->urgent || m->fatal || (m->deadline_ns && now_ns >= m->deadline_ns);
}

bool tp_cmon_fatal(const struct tp_cmon *m)
{
	/* Waiting for a guard that never came is as final as no guard. */
	return m->fatal || m->wiping;
}

bool tp_cmon_silent(const struct tp_cmon *m)
{
	return !tp_cmon_fatal(m) && !m->signature && !m->bytes;
}

void tp_cmon_verdict(const struct tp_cmon *m, char *buf, size_t size)
{
	const struct tp_cstate_row *r = tp_cstate_row(m->rec->state);
	unsigned s = r ? r->timeout_s : 0;

	if (tp_cmon_fatal(m))
		snprintf(buf, size, "%s", m->fatal_why);
	else if (m->signature)
		snprintf(buf, size, "%s (state %s)", m->signature, tp_cstate_name(m->rec->state));
	else if (!m->bytes && !m->open && m->unopened[0])
		snprintf(buf, size, "its console could not be opened for %u s (state %s): %s", s,
			 tp_cstate_name(m->rec->state), m->unopened);
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
