/* SPDX-License-Identifier: MIT */
/*
 * SSH host keys in OpenSSH's own formats (docs/config.md, "Secrets"): key
 * generation through OpenSSL's EVP API, the private key as an unencrypted
 * "openssh-key-v1" file (what ssh-keygen writes; sshd reads it on every
 * OpenSSH since 6.5, whereas Debian 12's OpenSSH 9.2 refuses ed25519 in
 * PEM PKCS#8: docs/config.md, "Secrets"), the
 * public key as an authorized_keys/known_hosts line, and its SHA256
 * fingerprint as ssh-keygen -l prints it. No file I/O here: secrets.c stores.
 */
#ifndef TP_SSHKEY_H
#define TP_SSHKEY_H

#include <stddef.h>

enum tp_sshkey_type { TP_SSHKEY_ED25519, TP_SSHKEY_RSA, TP_SSHKEY_NTYPES };

#define TP_SSHKEY_RSA_BITS 3072
/* "SHA256:" + 43 base64 characters. */
#define TP_SSHKEY_FP_MAX 64
/* A public key line: an RSA 3072 blob is 407 bytes, 544 in base64. */
#define TP_SSHKEY_PUB_MAX 1024

/* "ssh-ed25519", "ssh-rsa" */
const char *tp_sshkey_type_name(enum tp_sshkey_type t);
/* "ed25519", "rsa": the part of sshd's file name ssh_host_<x>_key */
const char *tp_sshkey_file_tag(enum tp_sshkey_type t);

/*
 * Generate a key and return its OpenSSH private key file text (malloc'ed,
 * the caller frees it with tp_sshkey_free_text, which wipes it first).
 * comment goes into the key ("root@turing-2"). 0 or -errno with a message.
 */
int tp_sshkey_generate(enum tp_sshkey_type t, const char *comment, char **private_text);

/*
 * From a private key file text written by tp_sshkey_generate: the public
 * line "TYPE BASE64 COMMENT" and its fingerprint. Either output may be NULL.
 * -EINVAL if the text is not an unencrypted openssh-key-v1 file of type t.
 */
int tp_sshkey_public(enum tp_sshkey_type t, const char *private_text, char *pub,
		     size_t pub_size, char *fp, size_t fp_size);

/* The SHA256 fingerprint of a public key line ("TYPE BASE64 ..."). */
int tp_sshkey_fingerprint_line(const char *pub_line, char *fp, size_t fp_size);

void tp_sshkey_free_text(char *text);

#endif
