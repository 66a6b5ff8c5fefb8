// SPDX-License-Identifier: MIT
/*
 * The per-slot state machine of `tpkit commission` and its record
 * (docs/commission.md §2, §3). Every transition is in one of two tables:
 * states.def (timeouts, retries, the normal next state) and reports[]
 * below (what a verified report does); the functions only look them up.
 * And the lock that keeps a second run off the records (§7).
 */
#include "state.h"
#include "common/atomic.h"
#include "common/err.h"
#include "common/path.h"
#include "common/state.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

static const struct tp_cstate_row rows[TP_CS_COUNT] = {
#define STATE(id, nm, to, re, nx, tx) [TP_CS_##id] = { nm, to, re, TP_CS_##nx, tx },
#include "states.def"
#undef STATE
};

const struct tp_cstate_row *tp_cstate_row(enum tp_cstate s)
{
	return (unsigned)s < TP_CS_COUNT ? &rows[s] : NULL;
}

const char *tp_cstate_name(enum tp_cstate s)
{
	return (unsigned)s < TP_CS_COUNT ? rows[s].name : "?";
}

int tp_cstate_parse(const char *name, enum tp_cstate *s)
{
	for (unsigned i = 0; i < TP_CS_COUNT; i++)
		if (strcmp(rows[i].name, name) == 0) {
			*s = (enum tp_cstate)i;
			return 0;
		}
	return -EINVAL;
}

/*
 * What a verified report does (node-helper.md §5: the helper's `done`
 * ends its work, `fail` of `helper` is where it stopped, `pause` goes out
 * as progress "pause: ..." before the reboot a step asked for). The first
 * matching row wins; NULL matches anything. Any other report is progress.
 */
static const struct {
	const char *step, *event, *text_prefix;
	enum tp_cstate to;
} reports[] = {
	{ "helper", "done", NULL, TP_CS_DONE },
	{ "helper", "fail", NULL, TP_CS_FAILED },
	{ "helper", "progress", "pause", TP_CS_REBOOTING },
	/* The old NVMe system's guard (commission.md §11): it stops the slot,
	 * or wipes the NVMe and reboots into the fresh eMMC. */
	{ "guard", "fail", NULL, TP_CS_FAILED },
	{ "guard", "progress", NULL, TP_CS_REBOOTING },
	{ NULL, NULL, NULL, TP_CS_RUNNING },
};

void tp_cslot_init(struct tp_cslot *s, unsigned slot)
{
	memset(s, 0, sizeof(*s));
	s->slot = slot;
	s->state = TP_CS_NEW;
}

void tp_cslot_enter(struct tp_cslot *s, enum tp_cstate to, uint64_t now)
{
	s->state = to;
	s->since = now;
	if (to != TP_CS_FAILED)
		s->reason[0] = '\0';
}

static void copy(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src);
}

void tp_cslot_fail(struct tp_cslot *s, uint64_t now, const char *reason)
{
	tp_cslot_enter(s, TP_CS_FAILED, now);
	copy(s->reason, sizeof(s->reason), reason);
}

enum tp_cstate tp_cslot_report(struct tp_cslot *s, const struct tp_report *r, uint64_t now)
{
	size_t i;

	copy(s->step, sizeof(s->step), r->step);
	copy(s->event, sizeof(s->event), r->event);
	copy(s->text, sizeof(s->text), r->text);
	s->report_time = now;
	s->attempts = 0; /* the node got further: the retries start over */
	for (i = 0; reports[i].step; i++)
		if (strcmp(reports[i].step, r->step) == 0 &&
		    strcmp(reports[i].event, r->event) == 0 &&
		    (!reports[i].text_prefix ||
		     strncmp(r->text, reports[i].text_prefix, strlen(reports[i].text_prefix)) == 0))
			break;
	if (reports[i].to == TP_CS_FAILED) {
		char why[sizeof(s->reason)], seen[TP_CSLOT_TEXT_MAX];

		if (!strcmp(r->step, "guard")) {
			snprintf(seen, sizeof(seen), "its guard: %.200s", r->text);
			tp_cslot_old_nvme_reason(s, seen, why, sizeof(why));
		} else {
			snprintf(why, sizeof(why), "the node helper failed: %.200s", r->text);
		}
		tp_cslot_fail(s, now, why);
	} else if (reports[i].to != s->state) {
		tp_cslot_enter(s, reports[i].to, now);
	}
	return s->state;
}

void tp_cslot_old_nvme_reason(const struct tp_cslot *s, const char *seen, char *buf,
			      size_t size)
{
	snprintf(buf, size, TP_CSLOT_OLD_NVME " instead of the fresh eMMC (%s): run `tpkit "
		 "commission --slot %u --wipe-nvme`; a system without tpkit's guard cannot wipe "
		 "itself: log in and run wipefs -a /dev/nvme0n1 (docs/runbooks/old-nvme-boots.md)",
		 seen, s->slot);
}

