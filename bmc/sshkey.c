// SPDX-License-Identifier: MIT
/*
 * OpenSSH key encodings, written from OpenSSH's PROTOCOL.key and RFC 4253
 * 6.6 (docs/config.md, "Secrets"):
 *
 *   public blob  ed25519: string "ssh-ed25519", string pk[32]
 *                rsa:     string "ssh-rsa", mpint e, mpint n
 *   private file "openssh-key-v1\0", string "none" (cipher), string "none"
 *                (kdf), string "" (kdf options), uint32 1, string public
 *                blob, string private section, armoured in base64 lines of
 *                70 between BEGIN/END OPENSSH PRIVATE KEY.
 *   section      uint32 check, uint32 check (equal), string type, the key's
 *                private fields (ed25519: pk, seed||pk; rsa: n, e, d, iqmp,
 *                p, q), string comment, padding 1, 2, 3... to 8 bytes.
 */
#include "sshkey.h"
#include "common/base64.h"
#include "common/err.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAGIC "openssh-key-v1"
#define BEGIN "-----BEGIN OPENSSH PRIVATE KEY-----\n"
#define END "-----END OPENSSH PRIVATE KEY-----\n"

struct buf {
	unsigned char *p;
	size_t len, cap;
	int err;
};

/* Grows by copying into a fresh block and wiping the old one: key material
 * passes through here and realloc would leave copies behind. */
static void put(struct buf *b, const void *data, size_t n)
{
	if (b->err)
		return;
	if (b->len + n > b->cap) {
		size_t cap = (b->len + n) * 2 + 64;
		unsigned char *p = malloc(cap);

		if (!p) {
			b->err = -ENOMEM;
			return;
		}
		if (b->p) {
			memcpy(p, b->p, b->len);
			OPENSSL_cleanse(b->p, b->cap);
			free(b->p);
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
}

static void put_u32(struct buf *b, uint32_t v)
{
	unsigned char x[4] = { (unsigned char)(v >> 24), (unsigned char)(v >> 16),
			       (unsigned char)(v >> 8), (unsigned char)v };

	put(b, x, 4);
}

static void put_str(struct buf *b, const void *data, size_t n)
{
	put_u32(b, (uint32_t)n);
	put(b, data, n);
}

static void put_cstr(struct buf *b, const char *s)
{
	put_str(b, s, strlen(s));
}

/* mpint: big-endian, a leading zero byte when the top bit is set. */
static void put_bn(struct buf *b, const BIGNUM *bn)
{
	int n = BN_num_bytes(bn);
	unsigned char *x = malloc((size_t)n + 1);

	if (!x) {
		b->err = -ENOMEM;
		return;
	}
	x[0] = 0;
	BN_bn2bin(bn, x + 1);
	if (n > 0 && (x[1] & 0x80))
		put_str(b, x, (size_t)n + 1);
	else
		put_str(b, x + 1, (size_t)n);
	OPENSSL_cleanse(x, (size_t)n + 1);
	free(x);
}

static void buf_wipe(struct buf *b)
{
	if (b->p) {
		OPENSSL_cleanse(b->p, b->cap);
		free(b->p);
	}
	memset(b, 0, sizeof(*b));
}

const char *tp_sshkey_type_name(enum tp_sshkey_type t)
{
	return t == TP_SSHKEY_ED25519 ? "ssh-ed25519" : "ssh-rsa";
}

const char *tp_sshkey_file_tag(enum tp_sshkey_type t)
{
	return t == TP_SSHKEY_ED25519 ? "ed25519" : "rsa";
}

static int ossl_fail(const char *what)
{
	return tp_err_set(-EIO, "OpenSSL could not %s", what);
}

static EVP_PKEY *keygen(enum tp_sshkey_type t)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(t == TP_SSHKEY_ED25519 ? EVP_PKEY_ED25519 :
							   EVP_PKEY_RSA, NULL);
	EVP_PKEY *pk = NULL;

	if (!ctx || EVP_PKEY_keygen_init(ctx) <= 0 ||
	    (t == TP_SSHKEY_RSA && EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, TP_SSHKEY_RSA_BITS) <= 0) ||
	    EVP_PKEY_keygen(ctx, &pk) <= 0)
		pk = NULL;
	EVP_PKEY_CTX_free(ctx);
	return pk;
}

