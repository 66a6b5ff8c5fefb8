// SPDX-License-Identifier: MIT
/*
 * Pending events on the virtual clock: a device that appears 300 ms after
 * power-on, a loader that re-enumerates after the download, a boot verdict.
 *
 * The clock only moves when a client sleeps (SLEEP) or when a USB transfer
 * takes simulated time, so events are run from the one place that moves
 * it, twin_board_clock_advance(): each with the clock set to its own time,
 * in (time, order added) order, so runs are repeatable.
 *
 * With --real-clock the clock also never runs behind real time: a tick, and
 * every NOW or SLEEP before it is answered, catch it up with the real time
 * elapsed since the twin started (SLEEP still moves it ahead at once). That
 * is for programs that wait on nodes running in real time (QEMU, --node-vm):
 * the board's own delays stay simulated, nothing waits for a client to sleep.
 */
#include <errno.h>

#include "twin.h"

struct twin_event {
	uint64_t at;
	uint64_t seq;
	twin_sched_fn fn;
	void *obj;
	uint64_t arg;
};

static gint twin_sched_cmp(gconstpointer a, gconstpointer b)
{
	const struct twin_event *x = a, *y = b;

	if (x->at != y->at)
		return x->at < y->at ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void twin_sched_add(struct twin *t, uint64_t at_ns, twin_sched_fn fn,
		    void *obj, uint64_t arg)
{
	struct twin_event *e = g_new0(struct twin_event, 1);

	/* An event is never in the past: "now" at the latest. */
	e->at = at_ns < t->board.now_ns ? t->board.now_ns : at_ns;
	e->seq = t->sched_seq++;
	e->fn = fn;
	e->obj = obj;
	e->arg = arg;
	t->sched = g_list_insert_sorted(t->sched, e, twin_sched_cmp);
}

/* Drop every pending event of OBJ (a node powered off, a device gone). */
void twin_sched_cancel(struct twin *t, void *obj)
{
	GList *l = t->sched;

	while (l) {
		GList *next = l->next;
		struct twin_event *e = l->data;

		if (e->obj == obj) {
			g_free(e);
			t->sched = g_list_delete_link(t->sched, l);
		}
		l = next;
	}
}

/*
 * Move the clock to TARGET, running every event due on the way. An event
 * may add events (also ones due before TARGET: they run in this call) but
 * must not move the clock itself; a nested call only moves it forward.
 */
int twin_sched_run_until(struct twin *t, uint64_t target_ns)
{
	if (target_ns < t->board.now_ns)
		return -EINVAL;
	if (t->sched_running) {
		t->board.now_ns = target_ns;
		return 0;
	}
	t->sched_running = true;
	while (t->sched) {
		struct twin_event *e = t->sched->data;

		if (e->at > target_ns)
			break;
		t->sched = g_list_delete_link(t->sched, t->sched);
		if (e->at > t->board.now_ns)
			t->board.now_ns = e->at;
		e->fn(t, e->obj, e->arg);
		g_free(e);
	}
	if (target_ns > t->board.now_ns)
		t->board.now_ns = target_ns;
	t->sched_running = false;
	return 0;
}

/* The time of the next pending event; false if there is none. */
bool twin_sched_next(struct twin *t, uint64_t *at_ns)
{
	if (!t->sched)
		return false;
	*at_ns = ((struct twin_event *)t->sched->data)->at;
	return true;
}

/* --real-clock: catch the clock up with real time (twin_sched_real_start). */
int twin_sched_real_catch_up(struct twin *t)
{
	uint64_t real;

	if (!t->opt.real_clock)
		return 0;
	real = (uint64_t)(g_get_monotonic_time() - t->real_start_us) * 1000u;
	return real > t->board.now_ns ? twin_sched_run_until(t, real) : 0;
}

static gboolean twin_sched_real_tick(gpointer data)
{
	struct twin *t = data;

	if (twin_sched_real_catch_up(t))
		twin_timeline_violation(t, "twin", "the clock could not follow real time");
	return G_SOURCE_CONTINUE;
}

void twin_sched_real_start(struct twin *t)
{
	if (!t->opt.real_clock)
		return;
	t->real_start_us = g_get_monotonic_time();
	t->real_src = g_timeout_add(TWIN_REAL_TICK_MS, twin_sched_real_tick, t);
}

void twin_sched_free(struct twin *t)
{
	if (t->real_src)
		g_source_remove(t->real_src);
	t->real_src = 0;
	g_list_free_full(t->sched, g_free);
	t->sched = NULL;
}