static enum tp_cretry timeout(struct tp_cslot *s, uint64_t now, const char *reason, bool cycle)
{
	const struct tp_cstate_row *row = tp_cstate_row(s->state);

	if (!row || s->attempts >= row->retries) {
		tp_cslot_fail(s, now, reason);
		return TP_CRETRY_NONE;
	}
	/* The cheap remedy first: a node hung in boot often comes up after a
	 * power cycle; a second timeout suspects the eMMC's contents. */
	s->attempts++;
	if (cycle && s->attempts == 1 && s->state != TP_CS_FLASHING) {
		tp_cslot_enter(s, TP_CS_BOOTING, now);
		return TP_CRETRY_POWER_CYCLE;
	}
	tp_cslot_enter(s, TP_CS_FLASHING, now);
	return TP_CRETRY_REFLASH;
}

enum tp_cretry tp_cslot_timeout(struct tp_cslot *s, uint64_t now, const char *reason)
{
	return timeout(s, now, reason, true);
}

enum tp_cretry tp_cslot_timeout_flash(struct tp_cslot *s, uint64_t now, const char *reason)
{
	return timeout(s, now, reason, false);
}

/* Text fields are stored with every byte outside 0x21..0x7e but the space,
 * and the backslash, written \xNN: one line per key, whatever a node said. */
static size_t esc(const char *in, char *out, size_t size)
{
	size_t n = 0;

	for (; *in && n + 5 < size; in++) {
		unsigned char ch = (unsigned char)*in;

		if (ch >= 0x20 && ch < 0x7f && ch != '\\')
			out[n++] = (char)ch;
		else
			n += (size_t)snprintf(out + n, size - n, "\\x%02x", ch);
	}
	out[n] = '\0';
	return n;
}

static int unesc(const char *in, char *out, size_t size)
{
	size_t n = 0;

	while (*in) {
		unsigned v;

		if (n + 1 >= size)
			return -EOVERFLOW;
		if (*in != '\\') {
			out[n++] = *in++;
			continue;
		}
		if (in[1] != 'x' || sscanf(in + 2, "%2x", &v) != 1 || !in[2] || !in[3] || v == 0)
			return -EINVAL;
		out[n++] = (char)v;
		in += 4;
	}
	out[n] = '\0';
	return 0;
}

/* The record's fields, each once: key, where, and its size (0: a number). */
#define TEXT(k, f) { k, offsetof(struct tp_cslot, f), sizeof(((struct tp_cslot *)0)->f) }
static const struct field {
	const char *key;
	size_t off, size;
} fields[] = {
	TEXT("module", module),     TEXT("image", image),         TEXT("sha256", sha256),
	TEXT("instance_id", instance_id), TEXT("root_uuid", root_uuid),
	TEXT("nvme_root_uuid", nvme_root_uuid), TEXT("wipe_nvme", wipe_nvme),
	TEXT("report_step", step),  TEXT("report_event", event), TEXT("report_text", text),
	TEXT("reason", reason),
};
static const struct field numbers[] = {
	{ "since", offsetof(struct tp_cslot, since), 0 },
	{ "report_time", offsetof(struct tp_cslot, report_time), 0 },
};
#undef TEXT

int tp_cslot_format(const struct tp_cslot *s, char *buf, size_t size)
{
	size_t n;
	int w;

	w = snprintf(buf, size, "version=1\nslot=%u\nstate=%s\nattempts=%u\nflashes=%u\n", s->slot,
		     tp_cstate_name(s->state), s->attempts, s->flashes);
	if (w < 0 || (size_t)w >= size)
		return -EOVERFLOW;
	n = (size_t)w;
	for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
		const uint64_t *v = (const void *)((const char *)s + numbers[i].off);

		w = snprintf(buf + n, size - n, "%s=%" PRIu64 "\n", numbers[i].key, *v);
		if (w < 0 || (size_t)w >= size - n)
			return -EOVERFLOW;
		n += (size_t)w;
	}
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		char e[4 * sizeof(s->reason) + 1];

		esc((const char *)s + fields[i].off, e, sizeof(e));
		w = snprintf(buf + n, size - n, "%s=%s\n", fields[i].key, e);
		if (w < 0 || (size_t)w >= size - n)
			return -EOVERFLOW;
		n += (size_t)w;
	}
	return (int)n;
}

static int bad(const char *name, unsigned line, const char *what)
{
	return tp_err_set(-EBADMSG, "%s: damaged commissioning record, line %u: %s", name, line,
			  what);
}

static int parse_u64(const char *v, uint64_t *out)
{
	char *e;

	if (!*v || *v == '-')
		return -EINVAL;
	errno = 0;
	*out = strtoull(v, &e, 10);
	return *e || errno ? -EINVAL : 0;
}

