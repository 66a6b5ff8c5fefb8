// SPDX-License-Identifier: MIT
/*
 * The running tpkit serve's record (served.h): one line in the state
 * directory, "PID ADDR PORT CERT".
 */
#include "served.h"
#include "common/err.h"
#include "common/state.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define RECORD "serve-endpoint"

int tp_served_save(const char *https, int port, const char *cert)
{
	const char *colon = strrchr(https, ':');
	char addr[64] = "127.0.0.1", text[PATH_MAX + 128];

	/* A server bound to one address is reached there; one bound to all
	 * of them on loopback, where no login is asked. */
	if (colon && colon != https && (size_t)(colon - https) < sizeof(addr)) {
		snprintf(addr, sizeof(addr), "%.*s", (int)(colon - https), https);
		if (!strcmp(addr, "0.0.0.0") || !strcmp(addr, "[::]") || !strcmp(addr, "*"))
			snprintf(addr, sizeof(addr), "127.0.0.1");
	}
	snprintf(text, sizeof(text), "%d %s %d %s\n", (int)getpid(), addr, port, cert);
	return tp_state_save(RECORD, text);
}

int tp_served_load(struct tp_served *s)
{
	char text[PATH_MAX + 128];
	int pid, rc = tp_state_load(RECORD, text, sizeof(text));

	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	if (sscanf(text, "%d %63s %d %4095[^\n]", &pid, s->addr, &s->port, s->cert) != 4 ||
	    pid <= 0)
		return tp_err_set(-EINVAL, "the record of a running tpkit serve (%s in the state "
				  "directory) is not \"PID ADDR PORT CERT\"; if no server runs, "
				  "delete it", RECORD);
	s->pid = pid;
	/* A server killed outright (kill -9, the BMC's power) left it. */
	if (kill(pid, 0) < 0 && errno == ESRCH)
		return 0;
	return 1;
}

void tp_served_remove(void)
{
	tp_state_remove(RECORD);
}
