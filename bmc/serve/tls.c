// SPDX-License-Identifier: MIT
/*
 * tpkit serve's TLS identity (serve.md §2): the user's PEM
 * file when one is given, else one made at the first start and kept in the
 * state directory, as bmcd's first start makes its own. bmcd makes an
 * RSA-4096 key, which takes the BMC's Cortex-A7 seconds to minutes; a
 * P-256 key takes milliseconds and every client of this API accepts it.
 *
 *	<state>/serve/             0700
 *	<state>/serve/server.pem   0600  the private key, then the certificate
 */
#include "serve.h"
#include "common/atomic.h"
#include "common/err.h"
#include "common/state.h"

#include <errno.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CERT_DAYS 3650
#define CERT_CN "Turing-Pi tpkit self signed"

/* A P-256 key and a self-signed certificate for it, as PEM text in out. */
static int make(BIO *out)
{
	unsigned char serial[16];
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *name;
	BIGNUM *bn = NULL;
	int rc = -EIO;

	if (!key || !x || RAND_bytes(serial, sizeof(serial)) != 1)
		goto out;
	serial[0] &= 0x7f; /* a positive serial number (RFC 5280, section 4.1.2.2) */
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	name = X509_get_subject_name(x);
	if (!bn || !X509_set_version(x, 2) || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), (long)CERT_DAYS * 86400) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
					(const unsigned char *)CERT_CN, -1, -1, 0) ||
	    !X509_set_issuer_name(x, name) || !X509_set_pubkey(x, key) ||
	    !X509_sign(x, key, EVP_sha256()))
		goto out;
	if (PEM_write_bio_PrivateKey(out, key, NULL, NULL, 0, NULL, NULL) == 1 &&
	    PEM_write_bio_X509(out, x) == 1)
		rc = 0;
out:
	BN_free(bn);
	X509_free(x);
	EVP_PKEY_free(key);
	if (rc < 0)
		tp_err_set(rc, "OpenSSL could not make the server's key and certificate");
	return rc;
}

int tp_tls_ensure(const char *user_cert, char *path, size_t size)
{
	char dir[4096];
	BIO *mem;
	char *pem;
	long len;
	int rc;

	if (user_cert) {
		if (access(user_cert, R_OK) < 0)
			return tp_err_set(-errno, "cannot read the certificate file %s: %s "
					  "(--cert takes a PEM file with the key and the "
					  "certificate)", user_cert, strerror(errno));
		snprintf(path, size, "%s", user_cert);
		return 0;
	}
	if ((rc = tp_state_dir(dir, sizeof(dir))) < 0)
		return rc;
	if (strlen(dir) + sizeof("/serve/server.pem") > size || strlen(dir) + 8 > sizeof(dir))
		return tp_err_set(-ENAMETOOLONG, "the state directory's path is too long");
	strcat(dir, "/serve");
	snprintf(path, size, "%s/server.pem", dir);
	if (access(path, R_OK) == 0)
		return 0;
	if ((rc = tp_dir_make(dir, 0700, 1)) < 0)
		return rc;
	if (!(mem = BIO_new(BIO_s_mem())))
		return tp_err_set(-ENOMEM, "out of memory");
	if ((rc = make(mem)) == 0) {
		len = BIO_get_mem_data(mem, &pem);
		rc = tp_file_write_atomic(path, pem, (size_t)len, 0600);
		OPENSSL_cleanse(pem, (size_t)len);
	}
	BIO_free(mem);
	return rc;
}