static int set_field(struct tp_cslot *s, const char *k, const char *v, bool *seen_state)
{
	uint64_t u;

	if (strcmp(k, "version") == 0)
		return strcmp(v, "1") == 0 ? 0 : -EPROTO;
	if (strcmp(k, "slot") == 0)
		return parse_u64(v, &u) == 0 && u == s->slot ? 0 : -EINVAL;
	if (strcmp(k, "state") == 0) {
		*seen_state = true;
		return tp_cstate_parse(v, &s->state);
	}
	if (strcmp(k, "attempts") == 0 || strcmp(k, "flashes") == 0) {
		if (parse_u64(v, &u) < 0 || u > 1000)
			return -EINVAL;
		*(k[0] == 'a' ? &s->attempts : &s->flashes) = (unsigned)u;
		return 0;
	}
	for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++)
		if (strcmp(k, numbers[i].key) == 0)
			return parse_u64(v, (uint64_t *)(void *)((char *)s + numbers[i].off));
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (strcmp(k, fields[i].key) == 0)
			return unesc(v, (char *)s + fields[i].off, fields[i].size);
	return -ENOENT;
}

int tp_cslot_parse(struct tp_cslot *s, unsigned slot, const char *text, const char *name)
{
	bool seen_state = false;
	unsigned line = 0;
	const char *p = text;

	tp_cslot_init(s, slot);
	while (*p) {
		char buf[8 * TP_CSLOT_TEXT_MAX + 64], *eq;
		const char *nl = strchr(p, '\n');
		size_t len;
		int rc;

		line++;
		if (!nl)
			return bad(name, line, "the last line has no newline (cut short?)");
		len = (size_t)(nl - p);
		if (len >= sizeof(buf))
			return bad(name, line, "line too long");
		memcpy(buf, p, len);
		buf[len] = '\0';
		p = nl + 1;
		eq = strchr(buf, '=');
		if (!eq)
			return bad(name, line, "not key=value");
		*eq = '\0';
		rc = set_field(s, buf, eq + 1, &seen_state);
		if (rc == -ENOENT)
			return bad(name, line, "unknown key");
		if (rc == -EPROTO)
			return bad(name, line, "a version this tpkit does not know");
		if (rc < 0)
			return bad(name, line, "bad value");
	}
	if (!seen_state)
		return bad(name, line, "no state= line");
	return 0;
}

void tp_cslot_record_name(unsigned slot, char *buf, size_t size)
{
	snprintf(buf, size, "commission-slot%u", slot);
}

int tp_cslot_load(struct tp_cslot *s, unsigned slot)
{
	char name[32], text[8192];
	int rc;

	tp_cslot_record_name(slot, name, sizeof(name));
	rc = tp_state_load(name, text, sizeof(text));
	if (rc == -ENOENT) {
		tp_cslot_init(s, slot);
		return rc;
	}
	if (rc < 0)
		return rc;
	if ((size_t)rc >= sizeof(text) - 1)
		return tp_err_set(-EBADMSG, "%s: damaged commissioning record: too long", name);
	rc = tp_cslot_parse(s, slot, text, name);
	if (rc < 0)
		tp_cslot_init(s, slot); /* never half a record */
	return rc;
}

int tp_cslot_save(const struct tp_cslot *s)
{
	char name[32], text[8192];
	int n = tp_cslot_format(s, text, sizeof(text));

	if (n < 0)
		return tp_err_set(n, "slot %u: commissioning record too long", s->slot);
	tp_cslot_record_name(s->slot, name, sizeof(name));
	return tp_state_save(name, text);
}

int tp_commission_lock(int *fd)
{
	char dir[TP_PATH_MAX], path[TP_PATH_MAX + 32], pid[32];
	int rc = tp_state_dir(dir, sizeof(dir)), f, n;

	if (rc < 0)
		return tp_err_set(rc, "the state directory's path is too long");
	if ((rc = tp_dir_make(dir, 0700, 0)) < 0)
		return tp_err_prefix(rc, "cannot make the state directory: ");
	snprintf(path, sizeof(path), "%s/commission.lock", dir);
	f = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (f < 0)
		return tp_err_set(-errno, "cannot open %s: %s", path, strerror(errno));
	/* flock: the kernel drops it when the process ends, however it ends,
	 * so a killed run never leaves a stale lock behind. */
	if (flock(f, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;

		n = (int)pread(f, pid, sizeof(pid) - 1, 0);
		close(f);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		if (e == EWOULDBLOCK)
			return tp_err_set(-EBUSY, "another tpkit commission is running (pid %s); "
					  "tpkit status shows its progress", pid[0] ? pid : "?");
		return tp_err_set(-e, "cannot lock %s: %s", path, strerror(e));
	}
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(f, 0) < 0 || pwrite(f, pid, (size_t)n, 0) != n) {
		rc = tp_err_set(-errno, "cannot write %s: %s", path, strerror(errno));
		close(f);
		return rc;
	}
	*fd = f;
	return 0;
}

void tp_commission_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}
