// SPDX-License-Identifier: MIT
/*
 * CivetWeb glue for tpkit serve (serve.md §2), and nothing
 * about the API: the listeners (HTTPS for the API and the web UI; plain
 * HTTP for bmcd's 308 redirect and its unauthenticated GET /info), TLS,
 * the web UI's files with bmcd's index.html fallback, and sending bodies.
 */
#include "serve.h"
#include "common/err.h"
#include "common/log.h"

#include <arpa/inet.h>
#include <civetweb.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int tp_http_send(struct tp_req *r, int status, const char *type, const char *body,
		 size_t len, const char *headers)
{
	/* HTTP/1.1 with a length: keep-alive stays possible, and tpi's
	 * reqwest reads exactly the body. Server names tpkit, which bmcd's
	 * clients ignore and tpkit --host reads (remote.md section 4). */
	mg_printf(r->conn,
		  "HTTP/1.1 %d %s\r\nServer: tpkit/" TPKIT_VERSION "\r\nContent-Type: %s\r\n"
		  "Content-Length: %zu\r\nCache-Control: no-store\r\n%s\r\n",
		  status, mg_get_response_code_text(r->conn, status), type, len,
		  headers ? headers : "");
	if (len && strcmp(r->ri->request_method, "HEAD"))
		mg_write(r->conn, body, len);
	return status;
}

int tp_http_body(struct tp_req *r, char *buf, size_t size)
{
	long long want = r->ri->content_length;
	size_t got = 0;
	int n;

	if (want <= 0 || (unsigned long long)want >= size)
		return tp_err_set(-EMSGSIZE, "a body of 1-%zu bytes with its Content-Length is "
				  "expected", size - 1);
	while (got < (size_t)want && (n = mg_read(r->conn, buf + got, (size_t)want - got)) > 0)
		got += (size_t)n;
	if (got != (size_t)want)
		return tp_err_set(-EPIPE, "the body was cut off at %zu of %lld bytes", got, want);
	buf[got] = '\0';
	return (int)got;
}

bool tp_http_peer_loopback(const char *peer)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (inet_pton(AF_INET, peer, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, peer, &a6) != 1)
		return false;
	if (IN6_IS_ADDR_LOOPBACK(&a6))
		return true;
	return IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127;
}

/* Port 80: bmcd's 308 to the same host on the HTTPS port, path and query
 * kept (serve.md §2). The Host header's own port, if any, is replaced. */
static int redirect(struct tp_req *r)
{
	const char *host = mg_get_header(r->conn, "Host");
	char name[256], hdr[1024 + 300];
	size_t n;

	if (!host || !*host)
		host = "localhost";
	n = strcspn(host, ":");
	if (n >= sizeof(name) || strpbrk(host, "\r\n/ "))
		return tp_http_send(r, 400, "text/plain", "bad Host header\n", 16, NULL);
	memcpy(name, host, n);
	name[n] = '\0';
	snprintf(hdr, sizeof(hdr), "Location: https://%s:%d%.512s%s%.512s\r\n", name,
		 r->srv->https_port, r->ri->local_uri_raw ? r->ri->local_uri_raw : "/",
		 r->ri->query_string ? "?" : "", r->ri->query_string ? r->ri->query_string : "");
	return tp_http_send(r, 308, "text/plain", "", 0, hdr);
}

/* Outside /api/bmc: the web UI. A path naming a file is CivetWeb's to
 * serve (0); any other is answered with index.html, as bmcd does, so the
 * UI's client-side routes survive a reload. */
static int static_file(struct tp_req *r)
{
	const char *uri = r->ri->local_uri;
	char path[PATH_MAX];
	struct stat st;

	if (!r->srv->o.www || !*r->srv->o.www)
		return tp_http_send(r, 404, "text/plain", "no web UI is served\n", 20, NULL);
	if (uri && !strstr(uri, "..") &&
	    snprintf(path, sizeof(path), "%s%s", r->srv->o.www, uri) < (int)sizeof(path) &&
	    stat(path, &st) == 0 && S_ISREG(st.st_mode))
		return 0;
	if (snprintf(path, sizeof(path), "%s/index.html", r->srv->o.www) >= (int)sizeof(path) ||
	    stat(path, &st) < 0)
		return tp_http_send(r, 404, "text/plain", "not found\n", 10, NULL);
	mg_send_mime_file(r->conn, path, "text/html");
	return 200;
}

static int handle(struct mg_connection *conn, void *cbdata)
{
	struct tp_req r = { .srv = cbdata, .conn = conn, .ri = mg_get_request_info(conn) };
	const char *uri = r.ri->local_uri ? r.ri->local_uri : "";

	snprintf(r.peer, sizeof(r.peer), "%s", r.ri->remote_addr);
	if (!r.ri->is_ssl) {
		if (!strcmp(uri, "/info") && !strcmp(r.ri->request_method, "GET"))
			return tp_routes_info(&r);
		return redirect(&r);
	}
	if (!strncmp(uri, "/api/bmc", 8) && (!uri[8] || uri[8] == '/'))
		return tp_routes_api(&r);
	return static_file(&r);
}

