// SPDX-License-Identifier: MIT
/*
 * The API's routes (serve.md §4, §5): a table of
 * (opt, type, handler), the authentication gate in front of it, and the
 * few paths that are not `?opt=&type=` (authenticate).
 */
#include "serve.h"
#include "common/err.h"
#include "common/log.h"

#include <civetweb.h>
#include <errno.h>
#include <json-c/json.h>
#include <string.h>
#include <strings.h>

struct route {
	const char *opt, *type;
	tp_route_fn fn;
	bool post;      /* bmcd's POST exception: a JSON body */
};

static int unsupported(struct tp_req *r);

static const struct route routes[] = {
	{ "get", "power", tp_api_power_get, false },
	{ "set", "power", tp_api_power_set, false },
	{ "set", "reset", tp_api_reset, false },
	{ "get", "usb", tp_api_usb_get, false },
	{ "set", "usb", tp_api_usb_set, false },
	{ "get", "usb_node1", tp_api_usb_node1_get, false },
	{ "set", "usb_node1", tp_api_usb_node1_set, false },
	{ "set", "usb_boot", tp_api_usb_boot_set, false },
	{ "set", "clear_usb_boot", tp_api_clear_usb_boot, false },
	{ "get", "other", tp_api_other, false },
	{ "get", "about", tp_api_about, false },
	{ "get", "info", tp_api_info, false },
	{ "get", "node_info", tp_api_node_info_get, false },
	{ "set", "node_info", tp_api_node_info_set, true },
	{ "get", "nodeinfo", tp_api_nodeinfo_legacy, false },
	{ "get", "cooling", tp_api_cooling_get, false },
	{ "set", "cooling", tp_api_cooling_set, false },
	/* Known to bmcd, not (yet) to tpkit: a clear 501 each, never a
	 * silent "ok" (serve.md §8). */
	{ "set", "firmware", unsupported, false },
#ifdef CONFIG_TPKIT_CMD_FLASH
	{ "set", "flash", tp_api_flash_set, false },
	{ "get", "flash", tp_api_flash_get, false },
	/* bmcd has one transfer state for both (serve.md §6). */
	{ "get", "firmware", tp_api_flash_get, false },
#else
	{ "get", "firmware", unsupported, false },
	{ "set", "flash", unsupported, false },
	{ "get", "flash", unsupported, false },
#endif
	{ "get", "uart", tp_api_uart_get, false },
	{ "set", "uart", tp_api_uart_set, false },
	{ "set", "network", tp_api_network_set, false },
	{ "set", "reboot", tp_api_reboot_set, false },
	{ "set", "reload", tp_api_reload_set, false },
	{ "get", "sdcard", tp_api_sdcard_get, false },
	{ "set", "sdcard", tp_api_sdcard_set, false },
#ifdef CONFIG_TPKIT_CMD_FLASH
	{ "set", "node_to_msd", tp_api_node_to_msd, false },
#else
	{ "set", "node_to_msd", unsupported, false },
#endif
	{ "set", "nodeinfo", unsupported, false },
};

#define NROUTES (sizeof(routes) / sizeof(routes[0]))

static int unsupported(struct tp_req *r)
{
	const char *type = tp_query_get(&r->q, "type");

	if (!strcmp(type, "firmware"))
		return tp_env_error(r, 501, "BMC firmware upgrades are not supported by tpkit "
				    "serve: use the stock firmware's upgrade (docs/serve.md)");
	if (!strcmp(type, "nodeinfo"))
		return tp_env_error(r, 501, "Method type `set` on parameter `nodeinfo` is "
				    "deprecated");
	return tp_env_error(r, 501, "`type=%s` is not implemented by tpkit serve yet "
			    "(docs/serve.md)", type);
}

static const struct route *route_find(const char *opt, const char *type, bool *type_known)
{
	*type_known = false;
	for (size_t i = 0; i < NROUTES; i++) {
		if (strcmp(routes[i].type, type))
			continue;
		*type_known = true;
		if (!strcmp(routes[i].opt, opt))
			return &routes[i];
	}
	return NULL;
}

