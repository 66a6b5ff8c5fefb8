// SPDX-License-Identifier: MIT
/*
 * --signal SIG@WHEN (docs/twin.md, "Signals to the client"): the twin sends
 * SIG to its client at an exact point of the simulation, so that a test can
 * interrupt a program at a chosen instant without sleeping: when a timeline
 * event containing a text is recorded (event:TEXT), or when the K-th
 * WRITE_LBA (READ_LBA) whose range covers an LBA arrives at an RK1's loader
 * (write:LBA#K, read:LBA#K), before its data phase; with --signal-slot N,
 * only slot N's commands are counted.
 *
 * The client is every process connected to the GPIO socket (the program
 * under test, not a shell around it). SIGKILL is waited for: the twin goes
 * on only once the process is gone, so nothing it would have sent after
 * that instant reaches the devices — a kill -9 or a BMC losing power at
 * exactly that point.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "twin.h"

#define RK_READ_LBA	0x14
#define RK_WRITE_LBA	0x15

static const struct {
	const char *name;
	int sig;
} twin_sigs[] = {
	{ "INT", SIGINT }, { "TERM", SIGTERM }, { "HUP", SIGHUP },
	{ "KILL", SIGKILL }, { "PIPE", SIGPIPE },
};

int twin_signal_parse(struct twin_opts *o, const char *arg)
{
	const char *at = strchr(arg, '@');
	char *end;

	if (!at)
		return -EINVAL;
	o->sig.sig = 0;
	for (size_t i = 0; i < sizeof(twin_sigs) / sizeof(twin_sigs[0]); i++)
		if ((size_t)(at - arg) == strlen(twin_sigs[i].name) &&
		    !strncmp(arg, twin_sigs[i].name, (size_t)(at - arg)))
			o->sig.sig = twin_sigs[i].sig;
	if (!o->sig.sig)
		return -EINVAL;
	at++;
	g_free(o->sig.event);
	o->sig.event = NULL;
	if (!strncmp(at, "event:", 6) && at[6]) {
		o->sig.event = g_strdup(at + 6);
		return 0;
	}
	if (strncmp(at, "write:", 6) && strncmp(at, "read:", 5))
		return -EINVAL;
	o->sig.op = at[0] == 'w' ? RK_WRITE_LBA : RK_READ_LBA;
	at += at[0] == 'w' ? 6 : 5; /* past "write:" or "read:" */
	errno = 0;
	o->sig.lba = strtoull(at, &end, 10);
	o->sig.nth = 1;
	if (errno || end == at || *at == '-')
		return -EINVAL;
	if (*end == '#') {
		const char *k = end + 1;

		o->sig.nth = strtoul(k, &end, 10);
		if (end == k || !o->sig.nth)
			return -EINVAL;
	}
	if (*end)
		return -EINVAL;
	o->sig.on_write = true;
	return 0;
}

/* A process that got SIGKILL is gone (or a zombie) within moments; 5 s of
 * real time is a twin failure, not a wait. */
static bool twin_signal_gone(pid_t pid)
{
	char path[64], buf[256], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return true;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	p = p ? strrchr(buf, ')') : NULL;
	return !p || p[1] == '\0' || p[2] == 'Z' || p[2] == 'X';
}

static void twin_signal_fire(struct twin *t, const char *why)
{
	pid_t pids[16];
	int n = twin_gpio_peers(t, pids, 16);
	const char *name = "?";
	char note[256];

	t->opt.sig.fired = true;
	for (size_t i = 0; i < sizeof(twin_sigs) / sizeof(twin_sigs[0]); i++)
		if (twin_sigs[i].sig == t->opt.sig.sig)
			name = twin_sigs[i].name;
	for (int i = 0; i < n; i++)
		kill(pids[i], t->opt.sig.sig);
	for (int i = 0; t->opt.sig.sig == SIGKILL && i < n; i++) {
		struct timespec ts = { 0, 1000000 };

		for (int k = 0; k < 5000 && !twin_signal_gone(pids[i]); k++)
			nanosleep(&ts, NULL);
		if (!twin_signal_gone(pids[i]))
			twin_timeline_violation(t, "twin --signal", "pid %d outlived SIGKILL",
						(int)pids[i]);
	}
	snprintf(note, sizeof(note), "--signal %s: %s; %d process%s", name, why, n,
		 n == 1 ? "" : "es");
	twin_timeline_add(t, "sig", "client", "-", name, note);
}

/*
 * --die: the twin's end without warning, as a test wants it to see what a
 * client does when its board goes (the clock, the GPIO socket, the
 * consoles' ptys and the USB devices, all at once). The timeline and the
 * state are written first, ending in the `die` line, so the test can see
 * up to where; nothing else is: no node is stopped, no device unplugged.
 */
static void twin_die(struct twin *t)
{
	char note[256];

	snprintf(note, sizeof(note), "--die: %s", t->opt.die_event);
	g_free(t->opt.die_event);
	t->opt.die_event = NULL; /* the line below must not fire it again */
	twin_timeline_add(t, "die", "twin", "-", "KILL", note);
	if (t->opt.timeline_file)
		(void)twin_timeline_write(t, t->opt.timeline_file);
	if (t->opt.state_file)
		(void)twin_board_state_write(t, t->opt.state_file);
	fflush(NULL);
	kill(getpid(), SIGKILL);
	_exit(137); /* not reached */
}

void twin_signal_event(struct twin *t, const char *line)
{
	if (t->opt.sig.sig && !t->opt.sig.fired && t->opt.sig.event &&
	    strstr(line, t->opt.sig.event))
		twin_signal_fire(t, t->opt.sig.event);
	if (t->opt.die_event && strstr(line, t->opt.die_event))
		twin_die(t);
}

void twin_signal_cmd(struct twin *t, unsigned slot, uint8_t op, uint64_t lba, uint32_t count)
{
	char why[96];

	if (!t->opt.sig.on_write || t->opt.sig.fired || op != t->opt.sig.op ||
	    (t->opt.sig.slot && t->opt.sig.slot != slot) || t->opt.sig.lba < lba || t->opt.sig.lba - lba >= count || ++t->opt.sig.seen < t->opt.sig.nth)
		return;
	snprintf(why, sizeof(why), "node%u %s %" PRIu64 " +%u, #%u covering LBA %" PRIu64,
		 slot, op == RK_WRITE_LBA ? "WRITE_LBA" : "READ_LBA", lba, count, t->opt.sig.seen, t->opt.sig.lba);
	twin_signal_fire(t, why);
}
