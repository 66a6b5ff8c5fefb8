/* SPDX-License-Identifier: MIT */
/*
 * Time for hardware sequences and polling. Every delay tpkit makes goes
 * through here, so the board twin can supply a virtual clock: tests then run
 * instantly and see exact, repeatable timings instead of racing real sleeps.
 */
#ifndef TP_CLOCK_H
#define TP_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

struct tp_clock_ops {
	const char *name;
	int (*now_ns)(void *cookie, uint64_t *ns);
	int (*sleep_ns)(void *cookie, uint64_t ns);
	void (*close)(void *cookie); /* may be NULL */
	/* Does this clock move by itself, as real time does? NULL: it moves
	 * only when someone sleeps on it (tp_clock_virtual). */
	bool (*self_moving)(void *cookie);
};

/* Replace the process clock (NULL restores the monotonic system clock). */
void tp_clock_use(const struct tp_clock_ops *ops, void *cookie);

/*
 * Choose the process clock once, at start: spec "system", or "sim:SOCKET"
 * for the board twin's virtual clock (CONFIG_TPKIT_CLOCK_SIM); NULL or ""
 * means $TPKIT_CLOCK, else "system". 0 or -errno with a message.
 */
int tp_clock_open(const char *spec);

/* Back to the system clock, the chosen one's resources freed. */
void tp_clock_close(void);

#ifdef CONFIG_TPKIT_CLOCK_SIM
/* The board twin's virtual clock over its socket (clock_sim.c). */
int tp_clock_sim_open(const char *socket_path);
#endif

/* Is the process clock a virtual one (the twin's), which moves only when
 * someone sleeps on it? A loop that waits for real-time input (a node's
 * console) then moves it on itself once the input has been quiet. False
 * for the system clock and for a twin run with --real-clock, whose clock
 * never runs behind real time (docs/twin.md, "Virtual time"). */
bool tp_clock_virtual(void);

/* Monotonic nanoseconds; on a clock failure returns 0, and the failure is
 * kept for tp_clock_error(). */
uint64_t tp_clock_now_ns(void);

/* CLOCK_MONOTONIC nanoseconds, whatever clock the process runs on: for
 * times that are the user's, not the board's (how long to follow another
 * BMC's console), which a twin's virtual clock must not stretch. */
uint64_t tp_clock_real_ns(void);

/*
 * 0, or the -errno of the first failed tp_clock_now_ns() since the clock was
 * chosen, its message made current again. A loop that sleeps through
 * tp_clock_sleep_ms() stops when the clock is lost, as its sleep fails; one
 * that waits in poll() and judges deadlines by the clock alone (the
 * commissioning loop) asks this before judging any, or it would wait for
 * ever on a clock that reads 0 (the twin gone).
 */
int tp_clock_error(void);

/* 0 or -errno (a lost twin connection, say). A poll loop's sleep: once a
 * signal has cancelled the job (common/cancel.h) it fails at once with
 * -ECANCELED. */
int tp_clock_sleep_ms(unsigned ms);

/* The same wait, but not cancellable: a settle time inside a hardware
 * sequence that must run to its end (a slot's power-off while flash mode
 * is being left after a cancel), where stopping half-way would leave the
 * board in a state nobody chose. */
int tp_clock_delay_ms(unsigned ms);

#endif
