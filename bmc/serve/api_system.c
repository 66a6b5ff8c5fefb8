// SPDX-License-Identifier: MIT
/*
 * The BMC's own facts and the nodes' names (serve.md §5): other
 * (also GET /info on port 80), about, info, node_info, the legacy nodeinfo
 * stub, cooling. Every value where bmcd has a string is a string; the
 * daemon's own version is tpkit's.
 */
#include "serve.h"
#include "common/err.h"
#include "common/json.h"
#include "common/path.h"
#include "common/state.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <ifaddrs.h>
#include <json-c/json.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#define API_VERSION "1.1" /* bmcd's, which tpi and the web UI check */
#define NODES_RECORD "serve-nodes" /* node_info's names, in the state directory */

/* KEY=value of /etc/os-release, raw (quotes kept), or "" when absent. */
static void os_release(const char *key, char *out, size_t size)
{
	char buf[4096], *p;
	size_t k = strlen(key);

	out[0] = '\0';
	if (tp_file_read("/etc/os-release", buf, sizeof(buf)) < 0)
		return;
	for (p = strtok(buf, "\n"); p; p = strtok(NULL, "\n"))
		if (!strncmp(p, key, k) && p[k] == '=')
			snprintf(out, size, "%s", p + k + 1);
}

static void unquote(char *s)
{
	size_t n = strlen(s);

	if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
		memmove(s, s + 1, n - 2);
		s[n - 2] = '\0';
	}
}

/* The first IPv4 address of ifname, or "Unknown" as bmcd says it. */
static void if_ipv4(const char *ifname, char *out, size_t size)
{
	struct ifaddrs *ifa, *i;

	snprintf(out, size, "Unknown");
	if (getifaddrs(&ifa) < 0)
		return;
	for (i = ifa; i; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
		    !strcmp(i->ifa_name, ifname)) {
			inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr,
				  out, (socklen_t)size);
			break;
		}
	freeifaddrs(ifa);
}

static void if_mac(const char *ifname, char *out, size_t size)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/class/net/%s/address", ifname);
	if (tp_file_read(path, out, size) < 0)
		snprintf(out, size, "Unknown");
	out[strcspn(out, "\n")] = '\0';
}

int tp_api_other(struct tp_req *r)
{
	char v[256], pretty[256], build[128], ip[64], mac[64];
	struct tp_env e;

	os_release("VERSION", v, sizeof(v));
	os_release("PRETTY_NAME", pretty, sizeof(pretty));
	os_release("BUILD_ID", build, sizeof(build));
	if_ipv4("br0", ip, sizeof(ip));
	if_mac("br0", mac, sizeof(mac));
	if (tp_env_begin(&e) < 0)
		return tp_env_error(r, 500, "out of memory");
	tp_json_arr_begin(e.json, "result");
	tp_json_obj_begin(e.json, NULL);
	tp_json_str(e.json, "api", API_VERSION);
	tp_json_str(e.json, "buildtime", build[0] ? build : "Unknown");
	tp_json_str(e.json, "ip", ip);
	tp_json_str(e.json, "mac", mac);
	/* Raw, quotes kept, as bmcd passes them on (serve.md §5). */
	tp_json_str(e.json, "buildroot", pretty);
	tp_json_str(e.json, "version", v);
	tp_json_str(e.json, "daemon", "tpkit " TPKIT_VERSION);
	tp_json_obj_end(e.json);
	tp_json_arr_end(e.json);
	return tp_env_send(r, &e, 200);
}

int tp_api_about(struct tp_req *r)
{
	const struct tp_board *b = r->srv->board;
	char v[256], pretty[256], build[128], host[256] = "";
	struct tp_env e;

	os_release("VERSION", v, sizeof(v));
	unquote(v);
	os_release("PRETTY_NAME", pretty, sizeof(pretty));
	unquote(pretty);
	os_release("BUILD_ID", build, sizeof(build));
	if (tp_file_read("/etc/hostname", host, sizeof(host)) < 0)
		gethostname(host, sizeof(host) - 1);
	host[strcspn(host, "\n")] = '\0';
	if (tp_env_begin(&e) < 0)
		return tp_env_error(r, 500, "out of memory");
	tp_json_obj_begin(e.json, "result");
	tp_json_str(e.json, "board_model", b->id.have_eeprom ? b->id.eeprom.product : "");
	tp_json_str(e.json, "board_revision", b->desc->name);
	tp_json_str(e.json, "hostname", host);
	tp_json_str(e.json, "api", API_VERSION);
	tp_json_str(e.json, "version", v);
	tp_json_str(e.json, "bmcd_version", "tpkit " TPKIT_VERSION);
	tp_json_str(e.json, "buildtime", build[0] ? build : "Unknown");
	tp_json_str(e.json, "buildroot", pretty);
	tp_json_obj_end(e.json);
	return tp_env_send(r, &e, 200);
}

