/* SPDX-License-Identifier: MIT */
/*
 * tpkit serve's authentication, as bmcd's (docs/serve.md "Authentication",
 * serve.md §3): users and their crypt(3) hashes from <root>/etc/shadow,
 * random 64-character tokens with a sliding expiry, Bearer and Basic
 * checks, and a per-peer ban after repeated failures. Thread-safe: the
 * server's worker threads share one tp_auth.
 *
 * Library code: never prints, never logs a password or a token.
 */
#ifndef TP_SERVE_AUTH_H
#define TP_SERVE_AUTH_H

#include <stddef.h>
#include <stdint.h>

#define TP_AUTH_TOKEN_LEN 64 /* alphanumeric characters, as bmcd's */
#define TP_AUTH_REALM "Access to Baseboard Management Controller"

struct tp_auth_opts {
	const char *shadow;       /* path under the root; NULL: "/etc/shadow" */
	unsigned attempts;        /* failures before a ban; 0: 5 */
	unsigned token_expiry_s;  /* sliding lifetime; 0: 10800 */
	unsigned ban_base_ms;     /* first ban; doubles per failure after; 0: 60000 */
	uint64_t (*now_ms)(void); /* monotonic milliseconds; NULL: CLOCK_MONOTONIC */
};

/* Why a request or a login was refused: the HTTP status, the
 * WWW-Authenticate header to send ("" for none) and the plain-text body. */
struct tp_auth_denial {
	int status; /* 401, or 403 for logins */
	char www_authenticate[256];
	char reason[256];
};

struct tp_auth;

int tp_auth_new(struct tp_auth **a, const struct tp_auth_opts *o);
void tp_auth_free(struct tp_auth *a);

/*
 * POST /api/bmc/authenticate: 0 and a new token (NUL-terminated) on
 * success; else -EACCES with d filled (403: "credentials incorrect", or the
 * ban's "Exceeded allowed authentication attempts. Access blocked for 1m").
 * peer is the client's address as text, the key of the ban.
 */
int tp_auth_login(struct tp_auth *a, const char *peer, const char *user, const char *password,
		  char token[TP_AUTH_TOKEN_LEN + 1], struct tp_auth_denial *d);

/*
 * An API request's Authorization header (NULL when absent): 0 if it
 * carries a live Bearer token or valid Basic credentials (the token's clock
 * restarts); else -EACCES with d filled as serve.md §3 says (401 and its
 * WWW-Authenticate). An unknown token or bad credentials count towards the
 * peer's ban; an expired token does not.
 */
int tp_auth_check(struct tp_auth *a, const char *peer, const char *authorization,
		  struct tp_auth_denial *d);

#endif
