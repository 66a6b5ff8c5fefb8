// SPDX-License-Identifier: MIT
/*
 * The live view of commissioning (docs/commission.md §12): the notes a
 * run leaves beside its records (the flash's progress, the server's
 * kubeconfig path) and one slot's row of the live table, built from the
 * record and the notes by tpkit status --watch and tpkit commission on a
 * terminal alike, so both show the same.
 */
#include "live.h"
#include "bmc/console.h"
#include "common/err.h"
#include "common/state.h"
#include "common/path.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void note_name(unsigned slot, const char *what, char *buf, size_t size)
{
	snprintf(buf, size, "commission-slot%u.%s", slot, what);
}

int tp_clive_progress_write(unsigned slot, const char *text)
{
	char dir[TP_PATH_MAX], path[TP_PATH_MAX + 64], tmp[TP_PATH_MAX + 80], name[48];
	size_t len = strlen(text);
	int rc = tp_state_dir(dir, sizeof(dir)), fd;

	if (rc < 0)
		return rc;
	note_name(slot, "progress", name, sizeof(name));
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	/* No fsync: a progress note only matters while the flash runs, and a
	 * sync per percent would slow the SD card the flash may read from. */
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	rc = write(fd, text, len) == (ssize_t)len ? 0 : -EIO;
	close(fd);
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc < 0)
		unlink(tmp);
	return rc;
}

void tp_clive_progress_remove(unsigned slot)
{
	char name[48];

	note_name(slot, "progress", name, sizeof(name));
	(void)tp_state_remove(name);
}

void tp_clive_report(unsigned slot, const struct tp_report *r)
{
	/* node/k3s.c's k3s_ready ends its text with "kubeconfig PATH" on a
	 * server (node-helper.md §5); an agent's says nothing of one. */
	const char *k = strstr(r->text, "kubeconfig /");
	char path[256], name[48];

	if (strcmp(r->step, "k3s_ready") || strcmp(r->event, "ok") || !k)
		return;
	snprintf(path, sizeof(path), "%s", k + strlen("kubeconfig "));
	path[strcspn(path, " \t\r\n")] = '\0';
	/* It goes into a command on the node (tpkit kubeconfig): a plain
	 * path or nothing, whatever a signed line says. */
	if (path[strspn(path, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-")])
		return;
	note_name(slot, "kubeconfig", name, sizeof(name));
	strcat(path, "\n");
	(void)tp_state_save(name, path);
}

int tp_clive_kubeconfig(unsigned slot, char *buf, size_t size)
{
	char name[48];
	int rc;

	note_name(slot, "kubeconfig", name, sizeof(name));
	rc = tp_state_load(name, buf, size);
	if (rc < 0)
		return rc;
	buf[strcspn(buf, "\n")] = '\0';
	return buf[0] == '/' ? 0 : -ENOENT;
}

unsigned tp_clive_step_index(const char *step, unsigned *count)
{
	static const char *const steps[] = {
#define STEP(id, name, doc) name,
#include "node/steps.def"
#undef STEP
	};
	unsigned n = (unsigned)(sizeof(steps) / sizeof(steps[0])), at = 0;

	for (unsigned i = 0; i < n; i++)
		if (!strcmp(steps[i], step))
			at = i + 1;
	*count = n;
	return at;
}

static void report_phase(const struct tp_cslot *s, char *buf, size_t size)
{
	char text[TP_CSLOT_TEXT_MAX * 4];
	unsigned n, i = tp_clive_step_index(s->step, &n);

	tp_console_printable(s->text, strlen(s->text), text, sizeof(text), false);
	if (i)
		snprintf(buf, size, "%s %u/%u %s: %.300s", s->step, i, n, s->event, text);
	else
		snprintf(buf, size, "%s %s: %.300s", s->step, s->event, text);
}

int tp_clive_row(unsigned slot, struct tp_clive_row *row)
{
	struct tp_cslot *s = &row->rec;
	char name[48], note[128];

	memset(row, 0, sizeof(*row));
	row->slot = slot;
	row->rc = tp_cslot_load(s, slot);
	if (row->rc < 0 && row->rc != -ENOENT && row->rc != -EBADMSG)
		return row->rc;
	row->state = row->rc == -EBADMSG ? "damaged" : tp_cstate_name(s->state);
	row->changed = s->report_time > s->since ? s->report_time : s->since;
	row->end = row->rc == 0 && (s->state == TP_CS_DONE || s->state == TP_CS_FAILED);
	snprintf(row->phase, sizeof(row->phase), "-");
	if (row->rc < 0)
		return 0;
	switch (s->state) {
	case TP_CS_FLASHING:
		note_name(slot, "progress", name, sizeof(name));
		if (tp_state_load(name, note, sizeof(note)) > 0) {
			note[strcspn(note, "\n")] = '\0';
			snprintf(row->phase, sizeof(row->phase), "flash %s", note);
		} else {
			snprintf(row->phase, sizeof(row->phase), "flash");
		}
		break;
	case TP_CS_FAILED:
		snprintf(row->phase, sizeof(row->phase), "%s", s->reason);
		break;
	case TP_CS_BOOTING:
	case TP_CS_RUNNING:
	case TP_CS_REBOOTING:
	case TP_CS_DONE:
		if (s->report_time)
			report_phase(s, row->phase, sizeof(row->phase));
		else if (s->state == TP_CS_BOOTING)
			snprintf(row->phase, sizeof(row->phase), "powered on, waiting for its helper");
		break;
	default:
		break;
	}
	return 0;
}
