/* SPDX-License-Identifier: MIT */
/*
 * What a running commissioning shows beyond its records
 * (docs/commission.md §12): a slot's flash progress and the kubeconfig
 * path a server's helper reported, as small notes in the state directory
 * beside the records, and one slot's row of the live table (its state
 * and phase) built from the record and the notes. Readers take no lock:
 * notes are replaced whole by rename, so a reader sees the old one or the
 * new one.
 *
 * Library code: it never prints.
 */
#ifndef TP_COMMISSION_LIVE_H
#define TP_COMMISSION_LIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/report.h"
#include "state.h"

/* Where k3s keeps the admin kubeconfig when the helper says nothing. */
#define TP_CLIVE_KUBECONFIG "/etc/rancher/k3s/k3s.yaml"

/* The flash's progress note ("write 42%"): replaced, not synced (it
 * matters only while the flash runs). remove: the flash ended. */
int tp_clive_progress_write(unsigned slot, const char *text);
void tp_clive_progress_remove(unsigned slot);

/* A verified report passed on: k3s_ready's "kubeconfig PATH" is kept
 * as the note commission-slotN.kubeconfig (durably: it outlives the run). */
void tp_clive_report(unsigned slot, const struct tp_report *r);

/* The kubeconfig path slot's helper reported: 0, or -ENOENT (none). */
int tp_clive_kubeconfig(unsigned slot, char *buf, size_t size);

/* The helper's step's place in its order (node/steps.def): 1.., and the
 * count; 0 for a name that is not a step (helper's own reports). */
unsigned tp_clive_step_index(const char *step, unsigned *count);

struct tp_clive_row {
	unsigned slot;
	int rc;              /* the record's load: 0, -ENOENT (none), -EBADMSG */
	struct tp_cslot rec;
	const char *state;   /* "damaged" for a damaged record */
	char phase[400];     /* printable */
	uint64_t changed;    /* the later of since and the last report */
	bool end;            /* done or failed */
};

/* Slot's row now. 0, or -errno (a record that could not be read). */
int tp_clive_row(unsigned slot, struct tp_clive_row *row);

#endif
