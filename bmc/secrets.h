/* SPDX-License-Identifier: MIT */
/*
 * The cluster's secrets (docs/config.md, "Secrets"), kept on the SD card so
 * that a re-flashed node gets the same identity again: the k3s cluster token,
 * and per slot the SSH host keys (ed25519, RSA 3072), the k3s node password
 * and the key that authenticates the node's reports. Each is generated with
 * OpenSSL's RNG the first time it is asked for and kept from then on.
 *
 *	<state>/secrets/                      0700
 *	<state>/secrets/cluster-token         0600  48 hex digits
 *	<state>/secrets/slotN/                0700
 *	    ssh_host_ed25519_key, ssh_host_rsa_key        0600  OpenSSH format
 *	    ssh_host_ed25519_key.pub, ssh_host_rsa_key.pub 0644
 *	    node-password                     0600  32 hex digits
 *	    report-key                        0600  64 hex digits (32 bytes)
 *
 * <state> is TPKIT_STATE_DIR (as given) or <root>CONFIG_TPKIT_STATE_DIR.
 * This is the only code that writes key material; it never logs or prints
 * a secret, only public keys and fingerprints.
 */
#ifndef TP_SECRETS_H
#define TP_SECRETS_H

#include <stdbool.h>
#include <stddef.h>

#include "sshkey.h"

#ifndef CONFIG_TPKIT_STATE_DIR
#define CONFIG_TPKIT_STATE_DIR "/mnt/sdcard/tpkit/state"
#endif

#define TP_SECRET_TOKEN_BYTES 24
#define TP_SECRET_NODE_PASSWORD_BYTES 16
#define TP_SECRET_REPORT_KEY_BYTES 32

struct tp_secrets {
	char dir[4096]; /* <state>/secrets */
	int lock_fd;    /* flock'ed while generating, so two tpkits agree */
};

/* Resolve the directory (state_dir NULL: environment or Kconfig); nothing is
 * created until a secret is asked for. */
int tp_secrets_init(struct tp_secrets *s, const char *state_dir);
void tp_secrets_close(struct tp_secrets *s);

/*
 * Make sure every secret exists: the cluster token and, for each slot in
 * slot_mask (bit 0 = slot 1), its host keys, node password and report key.
 * hostname names the keys' comments ("root@<hostname>"); may be NULL.
 * Existing secrets are checked and kept. 0 or -errno with a message.
 */
int tp_secrets_ensure(struct tp_secrets *s, unsigned slot_mask,
		      const char *const hostnames[5]);

/* The cluster token (hex text), created if missing. */
int tp_secrets_cluster_token(struct tp_secrets *s, char *buf, size_t size);
/* A slot's k3s node password (hex text), created if missing. */
int tp_secrets_node_password(struct tp_secrets *s, unsigned slot, char *buf, size_t size);
/* A slot's report key (32 raw bytes), created if missing. */
int tp_secrets_report_key(struct tp_secrets *s, unsigned slot,
			  unsigned char key[TP_SECRET_REPORT_KEY_BYTES]);

/*
 * A slot's host key, created if missing: the private key file text (malloc'ed;
 * free with tp_sshkey_free_text) and/or the public line. Either may be NULL.
 */
int tp_secrets_host_key(struct tp_secrets *s, unsigned slot, enum tp_sshkey_type t,
			const char *hostname, char **private_text, char *pub, size_t pub_size);

/*
 * Public facts only, never generating: the fingerprint of a slot's host key,
 * or -ENOENT (no message) if it was not generated yet.
 */
int tp_secrets_host_fingerprint(const struct tp_secrets *s, unsigned slot,
				enum tp_sshkey_type t, char *fp, size_t fp_size);

/* Where a secret lives (for tests and messages; the path is not secret). */
int tp_secrets_path(const struct tp_secrets *s, unsigned slot, const char *name, char *buf,
		    size_t size);

#endif
