// SPDX-License-Identifier: MIT
/*
 * A compatibility shim for one packaging of CivetWeb, built only where it
 * is needed (the Makefile's CIVETWEB_SSL_DL; serve.md §2).
 *
 * Debian 12's CivetWeb 1.15 loads OpenSSL at run time: dlopen("libssl.so"),
 * then dlsym() of each function it uses. One of them,
 * SSL_get_peer_certificate, is only a macro in OpenSSL 3 (for
 * SSL_get1_peer_certificate), so the lookup finds nothing, CivetWeb keeps
 * the NULL, and the first HTTPS request after the handshake calls it:
 * SIGSEGV (civetweb/civetweb#1334 reports the same lookup failing). Builds
 * that link OpenSSL instead (Buildroot's, -DNO_SSL_DL) compile the macro and
 * need nothing.
 *
 * This library's soname is "libssl.so" and it depends on the real
 * libssl.so.3. tpkit serve loads it before CivetWeb starts
 * (bmc/serve/http.c), so CivetWeb's dlopen("libssl.so") gets this
 * library, already loaded under that name, and each dlsym() searches it and
 * then OpenSSL: the one missing function is found here, and every other one
 * in OpenSSL itself.
 */
#include <openssl/ssl.h>

#undef SSL_get_peer_certificate
X509 *SSL_get_peer_certificate(const SSL *s);

X509 *SSL_get_peer_certificate(const SSL *s)
{
	/* OpenSSL 3's own definition of the old name (ssl.h). */
	return SSL_get1_peer_certificate(s);
}
