/* SPDX-License-Identifier: MIT */
/*
 * Following one slot's node while it is commissioned (docs/commission.md
 * §5): its console read through bmc/console.c, each verified report fed
 * to the slot's state (state.c), rejected lines logged and passed on but
 * never obeyed, and the console's known failure signatures recognised, so
 * that a timeout can say what the node showed.
 *
 * Library code: events go to the caller's callback. One monitor is used
 * by one thread.
 */
#ifndef TP_COMMISSION_MONITOR_H
#define TP_COMMISSION_MONITOR_H

#include <stdbool.h>
#include <stdint.h>

#include "bmc/console.h"
#include "state.h"

/* Something the runner tells its caller (and --json prints). */
struct tp_cevent {
	unsigned slot;
	const char *kind;   /* "flash", "power", "report", "rejected", "signature",
			     * "timeout", "retry", "failed", "done", "console" */
	const char *state;  /* the slot's state after it */
	const char *text;   /* printable */
};
typedef void (*tp_cevent_fn)(void *cookie, const struct tp_cevent *e);

struct tp_cmon {
	unsigned slot;
	struct tp_cslot *rec;     /* the slot's record, updated by reports */
	struct tp_console con;
	bool open;
	char unopened[160];       /* why the console could not be opened, if so */
	uint64_t deadline_ns;     /* tp_clock; 0: none */
	uint64_t bytes;           /* console bytes since armed */
	const char *signature;    /* the last failure signature seen, or NULL */
	bool urgent;              /* that signature needs no waiting (a panic) */
	/* The old NVMe system booted (commission.md §11): fatal stops the slot
	 * with no retry (a power cycle boots it again); with --wipe-nvme its
	 * guard is waited for first (wiping), and a second old boot is fatal. */
	bool fatal;
	bool wiping;
	unsigned old_boots;
	char fatal_why[2 * TP_CSLOT_TEXT_MAX];
	char foreign_id[40];      /* run id of another instance's helper: not obeyed */
	bool dirty;               /* rec changed: save it */
	tp_cevent_fn event;
	void *cookie;
};

/* Set m up for slot and its record; nothing is opened yet. */
void tp_cmon_init(struct tp_cmon *m, unsigned slot, struct tp_cslot *rec, tp_cevent_fn fn,
		  void *cookie);

/* Open the slot's console with its report key from the secrets (a fresh
 * replay window). 0 or -errno with a message. */
int tp_cmon_open(struct tp_cmon *m);

/* Without a UART: use key, and take bytes from tp_cmon_feed() only (for
 * tests, and for a console that arrives some other way). */
void tp_cmon_use_key(struct tp_cmon *m, const struct tp_report_key *key);

/* Handle bytes as if the console had them. 0 or -errno. */
int tp_cmon_feed(struct tp_cmon *m, const char *buf, size_t len);

/* Start the current state's timeout (states.def) from now, forget the
 * output and signatures seen so far. */
void tp_cmon_arm(struct tp_cmon *m);

/* Read and handle what the console has now: bytes read (> 0), 0 when
 * nothing, -EPIPE when it hung up, or -errno. */
int tp_cmon_read(struct tp_cmon *m);

/* Has the state's deadline passed (now on tp_clock), or did an urgent
 * signature or a fatal one (tp_cmon_fatal) show? */
bool tp_cmon_expired(const struct tp_cmon *m, uint64_t now_ns);

/* Why the slot gets no further, for the timeout: "no output at all",
 * "kernel panic", or "no verified report for N s". */
void tp_cmon_verdict(const struct tp_cmon *m, char *buf, size_t size);

/* Must the slot stop with no retry (the old NVMe system booted, §11)? */
bool tp_cmon_fatal(const struct tp_cmon *m);

/* Did the node say nothing at all since the state began (no signature,
 * nothing fatal)? Then its USB is worth a look before a retry (§5). */
bool tp_cmon_silent(const struct tp_cmon *m);

/* The kernel command line's root= against the roots the record expects
 * (the seeded one, the NVMe one reported after this flash): 1 and the
 * root in found when it is another UUID, or a /dev/nvme* device while no
 * NVMe root was reported; 0 when expected or not judged (PARTUUID=,
 * LABEL=, other devices, no root=). Pure, for tests. */
int tp_cmon_root_foreign(const struct tp_cslot *rec, const char *cmdline, size_t len,
			 char *found, size_t size);

/* The last console lines, printable, '\n'-separated. */
size_t tp_cmon_recent(const struct tp_cmon *m, char *buf, size_t size);

/* Close the console (the record stays the caller's). */
void tp_cmon_close(struct tp_cmon *m);

#endif