static void storage(struct tp_json *j, const char *name, const char *dir)
{
	char path[TP_PATH_MAX];
	struct statvfs sv;

	if (tp_path(path, sizeof(path), "%s", dir) < 0 || statvfs(path, &sv) < 0)
		return;
	tp_json_obj_begin(j, NULL);
	tp_json_str(j, "name", name);
	tp_json_uint(j, "total_bytes", (uint64_t)sv.f_blocks * sv.f_frsize);
	tp_json_uint(j, "bytes_free", (uint64_t)sv.f_bavail * sv.f_frsize);
	tp_json_obj_end(j);
}

int tp_api_info(struct tp_req *r)
{
	struct ifaddrs *ifa = NULL, *i;
	struct tp_env e;

	if (tp_env_begin(&e) < 0)
		return tp_env_error(r, 500, "out of memory");
	tp_json_obj_begin(e.json, "result");
	tp_json_arr_begin(e.json, "ip");
	if (getifaddrs(&ifa) == 0)
		for (i = ifa; i; i = i->ifa_next) {
			char ip[INET_ADDRSTRLEN], mac[64];

			if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET ||
			    (i->ifa_flags & IFF_LOOPBACK))
				continue;
			inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr,
				  ip, sizeof(ip));
			if_mac(i->ifa_name, mac, sizeof(mac));
			tp_json_obj_begin(e.json, NULL);
			tp_json_str(e.json, "device", i->ifa_name);
			tp_json_str(e.json, "ip", ip);
			tp_json_str(e.json, "mac", mac);
			tp_json_obj_end(e.json);
		}
	freeifaddrs(ifa);
	tp_json_arr_end(e.json);
	tp_json_arr_begin(e.json, "storage");
	storage(e.json, "BMC", "/");
	storage(e.json, "SD card", "/mnt/sdcard");
	tp_json_arr_end(e.json);
	tp_json_obj_end(e.json);
	return tp_env_send(r, &e, 200);
}

/* ---- node_info: names kept in the state directory ---- */

static void nodes_save(struct tp_serve *s)
{
	struct json_object *all = json_object_new_object();

	for (unsigned i = 0; i < TP_BOARD_SLOTS; i++) {
		const struct tp_serve_node *n = &s->node[i];
		struct json_object *o = json_object_new_object();
		char key[8];

		if (n->have_name)
			json_object_object_add(o, "name", json_object_new_string(n->name));
		if (n->have_module)
			json_object_object_add(o, "module_name",
					       json_object_new_string(n->module_name));
		if (n->uart_baud >= 0)
			json_object_object_add(o, "uart_baud", json_object_new_int64(n->uart_baud));
		snprintf(key, sizeof(key), "Node%u", i + 1);
		json_object_object_add(all, key, o);
	}
	/* A failure to save loses the names at the next start only; the
	 * answer already given stands. */
	(void)tp_state_save(NODES_RECORD, json_object_to_json_string_ext(all,
						 JSON_C_TO_STRING_PLAIN));
	json_object_put(all);
}

/* Merge {"Node1":{"name"?,"module_name"?,"uart_baud"?},...} into s->node;
 * -EINVAL with a message naming the bad member. Caller holds board_lock. */
