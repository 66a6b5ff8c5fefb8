/* SPDX-License-Identifier: MIT */
/*
 * The record a running tpkit serve keeps in the state directory, so that
 * tpkit commands on the same BMC find it and go through it rather than
 * open the lines and UARTs it owns (docs/serve.md section 1). Written
 * once it listens, removed when it stops; a server killed outright leaves
 * it, and its pid, no longer running, tells so.
 */
#ifndef TP_SERVED_H
#define TP_SERVED_H

#include <limits.h>
#include <sys/types.h>

struct tp_served {
	pid_t pid;
	char addr[64];          /* where to reach it from this machine */
	int port;               /* its HTTPS port */
	char cert[PATH_MAX];    /* the PEM file with its certificate */
};

/* Keep the record for this process: https is its --https ("[ADDR:]PORT",
 * ADDR a wildcard or missing: reached on 127.0.0.1), port as bound. */
int tp_served_save(const char *https, int port, const char *cert);

/* The record of a server that runs: 1 and *s; 0 when there is none (or
 * only a dead one's); -errno when it cannot be read. */
int tp_served_load(struct tp_served *s);

void tp_served_remove(void);

#endif
