/* SPDX-License-Identifier: MIT */
/*
 * What bmc/remote/'s client files share and nothing else sees: the
 * connection's state (client.c makes it, trust.c pins its key, ws.c opens
 * a websocket with its address, key and token).
 */
#ifndef TP_REMOTE_PRIV_H
#define TP_REMOTE_PRIV_H

#include "remote.h"

#include <curl/curl.h>
#include <limits.h>

/* The most a reply may hold: the largest is a 16 KiB console ring, which
 * escaped in JSON can take six bytes a byte. */
#define REPLY_MAX (256u * 1024)

#define PIN_MAX 80 /* "sha256//" and 44 characters of base64 */

struct tp_remote {
	CURL *curl;
	char name[280];          /* host:port */
	char base[300];          /* https://host:port */
	char cache[PATH_MAX];    /* the cache directory */
	char token_file[PATH_MAX + 300];
	char hosts_file[PATH_MAX + 20];
	char token[160];
	char pin[PIN_MAX];
	bool pinned_now;
	const char *user, *password;
	char *reply;
	size_t reply_len;
	bool reply_overflow;
	bool tpkit;              /* a reply's Server header named tpkit serve */
};

/* The pin known for r->name, from the known_hosts file: "host:port
 * sha256//..."; none leaves r->pin empty. */
void tp_remote_pin_load(struct tp_remote *r);

/* The SHA-256 of a PEM certificate's public key (its DER
 * SubjectPublicKeyInfo), as libcurl's CURLOPT_PINNEDPUBLICKEY takes it:
 * "sha256//BASE64". 0 or -EPROTO. */
int tp_remote_pin_of_pem(const char *pem, char *out, size_t size);

/* After the first request to a server not seen before: its key appended to
 * known_hosts and kept in r->pin. 0 or -errno with a message. */
int tp_remote_pin_save(struct tp_remote *r);

/* Make a handle ready for r's server: its key pinned (or, before the first
 * use, the certificate asked for), no authority checked. */
void tp_remote_tls(const struct tp_remote *r, CURL *curl);

#endif
