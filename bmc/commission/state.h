/* SPDX-License-Identifier: MIT */
/*
 * A slot's commissioning state (docs/commission.md §2, §3): where the slot
 * is in flash → seed → boot → helper steps → done, as an enum with one
 * table (states.def) of timeouts, retries and the normal next state, and
 * the record that keeps it across runs and BMC reboots: one small
 * key=value file per slot in the state directory (common/state.h),
 * written whole with fsync, so a run killed at any point leaves the last
 * state or the one before it.
 *
 * Library code: it never prints. Times are wall-clock seconds, for
 * people (tpkit status's age); the timeouts themselves are measured by
 * the runner on tp_clock.
 */
#ifndef TP_COMMISSION_STATE_H
#define TP_COMMISSION_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/report.h"

enum tp_cstate {
#define STATE(id, name, timeout_s, retries, next, text) TP_CS_##id,
#include "states.def"
#undef STATE
	TP_CS_COUNT
};

struct tp_cstate_row {
	const char *name;
	unsigned timeout_s;   /* 0: none */
	unsigned retries;
	enum tp_cstate next;
	const char *text;
};

/* The table's row for s (NULL for a value outside the enum). */
const struct tp_cstate_row *tp_cstate_row(enum tp_cstate s);
const char *tp_cstate_name(enum tp_cstate s);
/* The state called name: 0 or -EINVAL. */
int tp_cstate_parse(const char *name, enum tp_cstate *s);

/* What a timeout asks the runner to do (docs/commission.md §3). */
enum tp_cretry {
	TP_CRETRY_NONE,        /* no retry left: the slot is FAILED now */
	TP_CRETRY_POWER_CYCLE, /* power off, on: back to BOOTING */
	TP_CRETRY_REFLASH,     /* flash and seed again: back to FLASHING */
};

#define TP_CSLOT_TEXT_MAX 256

struct tp_cslot {
	unsigned slot;
	enum tp_cstate state;
	uint64_t since;            /* when the state was entered */
	char module[8];            /* "rk1", "cm4": what the flash found */
	char image[128];           /* the catalogue entry or file written */
	char sha256[65];
	char instance_id[80];      /* cloud-init's instance-id of the seeding */
	char root_uuid[37];        /* the seeded root file system */
	/* The root the node helper moved to the NVMe after this flash
	 * (its migrate report), the other root that may boot (§11). */
	char nvme_root_uuid[37];
	char wipe_nvme[4];         /* "yes": this flash seeded wipe_nvme (§11) */
	unsigned attempts;         /* retries used since the last progress */
	unsigned flashes;          /* flashes commissioning made of this slot */
	char step[32];             /* the last verified report */
	char event[16];
	char text[TP_CSLOT_TEXT_MAX];
	uint64_t report_time;      /* 0: no report yet */
	char reason[2 * TP_CSLOT_TEXT_MAX]; /* FAILED: why (the console lines go to the log) */
};

/* How the old-NVMe verdict's reason begins (docs/commission.md §11): the
 * plan flashes such a slot again only with --wipe-nvme or --reflash. */
#define TP_CSLOT_OLD_NVME "the old NVMe system booted"

/* That reason: what showed it (seen), and the way out for slot s. */
void tp_cslot_old_nvme_reason(const struct tp_cslot *s, const char *seen, char *buf,
			      size_t size);

/* A fresh record: slot, state NEW, nothing known. */
void tp_cslot_init(struct tp_cslot *s, unsigned slot);

/* Enter state to at time now (the caller saves). */
void tp_cslot_enter(struct tp_cslot *s, enum tp_cstate to, uint64_t now);

/* A verified report from the slot's node helper moves the state
 * (docs/commission.md §2's report table): recorded as the last report;
 * progress resets the attempts. Returns the state now. */
enum tp_cstate tp_cslot_report(struct tp_cslot *s, const struct tp_report *r, uint64_t now);

/* The state's timeout passed without progress: take the next retry (the
 * attempts count it) or, with none left, enter FAILED with reason. */
enum tp_cretry tp_cslot_timeout(struct tp_cslot *s, uint64_t now, const char *reason);

/* The same for a timeout that only a flash can mend (a module sitting in
 * its boot ROM): the power cycle is skipped, the attempt still counted. */
enum tp_cretry tp_cslot_timeout_flash(struct tp_cslot *s, uint64_t now, const char *reason);

/* Stop the slot: FAILED with reason. */
void tp_cslot_fail(struct tp_cslot *s, uint64_t now, const char *reason);

/* The record as text (key=value lines), and back. parse: 0, or -EBADMSG
 * with a message naming what (a damaged record is never half-used). */
int tp_cslot_format(const struct tp_cslot *s, char *buf, size_t size);
int tp_cslot_parse(struct tp_cslot *s, unsigned slot, const char *text, const char *name);

/* The record's name in the state directory: "commission-slotN". */
void tp_cslot_record_name(unsigned slot, char *buf, size_t size);

/* Load slot's record: 0; -ENOENT (s is a fresh NEW record, no message);
 * -EBADMSG (damaged, with a message); -errno. */
int tp_cslot_load(struct tp_cslot *s, unsigned slot);

/* Save the record durably (atomic replace, fsync). 0 or -errno. */
int tp_cslot_save(const struct tp_cslot *s);

/* The commissioning lock (docs/commission.md §7): taken for the whole run
 * in the state directory, released when the process ends however it
 * ends. 0 and *fd; -EBUSY with "another tpkit commission is running (pid
 * N)"; -errno. */
int tp_commission_lock(int *fd);
void tp_commission_unlock(int fd);

#endif