static int nodes_merge(struct tp_serve *s, struct json_object *all)
{
	struct tp_serve_node tmp[TP_BOARD_SLOTS];

	if (!json_object_is_type(all, json_type_object))
		return tp_err_set(-EINVAL, "expected {\"Node1\": {...}, ...}");
	memcpy(tmp, s->node, sizeof(tmp));
	json_object_object_foreach(all, key, val) {
		struct json_object *m;
		unsigned i;

		if (strncmp(key, "Node", 4) || key[4] < '1' || key[4] > '4' || key[5] ||
		    !json_object_is_type(val, json_type_object))
			return tp_err_set(-EINVAL, "unknown member \"%.40s\": expected Node1..Node4 "
					  "objects", key);
		i = (unsigned)(key[4] - '1');
		if (json_object_object_get_ex(val, "name", &m)) {
			if (!json_object_is_type(m, json_type_string))
				return tp_err_set(-EINVAL, "%s.name must be a string", key);
			snprintf(tmp[i].name, sizeof(tmp[i].name), "%s", json_object_get_string(m));
			tmp[i].have_name = true;
		}
		if (json_object_object_get_ex(val, "module_name", &m)) {
			if (!json_object_is_type(m, json_type_string))
				return tp_err_set(-EINVAL, "%s.module_name must be a string", key);
			snprintf(tmp[i].module_name, sizeof(tmp[i].module_name), "%s",
				 json_object_get_string(m));
			tmp[i].have_module = true;
		}
		if (json_object_object_get_ex(val, "uart_baud", &m)) {
			if (!json_object_is_type(m, json_type_int) || json_object_get_int64(m) <= 0)
				return tp_err_set(-EINVAL, "%s.uart_baud must be a positive number",
						  key);
			tmp[i].uart_baud = (long)json_object_get_int64(m);
		}
	}
	memcpy(s->node, tmp, sizeof(tmp));
	return 0;
}

void tp_api_nodes_load(struct tp_serve *s)
{
	char buf[4096];
	struct json_object *all;

	for (unsigned i = 0; i < TP_BOARD_SLOTS; i++)
		s->node[i].uart_baud = -1;
	if (tp_state_load(NODES_RECORD, buf, sizeof(buf)) < 0)
		return;
	all = json_tokener_parse(buf);
	if (all)
		(void)nodes_merge(s, all);
	json_object_put(all);
}

int tp_api_node_info_get(struct tp_req *r)
{
	struct tp_serve *s = r->srv;
	uint64_t now = tp_serve_now_ms();
	struct tp_env e;

	if (tp_env_begin(&e) < 0)
		return tp_env_error(r, 500, "out of memory");
	tp_json_arr_begin(e.json, "result");
	pthread_mutex_lock(&s->board_lock);
	for (unsigned i = 0; i < TP_BOARD_SLOTS; i++) {
		const struct tp_serve_node *n = &s->node[i];

		tp_json_obj_begin(e.json, NULL);
		tp_json_str(e.json, "name", n->have_name ? n->name : NULL);
		tp_json_str(e.json, "module_name", n->have_module ? n->module_name : NULL);
		tp_json_uint_opt(e.json, "power_on_time", (now - n->power_on_ms) / 1000,
				 n->power_on_ms != 0);
		tp_json_uint_opt(e.json, "uart_baud", (uint64_t)n->uart_baud, n->uart_baud > 0);
		tp_json_obj_end(e.json);
	}
	pthread_mutex_unlock(&s->board_lock);
	tp_json_arr_end(e.json);
	return tp_env_send(r, &e, 200);
}

int tp_api_node_info_set(struct tp_req *r)
{
	char body[4096];
	struct json_object *all;
	int rc;

	if ((rc = tp_http_body(r, body, sizeof(body))) < 0)
		return tp_env_error(r, 400, "node_info's JSON body: %s", tp_err_msg());
	if (!(all = json_tokener_parse(body)))
		return tp_env_error(r, 400, "the body is not JSON");
	pthread_mutex_lock(&r->srv->board_lock);
	rc = nodes_merge(r->srv, all);
	if (rc == 0)
		nodes_save(r->srv);
	pthread_mutex_unlock(&r->srv->board_lock);
	json_object_put(all);
	if (rc < 0)
		return tp_env_error(r, 400, "%s", tp_err_msg());
	/* bmcd: 200 with an empty body. */
	return tp_http_send(r, 200, "text/plain", "", 0, NULL);
}

int tp_api_nodeinfo_legacy(struct tp_req *r)
{
	struct tp_env e;

	if (tp_env_begin(&e) < 0)
		return tp_env_error(r, 500, "out of memory");
	tp_json_arr_begin(e.json, "result");
	tp_json_obj_begin(e.json, NULL);
	for (unsigned s = 1; s <= TP_BOARD_SLOTS; s++) {
		char key[8];

		snprintf(key, sizeof(key), "node%u", s);
		tp_json_int(e.json, key, 0);
	}
	tp_json_obj_end(e.json);
	tp_json_arr_end(e.json);
	return tp_env_send(r, &e, 200);
}