/* POST /api/bmc/authenticate (serve.md §3): the body is not enveloped. */
static int authenticate(struct tp_req *r)
{
	char body[1024], token[TP_AUTH_TOKEN_LEN + 1], out[512], hdr[128], user[64];
	struct tp_auth_denial d;
	struct json_object *jo, *ju, *jp;
	int rc, n;

	if (tp_http_body(r, body, sizeof(body)) < 0) {
		n = snprintf(out, sizeof(out), "error trying to parse credentials: %s",
			     tp_err_msg());
		return tp_http_send(r, 403, "text/plain", out, (size_t)n, NULL);
	}
	jo = json_tokener_parse(body);
	if (!jo || !json_object_object_get_ex(jo, "username", &ju) ||
	    !json_object_object_get_ex(jo, "password", &jp) ||
	    !json_object_is_type(ju, json_type_string) ||
	    !json_object_is_type(jp, json_type_string)) {
		json_object_put(jo);
		n = snprintf(out, sizeof(out), "error trying to parse credentials: expected "
			     "{\"username\": ..., \"password\": ...}");
		return tp_http_send(r, 403, "text/plain", out, (size_t)n, NULL);
	}
	/* Echoed back only when it is a plain user name, as shadow's are. */
	snprintf(user, sizeof(user), "%s", json_object_get_string(ju));
	if (strspn(user, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
	    strlen(user))
		user[0] = '\0';
	rc = tp_auth_login(r->srv->auth, r->peer, json_object_get_string(ju),
			   json_object_get_string(jp), token, &d);
	/* The password is json-c's copy; it goes with the object. */
	json_object_put(jo);
	if (rc < 0) {
		tp_log(TP_LOG_INFO, "login refused for %s: %s", r->peer, d.reason);
		return tp_http_send(r, d.status, "text/plain", d.reason, strlen(d.reason), NULL);
	}
	n = snprintf(out, sizeof(out),
		     "{\"id\":\"%s\",\"name\":\"User Session\",\"description\":\"User Session\","
		     "\"username\":\"%s\"}", token, user);
	snprintf(hdr, sizeof(hdr), "X-Auth-Token: %s\r\n", token);
	return tp_http_send(r, 200, "application/json", out, (size_t)n, hdr);
}

int tp_routes_auth(struct tp_req *r, struct tp_auth_denial *d)
{
	/* The gate of serve.md §3: loopback passes unless configured not to. */
	if (!r->srv->o.auth_loopback && tp_http_peer_loopback(r->peer))
		return 0;
	return tp_auth_check(r->srv->auth, r->peer, mg_get_header(r->conn, "Authorization"), d);
}

/* struct tp_req's client: FNV-1a of the Authorization header, so that
 * nothing secret is kept with a flash job. */
static uint64_t client_of(const char *authorization)
{
	uint64_t h = 0xcbf29ce484222325u;

	if (!authorization)
		return 0;
	for (const unsigned char *p = (const unsigned char *)authorization; *p; p++)
		h = (h ^ *p) * 0x100000001b3u;
	return h ? h : 1;
}

static int authorised(struct tp_req *r)
{
	struct tp_auth_denial d;
	char hdr[300];

	if (tp_routes_auth(r, &d) == 0) {
		r->client = client_of(mg_get_header(r->conn, "Authorization"));
		return 0;
	}
	hdr[0] = '\0';
	if (d.www_authenticate[0])
		snprintf(hdr, sizeof(hdr), "WWW-Authenticate: %s\r\n", d.www_authenticate);
	return tp_http_send(r, d.status, "text/plain", d.reason, strlen(d.reason), hdr);
}

int tp_routes_api(struct tp_req *r)
{
	const char *uri = r->ri->local_uri, *method = r->ri->request_method;
	const char *opt, *type;
	const struct route *rt;
	bool post = !strcmp(method, "POST"), type_known;
	int rc;

	if (!strcmp(uri, "/api/bmc/authenticate"))
		return authenticate(r);
	if ((rc = authorised(r)))
		return rc;
#ifdef CONFIG_TPKIT_CMD_FLASH
	if (!strncmp(uri, "/api/bmc/upload/", 16))
		return tp_api_upload(r, uri + 16);
#endif
	if (!strcmp(uri, "/api/bmc/backup"))
#ifdef CONFIG_TPKIT_ARCHIVE
		return tp_api_backup(r);
#else
		return tp_env_error(r, 501, "backups need libarchive, which this tpkit was built "
				    "without (CONFIG_TPKIT_ARCHIVE)");
#endif
	if (strcmp(uri, "/api/bmc") && strcmp(uri, "/api/bmc/"))
		return tp_env_error(r, 404, "no such API path: %.200s", uri);
	if (!post && strcmp(method, "GET"))
		return tp_env_error(r, 405, "method %s is not allowed here; the API takes GET "
				    "(and POST for node_info)", method);
	if (tp_query_parse(&r->q, r->ri->query_string) < 0)
		return tp_env_error(r, 400, "%s", tp_err_msg());
	if (!(opt = tp_query_get(&r->q, "opt")))
		return tp_env_error(r, 400, "Missing `opt` parameter");
	if (!(type = tp_query_get(&r->q, "type")))
		return tp_env_error(r, 400, "Missing `type` parameter");
	if (strcmp(opt, "get") && strcmp(opt, "set"))
		return tp_env_error(r, 400, "Invalid `opt` parameter %.100s", opt);
	rt = route_find(opt, type, &type_known);
	if (!rt && type_known)
		return tp_env_error(r, 400, "Method type `%s` on parameter `%.100s` is not "
				    "supported", opt, type);
	if (!rt)
		return tp_env_error(r, 400, "Invalid `type` parameter %.100s", type);
	if (rt->post != post)
		return tp_env_error(r, 405, "`opt=%s&type=%s` takes %s", opt, type,
				    rt->post ? "POST with a JSON body" : "GET");
	return rt->fn(r);
}

int tp_routes_info(struct tp_req *r)
{
	r->q.n = 0;
	return tp_api_other(r);
}
