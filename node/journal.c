// SPDX-License-Identifier: MIT
/*
 * The journal of finished steps (docs/node-helper.md §4): one small text
 * file, rewritten whole through common/atomic.h at every finished step, so
 * a power cut leaves the old journal or the new one. It belongs to one
 * seeding (the instance_id of node.conf): a node flashed again starts over.
 */
#include "node.h"
#include "common/atomic.h"
#include "common/err.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAGIC "tpkit-node journal 1"
#define JOURNAL_BYTES 8192

static int result_ok(const char *r)
{
	return !strcmp(r, "done") || !strcmp(r, "skipped") || !strcmp(r, "failed");
}

static int name_ok(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n >= max)
		return 0;
	for (; *s; s++)
		if (*s <= ' ' || *s == 0x7f)
			return 0;
	return 1;
}

int tp_journal_parse(struct tp_journal *j, const char *text)
{
	const char *p = text;
	unsigned line = 0;

	j->n = 0;
	j->instance_id[0] = '\0';
	while (*p) {
		char buf[256], step[64], result[32], extra;
		size_t l = strcspn(p, "\n");
		int64_t t;

		line++;
		if (p[l] != '\n')
			return tp_err_set(-EINVAL, "line %u has no end (a torn write?)", line);
		if (l >= sizeof(buf))
			return tp_err_set(-EINVAL, "line %u is too long", line);
		memcpy(buf, p, l);
		buf[l] = '\0';
		p += l + 1;
		if (line == 1) {
			if (strcmp(buf, MAGIC))
				return tp_err_set(-EINVAL, "line 1 is not \"%s\"", MAGIC);
			continue;
		}
		if (line == 2) {
			if (strncmp(buf, "instance_id=", 12) || !name_ok(buf + 12, sizeof(j->instance_id)))
				return tp_err_set(-EINVAL, "line 2 is not instance_id=ID");
			snprintf(j->instance_id, sizeof(j->instance_id), "%s", buf + 12);
			continue;
		}
		if (sscanf(buf, "%63s %31s %" SCNd64 " %c", step, result, &t, &extra) != 3 ||
		    !name_ok(step, sizeof(j->e[0].step)) || !result_ok(result) || t < 0)
			return tp_err_set(-EINVAL, "line %u is not \"STEP done|skipped|failed TIME\"",
					  line);
		if (tp_journal_find(j, step))
			return tp_err_set(-EINVAL, "line %u: step %s is there twice", line, step);
		if (j->n == TP_JOURNAL_MAX)
			return tp_err_set(-EINVAL, "line %u: more than %d steps", line, TP_JOURNAL_MAX);
		snprintf(j->e[j->n].step, sizeof(j->e[0].step), "%s", step);
		snprintf(j->e[j->n].result, sizeof(j->e[0].result), "%s", result);
		j->e[j->n].time = t;
		j->n++;
	}
	if (line < 2)
		return tp_err_set(-EINVAL, "no instance_id line (an empty or torn file?)");
	return 0;
}

