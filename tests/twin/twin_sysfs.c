// SPDX-License-Identifier: MIT
/*
 * sysfs behaviour for the fake root, through inotify.
 *
 * Regulator state files: the command writes a word, the kernel's
 * regulator-output driver acts on it and the file then reads back as the
 * driver shows it ("enabled\n"). Files the kernel offers read-only (model,
 * EEPROM, meminfo) must never be opened for writing.
 *
 * inotify is asynchronous, but fsnotify queues the event before the
 * writer's close() returns. Draining the queue before every GPIO request
 * therefore applies each write before anything the command does after it.
 * Limitation: the content is read when the event is handled, so two writes
 * to one file with no request in between are seen as the last of them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <glib-unix.h>

#include "twin.h"

#define TWIN_REG_MASK	(IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | \
			 IN_MOVED_FROM | IN_MOVED_TO)
#define TWIN_RO_MASK	(IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | \
			 IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB)

static const char *const twin_ro_dirs[] = {
	"proc/device-tree", "proc", "sys/bus/i2c/devices/2-0050",
};

static const char *twin_sysfs_reg_text(const struct twin_reg *r)
{
	return r->enabled ? "enabled\n" : "disabled\n";
}

/*
 * Replace the file by a rename, so that a reader sees the old or the new
 * text and never an empty or half-written file, which sysfs never shows.
 * The temporary file lives outside the watched directory; the rename's
 * own IN_MOVED_TO is counted so that it is not taken for the command's.
 */
int twin_sysfs_reg_store(struct twin *t, struct twin_reg *r)
{
	const char *text = twin_sysfs_reg_text(r);
	char *tmp = g_build_filename(t->root, ".tp-twin-state.tmp", NULL);
	GError *err = NULL;
	int rc = 0;

	if (!g_file_set_contents_full(tmp, text, -1, G_FILE_SET_CONTENTS_NONE,
				      0644, &err)) {
		fprintf(stderr, "tp-twin: %s\n", err->message);
		g_error_free(err);
		rc = -EIO;
	} else if (rename(tmp, r->path)) {
		rc = -errno;
		fprintf(stderr, "tp-twin: cannot replace %s: %s\n", r->path,
			g_strerror(-rc));
		(void)unlink(tmp);
	} else if (t->inotify_fd >= 0) {
		r->own_moves++;
	}
	g_free(tmp);
	return rc;
}

/* The strings the driver's state_store() accepts through sysfs_streq()
 * (drivers/regulator/userspace-consumer.c): one optional trailing
 * newline. Returns 1 for on, 0 for off, -EINVAL otherwise. */
static int twin_sysfs_reg_parse(const char *buf, size_t len)
{
	static const char *const on[] = { "enabled", "1" };
	static const char *const off[] = { "disabled", "0" };

	if (len && buf[len - 1] == '\n')
		len--;
	for (size_t i = 0; i < G_N_ELEMENTS(on); i++) {
		if (len == strlen(on[i]) && !memcmp(buf, on[i], len))
			return 1;
		if (len == strlen(off[i]) && !memcmp(buf, off[i], len))
			return 0;
	}
	return -EINVAL;
}