/* Public blob and private fields of a generated key. */
static int serialize(enum tp_sshkey_type t, EVP_PKEY *pk, struct buf *pub, struct buf *priv)
{
	if (t == TP_SSHKEY_ED25519) {
		unsigned char seed_pk[64];
		size_t n1 = 32, n2 = 32;

		if (EVP_PKEY_get_raw_private_key(pk, seed_pk, &n1) <= 0 ||
		    EVP_PKEY_get_raw_public_key(pk, seed_pk + 32, &n2) <= 0 || n1 != 32 || n2 != 32)
			return ossl_fail("export the ed25519 key");
		put_cstr(pub, "ssh-ed25519");
		put_str(pub, seed_pk + 32, 32);
		put_cstr(priv, "ssh-ed25519");
		put_str(priv, seed_pk + 32, 32);
		put_str(priv, seed_pk, 64);
		OPENSSL_cleanse(seed_pk, sizeof(seed_pk));
		return 0;
	}
	{
		static const char *const names[] = {
			OSSL_PKEY_PARAM_RSA_N, OSSL_PKEY_PARAM_RSA_E, OSSL_PKEY_PARAM_RSA_D,
			OSSL_PKEY_PARAM_RSA_COEFFICIENT1, OSSL_PKEY_PARAM_RSA_FACTOR1,
			OSSL_PKEY_PARAM_RSA_FACTOR2
		};
		BIGNUM *v[6] = { 0 };
		int rc = 0;

		for (int i = 0; i < 6; i++)
			if (EVP_PKEY_get_bn_param(pk, names[i], &v[i]) <= 0)
				rc = ossl_fail("export the RSA key");
		if (rc == 0) {
			put_cstr(pub, "ssh-rsa");
			put_bn(pub, v[1]);
			put_bn(pub, v[0]);
			put_cstr(priv, "ssh-rsa");
			/* n, e, d, iqmp, p, q: the order of PROTOCOL.key's RSA key. */
			for (int i = 0; i < 6; i++)
				put_bn(priv, v[i]);
		}
		for (int i = 0; i < 6; i++)
			BN_clear_free(v[i]);
		return rc;
	}
}

int tp_sshkey_generate(enum tp_sshkey_type t, const char *comment, char **private_text)
{
	struct buf pub = { 0 }, sect = { 0 }, file = { 0 };
	EVP_PKEY *pk;
	uint32_t check;
	char *text = NULL;
	size_t o;
	int rc;

	*private_text = NULL;
	pk = keygen(t);
	if (!pk)
		return ossl_fail(t == TP_SSHKEY_RSA ? "generate an RSA key" : "generate an ed25519 key");
	if (RAND_bytes((unsigned char *)&check, sizeof(check)) != 1) {
		rc = ossl_fail("draw random bytes");
		goto out;
	}
	put_u32(&sect, check);
	put_u32(&sect, check);
	if ((rc = serialize(t, pk, &pub, &sect)) < 0)
		goto out;
	put_cstr(&sect, comment ? comment : "");
	for (unsigned char pad = 1; sect.len % 8; pad++)
		put(&sect, &pad, 1);
	put(&file, MAGIC, sizeof(MAGIC)); /* with its NUL */
	put_cstr(&file, "none");
	put_cstr(&file, "none");
	put_cstr(&file, "");
	put_u32(&file, 1);
	put_str(&file, pub.p, pub.len);
	put_str(&file, sect.p, sect.len);
	if ((rc = pub.err ? pub.err : sect.err ? sect.err : file.err) < 0) {
		tp_err_set(rc, "out of memory encoding a host key");
		goto out;
	}
	{
		size_t b64len = TP_BASE64_LEN(file.len);
		char *b64 = malloc(b64len + 1);

		text = malloc(sizeof(BEGIN) + b64len + b64len / 70 + 2 + sizeof(END));
		if (!b64 || !text) {
			free(b64);
			rc = tp_err_set(-ENOMEM, "out of memory encoding a host key");
			goto out;
		}
		tp_base64_encode(file.p, file.len, b64, true);
		o = (size_t)sprintf(text, "%s", BEGIN);
		for (size_t i = 0; i < b64len; i += 70) {
			size_t n = b64len - i < 70 ? b64len - i : 70;

			memcpy(text + o, b64 + i, n);
			o += n;
			text[o++] = '\n';
		}
		strcpy(text + o, END);
		OPENSSL_cleanse(b64, b64len);
		free(b64);
	}
	*private_text = text;
	text = NULL;
	rc = 0;
out:
	EVP_PKEY_free(pk);
	buf_wipe(&pub);
	buf_wipe(&sect);
	buf_wipe(&file);
	tp_sshkey_free_text(text);
	return rc;
}

void tp_sshkey_free_text(char *text)
{
	if (text) {
		OPENSSL_cleanse(text, strlen(text));
		free(text);
	}
}

struct rd {
	const unsigned char *p;
	size_t left;
};

static int get_u32(struct rd *r, uint32_t *v)
{
	if (r->left < 4)
		return -1;
	*v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 | (uint32_t)r->p[2] << 8 | r->p[3];
	r->p += 4;
	r->left -= 4;
	return 0;
}

static int get_str(struct rd *r, const unsigned char **s, size_t *n)
{
	uint32_t len;

	if (get_u32(r, &len) < 0 || len > r->left)
		return -1;
	*s = r->p;
	*n = len;
	r->p += len;
	r->left -= len;
	return 0;
}