static int read_text(const char *file, char *buf, size_t size)
{
	size_t len = 0;
	int fd = open(file, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT ? -ENOENT
				       : tp_err_set(-errno, "cannot open %s: %s", file, strerror(errno));
	for (;;) {
		ssize_t r = read(fd, buf + len, size - 1 - len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;

			close(fd);
			return tp_err_set(-e, "cannot read %s: %s", file, strerror(e));
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len == size - 1) {
			close(fd);
			return tp_err_set(-EINVAL, "larger than %zu bytes", size - 1);
		}
	}
	close(fd);
	buf[len] = '\0';
	if (strlen(buf) != len)
		return tp_err_set(-EINVAL, "holds a NUL byte");
	return 0;
}

static int set_paths(struct tp_journal *j, const char *dir)
{
	memset(j, 0, sizeof(*j));
	if (snprintf(j->dir, sizeof(j->dir), "%s", dir) >= (int)sizeof(j->dir) ||
	    snprintf(j->file, sizeof(j->file), "%s/%s", dir, TP_JOURNAL_FILE) >= (int)sizeof(j->file))
		return tp_err_set(-ENAMETOOLONG, "journal: path too long: %s", dir);
	return 0;
}

int tp_journal_load(struct tp_journal *j, const char *dir)
{
	char text[JOURNAL_BYTES];
	int rc = set_paths(j, dir);

	if (rc < 0)
		return rc;
	rc = read_text(j->file, text, sizeof(text));
	if (rc == 0)
		rc = tp_journal_parse(j, text);
	if (rc == -EINVAL)
		tp_err_prefix(rc, "%s: ", j->file);
	return rc;
}

int tp_journal_open(struct tp_journal *j, const char *dir, const char *instance_id, char *note,
		    size_t nsize)
{
	char bad[TP_PATH_MAX + 8];
	int rc;

	if (note && nsize)
		note[0] = '\0';
	if (!name_ok(instance_id, sizeof(j->instance_id)))
		return tp_err_set(-EINVAL, "journal: bad instance_id");
	rc = tp_dir_make(dir, 0700, 0);
	if (rc < 0)
		return rc;
	rc = tp_journal_load(j, dir);
	if (rc == -ENOENT)
		goto fresh;
	if (rc == -EINVAL) {
		/* Atomic writes leave no torn journal, so this is damage or a
		 * hand edit. The steps' own done() tests make re-running safe;
		 * keep the file for whoever looks into it, and go on. */
		if (note)
			snprintf(note, nsize, "%s; moved to %s.bad, starting afresh", tp_err_msg(),
				 TP_JOURNAL_FILE);
		snprintf(bad, sizeof(bad), "%s.bad", j->file);
		if (rename(j->file, bad) < 0)
			return tp_err_set(-errno, "cannot move %s aside: %s", j->file,
					  strerror(errno));
		goto fresh;
	}
	if (rc < 0)
		return rc;
	if (strcmp(j->instance_id, instance_id)) {
		if (note)
			snprintf(note, nsize,
				 "%s belongs to instance %s, this node is now %s (flashed again): "
				 "starting afresh", j->file, j->instance_id, instance_id);
		rc = tp_file_remove_durable(j->file);
		if (rc < 0)
			return rc;
		goto fresh;
	}
	return 0;
fresh:
	j->n = 0;
	snprintf(j->instance_id, sizeof(j->instance_id), "%s", instance_id);
	return 0;
}

const struct tp_journal_entry *tp_journal_find(const struct tp_journal *j, const char *step)
{
	for (size_t i = 0; i < j->n; i++)
		if (!strcmp(j->e[i].step, step))
			return &j->e[i];
	return NULL;
}

int tp_journal_record(struct tp_journal *j, const char *step, const char *result, int64_t time)
{
	struct tp_journal_entry *e = (struct tp_journal_entry *)tp_journal_find(j, step);
	char text[JOURNAL_BYTES];
	size_t len;

	if (!name_ok(step, sizeof(e->step)) || !result_ok(result) || time < 0)
		return tp_err_set(-EINVAL, "journal: bad entry for step %.32s", step);
	if (!e) {
		if (j->n == TP_JOURNAL_MAX)
			return tp_err_set(-ENOSPC, "journal: more than %d steps", TP_JOURNAL_MAX);
		e = &j->e[j->n++];
		snprintf(e->step, sizeof(e->step), "%s", step);
	}
	snprintf(e->result, sizeof(e->result), "%s", result);
	e->time = time;
	len = (size_t)snprintf(text, sizeof(text), "%s\ninstance_id=%s\n", MAGIC, j->instance_id);
	for (size_t i = 0; i < j->n; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "%s %s %" PRId64 "\n",
					j->e[i].step, j->e[i].result, j->e[i].time);
	return tp_file_write_atomic(j->file, text, len, 0600);
}

int tp_journal_reset(struct tp_journal *j)
{
	j->n = 0;
	return tp_file_remove_durable(j->file);
}
