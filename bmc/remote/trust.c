// SPDX-License-Identifier: MIT
/*
 * Trust in a BMC's key (docs/remote.md section 1): its certificate is its
 * own, made at its first start, so no authority vouches for it; the key it
 * presents the first time is kept in the user's known_hosts, as ssh does,
 * and every later connection must present the same one.
 */
#include "remote_priv.h"
#include "common/base64.h"
#include "common/err.h"
#include "common/atomic.h"

#include <curl/curl.h>
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

void tp_remote_pin_load(struct tp_remote *r)
{
	FILE *f = fopen(r->hosts_file, "re");
	char line[512], pin[PIN_MAX];
	size_t l = strlen(r->name);

	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, r->name, l) && line[l] == ' ' &&
		    sscanf(line + l + 1, "%79s", pin) == 1 && !strncmp(pin, "sha256//", 8))
			memcpy(r->pin, pin, sizeof(pin));
	fclose(f);
}

int tp_remote_pin_of_pem(const char *pem, char *out, size_t size)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	int len = x ? i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der) : -1;
	int rc = -EPROTO;

	if (len > 0 && EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha256(), NULL) &&
	    size >= 8 + TP_BASE64_LEN(mdlen) + 1) {
		memcpy(out, "sha256//", 8);
		out[8 + tp_base64_encode(md, mdlen, out + 8, true)] = '\0';
		rc = 0;
	}
	OPENSSL_free(der);
	X509_free(x);
	BIO_free(bio);
	return rc;
}

int tp_remote_pin_save(struct tp_remote *r)
{
	struct curl_certinfo *ci = NULL;
	char pin[PIN_MAX];
	FILE *f;
	int rc;

	if (curl_easy_getinfo(r->curl, CURLINFO_CERTINFO, &ci) != CURLE_OK || !ci ||
	    ci->num_of_certs < 1)
		return tp_err_set(-EPROTO, "%s sent no certificate to pin", r->name);
	rc = -EPROTO;
	for (struct curl_slist *s = ci->certinfo[0]; s && rc; s = s->next)
		if (!strncmp(s->data, "Cert:", 5))
			rc = tp_remote_pin_of_pem(s->data + 5, pin, sizeof(pin));
	if (rc < 0)
		return tp_err_set(rc, "%s's certificate has no key tpkit can read", r->name);
	if ((rc = tp_dir_make(r->cache, 0700, 0)) < 0)
		return rc;
	/* Appended: the file is the user's list of servers, like ssh's. */
	if (!(f = fopen(r->hosts_file, "ae")))
		return tp_err_set(-errno, "cannot write %s: %s", r->hosts_file, strerror(errno));
	rc = fprintf(f, "%s %s\n", r->name, pin) < 0 ? -errno : 0;
	if (fclose(f) && !rc)
		rc = -errno;
	if (rc < 0)
		return tp_err_set(rc, "cannot write %s: %s", r->hosts_file, strerror(-rc));
	memcpy(r->pin, pin, sizeof(pin));
	r->pinned_now = true;
	return 0;
}

const char *tp_remote_pinned(const struct tp_remote *r, const char **file)
{
	if (!r->pinned_now)
		return NULL;
	if (file)
		*file = r->hosts_file;
	return r->pin;
}

void tp_remote_tls(const struct tp_remote *r, CURL *curl)
{
	/* The BMC's certificate is its own, made at its first start: no
	 * authority vouches for it. Its key is what identifies the server,
	 * pinned at first use (docs/remote.md section 1). */
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
	curl_easy_setopt(curl, CURLOPT_PINNEDPUBLICKEY, r->pin[0] ? r->pin : NULL);
	curl_easy_setopt(curl, CURLOPT_CERTINFO, r->pin[0] ? 0L : 1L);
}