static bool str_is(const unsigned char *s, size_t n, const char *want)
{
	return n == strlen(want) && !memcmp(s, want, n);
}

static int fingerprint(const unsigned char *blob, size_t n, char *fp, size_t fp_size)
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	char b64[TP_BASE64_LEN(32) + 1];

	if (EVP_Digest(blob, n, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
		return ossl_fail("hash a public key");
	tp_base64_encode(md, 32, b64, false);
	snprintf(fp, fp_size, "SHA256:%s", b64);
	return 0;
}

int tp_sshkey_public(enum tp_sshkey_type t, const char *private_text, char *pub,
		     size_t pub_size, char *fp, size_t fp_size)
{
	const char *b = strstr(private_text, BEGIN), *e = strstr(private_text, END);
	const unsigned char *s, *blob = NULL, *sect, *comment = NULL;
	size_t n, bloblen = 0, sectlen, commentlen = 0;
	unsigned char *raw = NULL;
	char *b64 = NULL;
	struct rd r, rs;
	uint32_t nkeys, c1, c2;
	long rawlen;
	size_t k = 0;
	int rc = -EINVAL;

	if (!b || !e || e < b)
		return tp_err_set(-EINVAL, "not an OpenSSH private key file");
	b += strlen(BEGIN);
	b64 = malloc((size_t)(e - b) + 1);
	raw = malloc((size_t)(e - b));
	if (!b64 || !raw) {
		rc = tp_err_set(-ENOMEM, "out of memory reading a host key");
		goto out;
	}
	for (const char *p = b; p < e; p++)
		if (*p != '\n' && *p != '\r')
			b64[k++] = *p;
	rawlen = tp_base64_decode(b64, k, raw);
	r.p = raw;
	r.left = rawlen < 0 ? 0 : (size_t)rawlen;
	if (rawlen < (long)sizeof(MAGIC) || memcmp(raw, MAGIC, sizeof(MAGIC)))
		goto bad;
	r.p += sizeof(MAGIC);
	r.left -= sizeof(MAGIC);
	if (get_str(&r, &s, &n) || !str_is(s, n, "none") || get_str(&r, &s, &n) ||
	    !str_is(s, n, "none") || get_str(&r, &s, &n) || n || get_u32(&r, &nkeys) ||
	    nkeys != 1 || get_str(&r, &blob, &bloblen) || get_str(&r, &sect, &sectlen))
		goto bad;
	rs.p = blob;
	rs.left = bloblen;
	if (get_str(&rs, &s, &n) || !str_is(s, n, tp_sshkey_type_name(t)))
		goto bad;
	/* The comment sits in the (unencrypted) private section, after the
	 * type's fields: 2 strings for ed25519, 6 mpints for RSA. */
	rs.p = sect;
	rs.left = sectlen;
	if (get_u32(&rs, &c1) || get_u32(&rs, &c2) || c1 != c2 || get_str(&rs, &s, &n) ||
	    !str_is(s, n, tp_sshkey_type_name(t)))
		goto bad;
	for (int i = 0; i < (t == TP_SSHKEY_ED25519 ? 2 : 6); i++)
		if (get_str(&rs, &s, &n))
			goto bad;
	if (get_str(&rs, &comment, &commentlen))
		goto bad;
	if (fp && (rc = fingerprint(blob, bloblen, fp, fp_size)) < 0)
		goto out;
	if (pub) {
		char enc[TP_SSHKEY_PUB_MAX];

		if (TP_BASE64_LEN(bloblen) >= sizeof(enc))
			goto bad;
		tp_base64_encode(blob, bloblen, enc, true);
		snprintf(pub, pub_size, "%s %s%s%.*s", tp_sshkey_type_name(t), enc,
			 commentlen ? " " : "", (int)commentlen, (const char *)comment);
	}
	rc = 0;
	goto out;
bad:
	rc = tp_err_set(-EINVAL, "not an unencrypted OpenSSH %s private key",
			tp_sshkey_type_name(t));
out:
	if (raw) {
		OPENSSL_cleanse(raw, (size_t)(e - b));
		free(raw);
	}
	if (b64) {
		OPENSSL_cleanse(b64, (size_t)(e - b) + 1);
		free(b64);
	}
	return rc;
}

int tp_sshkey_fingerprint_line(const char *pub_line, char *fp, size_t fp_size)
{
	const char *p = strchr(pub_line, ' ');
	size_t n;
	unsigned char *blob;
	long len;
	int rc;

	if (!p)
		return tp_err_set(-EINVAL, "not a public key line");
	p++;
	n = strcspn(p, " \t\n");
	blob = malloc(n / 4 * 3 + 3);
	if (!blob)
		return tp_err_set(-ENOMEM, "out of memory");
	len = tp_base64_decode(p, n, blob);
	rc = len < 0 ? tp_err_set(-EINVAL, "not a public key line")
		     : fingerprint(blob, (size_t)len, fp, fp_size);
	free(blob);
	return rc;
}