static void twin_sysfs_reg_written(struct twin *t, struct twin_reg *r)
{
	char buf[256];
	const char *text = twin_sysfs_reg_text(r);
	ssize_t n;
	int fd, on;

	fd = open(r->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;		/* removed since: its own event follows */
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return;
	buf[n] = '\0';

	/* The file as the kernel shows it: our own rewrite, or a write of
	 * the current state, which the driver ignores as well. */
	if ((size_t)n == strlen(text) && !memcmp(buf, text, (size_t)n))
		return;
	/* Opened with O_TRUNC and closed without a write: the driver never
	 * saw a store() call. */
	if (n == 0) {
		(void)twin_sysfs_reg_store(t, r);
		return;
	}

	on = twin_sysfs_reg_parse(buf, (size_t)n);
	if (on < 0) {
		char *esc = g_strescape(buf, NULL);

		/* The driver logs "Configuring invalid mode" and returns
		 * success, so only the twin can catch this. */
		twin_timeline_violation(t, r->name,
			"wrote \"%s\" to its state file; the kernel ignores it (accepts enabled, disabled, 1, 0)",
			esc);
		g_free(esc);
	} else if (twin_board_reg_set(t, r, on) < 0) {
		twin_timeline_violation(t, r->name,
					"the virtual clock overflowed");
	}
	(void)twin_sysfs_reg_store(t, r);
}

static void twin_sysfs_reg_event(struct twin *t, struct twin_reg *r,
				 const struct inotify_event *ev)
{
	bool is_state = ev->len && !strcmp(ev->name, "state");
	char *path;

	if (is_state && r->present) {
		if (ev->mask & IN_CLOSE_WRITE) {
			twin_sysfs_reg_written(t, r);
		} else if ((ev->mask & IN_MOVED_TO) && r->own_moves) {
			r->own_moves--;
		} else if (ev->mask & (IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO)) {
			twin_timeline_violation(t, r->name,
				"its state file was %s; sysfs attributes cannot be removed or replaced",
				ev->mask & IN_MOVED_TO ? "replaced by a rename" :
				ev->mask & IN_DELETE ? "deleted" : "renamed away");
			(void)twin_sysfs_reg_store(t, r);
		}
		return;
	}
	if (!ev->len || !(ev->mask & (IN_CREATE | IN_MOVED_TO)))
		return;
	twin_timeline_violation(t, r->name,
		"created \"%s\" in its sysfs directory%s; sysfs does not allow that",
		ev->name, is_state ? " (the regulator has no state file)" : "");
	path = g_build_filename(r->dir, ev->name, NULL);
	if (remove(path))
		fprintf(stderr, "tp-twin: remove %s: %s\n", path,
			g_strerror(errno));
	g_free(path);
}

static void twin_sysfs_event(struct twin *t, const struct inotify_event *ev)
{
	for (unsigned n = 0; n <= TWIN_SLOTS; n++) {
		if (t->board.regs[n].wd == ev->wd) {
			twin_sysfs_reg_event(t, &t->board.regs[n], ev);
			return;
		}
	}
	for (size_t i = 0; i < G_N_ELEMENTS(twin_ro_dirs); i++) {
		if (t->ro_wd[i] != ev->wd || !ev->len ||
		    !(ev->mask & TWIN_RO_MASK))
			continue;
		/* proc/device-tree itself is watched on its own. */
		if (i == 1 && !strcmp(ev->name, "device-tree") &&
		    !(ev->mask & (IN_DELETE | IN_MOVED_FROM)))
			continue;
		twin_timeline_violation(t, ev->name,
			"%s/%s was %s; it is read-only on the BMC",
			twin_ro_dirs[i], ev->name,
			ev->mask & IN_CLOSE_WRITE ? "opened for writing" :
			ev->mask & IN_ATTRIB ? "chmod/chown-ed" : "created, removed or renamed");
		return;
	}
}

void twin_sysfs_drain(struct twin *t)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

	if (t->inotify_fd < 0)
		return;
	for (;;) {
		ssize_t n = read(t->inotify_fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;	/* EAGAIN: the queue is empty */
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const void *)p;

			if (ev->mask & IN_Q_OVERFLOW)
				twin_timeline_violation(t, "twin",
					"inotify queue overflow: file writes were lost");
			else
				twin_sysfs_event(t, ev);
			p += sizeof(*ev) + ev->len;
		}
	}
}

static gboolean twin_sysfs_ready(gint fd, GIOCondition cond, gpointer data)
{
	(void)fd;
	(void)cond;
	twin_sysfs_drain(data);
	return G_SOURCE_CONTINUE;
}

int twin_sysfs_watch(struct twin *t)
{
	t->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (t->inotify_fd < 0) {
		fprintf(stderr, "tp-twin: inotify: %s\n", g_strerror(errno));
		return -errno;
	}
	for (unsigned n = 0; n <= TWIN_SLOTS; n++) {
		struct twin_reg *r = &t->board.regs[n];

		if (!r->exists)
			continue;
		r->wd = inotify_add_watch(t->inotify_fd, r->dir, TWIN_REG_MASK);
		if (r->wd < 0)
			goto fail;
	}
	for (size_t i = 0; i < G_N_ELEMENTS(twin_ro_dirs); i++) {
		t->ro_dir[i] = g_build_filename(t->root, twin_ro_dirs[i], NULL);
		t->ro_wd[i] = inotify_add_watch(t->inotify_fd, t->ro_dir[i],
						TWIN_RO_MASK);
		if (t->ro_wd[i] < 0)
			goto fail;
	}
	/* Also handled between requests, so that writes made by a command
	 * that never talks to the socket still reach the timeline promptly. */
	t->inotify_src = g_unix_fd_add(t->inotify_fd, G_IO_IN, twin_sysfs_ready, t);
	return 0;
fail:
	fprintf(stderr, "tp-twin: inotify_add_watch: %s\n", g_strerror(errno));
	return -errno;
}

void twin_sysfs_stop(struct twin *t)
{
	if (t->inotify_src)
		g_source_remove(t->inotify_src);
	t->inotify_src = 0;
	if (t->inotify_fd >= 0)
		close(t->inotify_fd);
	t->inotify_fd = -1;
	for (size_t i = 0; i < G_N_ELEMENTS(t->ro_dir); i++) {
		g_free(t->ro_dir[i]);
		t->ro_dir[i] = NULL;
	}
}