static int log_message(const struct mg_connection *conn, const char *message)
{
	(void)conn;
	tp_log(TP_LOG_DEBUG, "civetweb: %s", message);
	return 1;
}

/* "[ADDR:]PORT" as CivetWeb's listening_ports entry, "s" marking TLS. */
static int port_spec(char *buf, size_t size, const char *spec, bool tls)
{
	if (snprintf(buf, size, "%s%s", spec, tls ? "s" : "") >= (int)size)
		return tp_err_set(-EINVAL, "listen address \"%s\" is too long", spec);
	return 0;
}

/* Where the Makefile built it (beside tpkit) or installed it: the shim
 * for a CivetWeb that looks OpenSSL up at run time (sslcompat.c). Loaded
 * under the name CivetWeb asks for; absent where it is not needed. */
static void sslcompat_load(void)
{
	static const char *const where[] = { "/libtpkit-sslcompat.so",
					     "/../lib/tpkit/libtpkit-sslcompat.so" };
	char exe[PATH_MAX], path[PATH_MAX + 64], *slash;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0)
		return;
	exe[n] = '\0';
	if ((slash = strrchr(exe, '/')))
		*slash = '\0';
	for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", exe, where[i]);
		if (access(path, R_OK) == 0 && dlopen(path, RTLD_NOW | RTLD_GLOBAL)) {
			tp_log(TP_LOG_DEBUG, "loaded %s for CivetWeb's OpenSSL lookup", path);
			return;
		}
	}
}

int tp_serve_start(struct tp_serve *s)
{
	char ports[300], a[140], b[140], threads[16], err[256] = "";
	unsigned code = 0;
	struct mg_callbacks cb = { .log_message = log_message };
	struct mg_error_data ed = { .code = &code, .text = err, .text_buffer_size = sizeof(err) };
	struct mg_server_port sp[4];
	struct stat st;
	const char *opts[24];
	size_t n = 0;
	int rc, np;

	if ((rc = port_spec(a, sizeof(a), s->o.https, true)) < 0)
		return rc;
	if (s->o.http && *s->o.http) {
		if ((rc = port_spec(b, sizeof(b), s->o.http, false)) < 0)
			return rc;
		snprintf(ports, sizeof(ports), "%s,%s", a, b);
	} else {
		snprintf(ports, sizeof(ports), "%s", a);
	}
	snprintf(threads, sizeof(threads), "%u", s->o.threads ? s->o.threads : CONFIG_TPKIT_SERVE_THREADS);
	opts[n++] = "listening_ports";
	opts[n++] = ports;
	opts[n++] = "num_threads";
	opts[n++] = threads;
	opts[n++] = "ssl_certificate";
	opts[n++] = s->cert_path;
	/* TLS 1.2 and later, as bmcd's mozilla_intermediate acceptor. */
	opts[n++] = "ssl_protocol_version";
	opts[n++] = "4";
	opts[n++] = "enable_keep_alive";
	opts[n++] = "yes";
	/* CivetWeb's 500 ms closes a poller's connection (tpi polls every
	 * 500 ms) just as it sends: keep it 10 s, at the cost of a thread
	 * held that long by a client that went quiet. */
	opts[n++] = "keep_alive_timeout_ms";
	opts[n++] = "10000";
	opts[n++] = "enable_directory_listing";
	opts[n++] = "no";
	/* The serial websocket: pings every 5 s, closed after 30 s without
	 * an answer, as bmcd's (serve.md §5). */
	opts[n++] = "enable_websocket_ping_pong";
	opts[n++] = "yes";
	opts[n++] = "websocket_timeout_ms";
	opts[n++] = "30000";
	if (s->o.www && stat(s->o.www, &st) == 0 && S_ISDIR(st.st_mode)) {
		opts[n++] = "document_root";
		opts[n++] = s->o.www;
	} else {
		s->o.www = NULL;
	}
	opts[n] = NULL;

	sslcompat_load();
	mg_init_library(MG_FEATURES_TLS);
	struct mg_init_data init = { .callbacks = &cb, .user_data = s,
				     .configuration_options = opts };
	s->ctx = mg_start2(&init, &ed);
	if (!s->ctx) {
		mg_exit_library();
		return tp_err_set(-EADDRNOTAVAIL, "cannot start the server on %s: %s", ports,
				  err[0] ? err : "CivetWeb gave no reason");
	}
	mg_set_request_handler(s->ctx, "/", handle, s);
	mg_set_websocket_handler(s->ctx, "/api/bmc/serial/ws", tp_api_ws_connect, tp_api_ws_ready,
				 tp_api_ws_data, tp_api_ws_close, s);
	np = mg_get_server_ports(s->ctx, 4, sp);
	for (int i = 0; i < np; i++) {
		if (sp[i].is_ssl)
			s->https_port = sp[i].port;
		else
			s->http_port = sp[i].port;
	}
	return 0;
}

void tp_serve_stop(struct tp_serve *s)
{
	if (!s->ctx)
		return;
	mg_stop(s->ctx);
	s->ctx = NULL;
	mg_exit_library();
}
