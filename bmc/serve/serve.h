/* SPDX-License-Identifier: MIT */
/*
 * tpkit serve: the stock daemon's (bmcd's) HTTP API, served by tpkit
 * (docs/serve.md). The pieces, one job per file:
 *
 *	http.c      CivetWeb glue: listeners, TLS, static files, the port-80
 *	            redirect; nothing about the API
 *	routes.c    the route table (opt, type, handler), authentication gate
 *	query.c     query parameters and bmcd's 0-based node parameter
 *	envelope.c  bmcd's {"response":[{"result":...}]} in one place
 *	auth.c      users, tokens, bans
 *	tls.c       the self-signed certificate made at first start
 *	api_*.c     one file per route family; each calls the functions the
 *	            CLI commands call (board/turingpi2/power.h, usb.h)
 */
#ifndef TP_SERVE_H
#define TP_SERVE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "auth.h"
#include "bmc/flash.h"
#include "board/turingpi2/board.h"
#include "common/cancel.h"
#include "common/clock.h"

struct mg_connection;
struct mg_request_info;
struct mg_context;

struct tp_serve_opts {
	const char *https;        /* "[ADDR:]PORT" of the API, "443" */
	const char *http;         /* "[ADDR:]PORT" of the redirect and /info, "80"; "" none */
	const char *www;          /* the web UI's directory */
	const char *cert;         /* PEM with key and certificate; NULL: made in the state dir */
	bool auth_loopback;       /* loopback peers need a token too (bmcd: they do not) */
	unsigned threads;         /* CivetWeb worker threads */
	unsigned upload_wait_s;   /* a flash handle's wait for its upload */
	unsigned flash_jobs;      /* flashes at once on a hub board (1-4) */
	struct tp_auth_opts auth;
	struct tp_board_opts board; /* how each flash job opens the board */
	/* Only its module options (--flash-opt loader=FILE, ...): every
	 * flash job and node_to_msd takes them (tp_flash_mopts_copy()). */
	struct tp_flash_opts flash;
};

/* A flash job (api_flash.c), with bmcd's transfer state (serve.md §6):
 * Ready, Transferring, Done or Error. bmcd has one; tpkit serve has one
 * per slot, so that slots flash at once on a hub board. */
enum tp_serve_flash_state { TP_SF_READY, TP_SF_RUNNING, TP_SF_DONE, TP_SF_ERROR };

struct tp_serve_flash {
	struct tp_serve *srv;
	enum tp_serve_flash_state state;
	uint32_t handle;
	unsigned slot;
	uint64_t client;          /* who asked (struct tp_req's client) */
	uint64_t seq;             /* the order jobs were asked for, from 1 */
	uint64_t size;            /* the input's bytes, as bmcd's "size" */
	unsigned share;           /* jobs running when it started, itself included */
	uint64_t written;         /* device bytes written, then read back */
	bool cancelled;
	char cancel_why[200];     /* the state's error after a cancel */
	struct tp_cancel_scope scope; /* this job's cancel, not the others' */
	bool upload;              /* the input comes by POST /upload/<handle> */
	bool upload_started;
	int pipe_r, pipe_w;       /* the upload's pipe into the image pipeline */
	char src[4096];           /* the image source the job opens */
	char sha256[65];
	uint64_t start_ns, elapsed_ns;
	char error[1024];
	pthread_t worker;
	bool joinable;
};

/* Every slot's job, under one lock. */
struct tp_serve_flashes {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint64_t seq;             /* the last job's */
	struct tp_serve_flash job[TP_BOARD_SLOTS];
};

/* What the server knows of a node that the lines do not say (serve.md §5). */
struct tp_serve_node {
	char name[64], module_name[64];
	long uart_baud;           /* -1: never set */
	bool have_name, have_module;
	uint64_t power_on_ms;     /* tp_serve_now_ms() when tpkit serve switched it
				   * on; 0 unknown */
};

/* The clock of power_on_ms: real monotonic milliseconds, not tp_clock's
 * (node_info's power_on_time is wall time the node has been up). */
static inline uint64_t tp_serve_now_ms(void)
{
	return tp_clock_real_ns() / 1000000;
}

struct tp_serve {
	struct tp_serve_opts o;
	struct mg_context *ctx;
	struct tp_auth *auth;
	/* One owner of the GPIO lines: board operations run one at a time,
	 * whichever worker thread takes the request. */
	pthread_mutex_t board_lock;
	struct tp_board *board;
	struct tp_serve_node node[TP_BOARD_SLOTS];
	unsigned usb_node;         /* the slot the last "set usb" named (api_usb.c) */
	unsigned msd_slot;         /* the slot whose eMMC the BMC's gadget serves, 0 (api_msd.c) */
	struct tp_serve_flashes flash;
	struct tp_serve_uarts *uarts; /* api_uart.c */
	char cert_path[4096];
	int https_port, http_port; /* as bound */
};

#define TP_SERVE_UART_RING 16384 /* bytes of console kept per node, as bmcd */
#define TP_SERVE_WS_MAX 8         /* serial websockets per node */

struct tp_serve_uarts;

#define TP_QUERY_MAX 32

struct tp_query {
	char buf[2048];
	unsigned n;
	struct {
		const char *name, *value; /* value NULL: the key had no '=' */
	} f[TP_QUERY_MAX];
};

/* One request being answered. */
struct tp_req {
	struct tp_serve *srv;
	struct mg_connection *conn;
	const struct mg_request_info *ri;
	struct tp_query q;
	char peer[64];
	/* Who asks, as far as a flash's status goes: a hash of the
	 * Authorization header (a token or Basic credentials), 0 without one
	 * (a loopback client). Not a secret, and not a permission. */
	uint64_t client;
};

/* ---- query.c ---- */

/* Split and decode a query string; -E2BIG when longer than the buffer or
 * with more than TP_QUERY_MAX fields. */
int tp_query_parse(struct tp_query *q, const char *query);
/* The value of name ("" for a key without '='), or NULL when absent. */
const char *tp_query_get(const struct tp_query *q, const char *name);
/*
 * bmcd's `node` parameter (serve.md §4.1): 0-based, parsed as a 32-bit
 * number and range-checked. 0 and the slot (1-4), or -EINVAL with bmcd's
 * message (`Missing `node` parameter` and the like).
 */
int tp_query_node(const struct tp_query *q, unsigned *slot);

/* ---- envelope.c ---- */

struct tp_json;

/* The body being built: {"response":[{ ... }]} around what the handler
 * writes into json (normally one "result" or "uart" member). */
struct tp_env {
	char *buf;
	size_t len;
	void *f;                  /* FILE *, a memory stream */
	struct tp_json *json;
};

int tp_env_begin(struct tp_env *e);
/* Close the envelope and send it with status; returns status. */
int tp_env_send(struct tp_req *r, struct tp_env *e, int status);
/* {"response":[{"result":"ok"}]} */
int tp_env_ok(struct tp_req *r);
/* {"response":[{"result":"<message>"}]} with status (400, 500, 501...). */
int tp_env_error(struct tp_req *r, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A failure from below (rc -errno, message current): bmcd's "Failed to
 * <what>: <cause>" with 500, or 400 for -EINVAL/-EOPNOTSUPP, which are the
 * request's fault. */
int tp_env_fail(struct tp_req *r, const char *what, int rc);

/* ---- http.c ---- */

int tp_serve_start(struct tp_serve *s);
void tp_serve_stop(struct tp_serve *s);
/* A body as it is, with its type and optional extra header lines
 * ("Name: value\r\n" each). */
int tp_http_send(struct tp_req *r, int status, const char *type, const char *body,
		 size_t len, const char *headers);
/* A small request body (JSON) whole, NUL-terminated: its length, or
 * -EMSGSIZE (none, or not under size) / -EPIPE (cut off) with a message. */
int tp_http_body(struct tp_req *r, char *buf, size_t size);
/* Is the peer a loopback address (127/8, ::1, IPv4-mapped 127/8)? */
bool tp_http_peer_loopback(const char *peer);

/* ---- routes.c ---- */

/* An /api/bmc request on the HTTPS side; returns the status sent. */
int tp_routes_api(struct tp_req *r);
/* Does the request pass the gate (a loopback peer, a token, Basic)?
 * 0, or -EACCES with d filled; nothing is sent. */
int tp_routes_auth(struct tp_req *r, struct tp_auth_denial *d);
/* GET /info on the plain-HTTP side, without authentication. */
int tp_routes_info(struct tp_req *r);

/* ---- the route families (api_*.c) ---- */

typedef int (*tp_route_fn)(struct tp_req *r);

int tp_api_power_get(struct tp_req *r);
int tp_api_power_set(struct tp_req *r);
int tp_api_reset(struct tp_req *r);
int tp_api_usb_get(struct tp_req *r);
int tp_api_usb_set(struct tp_req *r);
int tp_api_usb_node1_get(struct tp_req *r);
int tp_api_usb_node1_set(struct tp_req *r);
int tp_api_usb_boot_set(struct tp_req *r);
int tp_api_clear_usb_boot(struct tp_req *r);
int tp_api_other(struct tp_req *r);
int tp_api_about(struct tp_req *r);
int tp_api_info(struct tp_req *r);
int tp_api_node_info_get(struct tp_req *r);
int tp_api_node_info_set(struct tp_req *r);
int tp_api_nodeinfo_legacy(struct tp_req *r);
int tp_api_cooling_get(struct tp_req *r);
int tp_api_network_set(struct tp_req *r);
int tp_api_reboot_set(struct tp_req *r);
int tp_api_reload_set(struct tp_req *r);
int tp_api_sdcard_get(struct tp_req *r);
int tp_api_sdcard_set(struct tp_req *r);
#ifdef CONFIG_TPKIT_CMD_FLASH
int tp_api_flash_set(struct tp_req *r);
int tp_api_flash_get(struct tp_req *r);
/* POST /api/bmc/upload/<handle> and GET .../<handle>/cancel; rest is
 * what follows "/api/bmc/upload/". */
int tp_api_upload(struct tp_req *r, const char *rest);
void tp_api_flash_init(struct tp_serve *s);
/* Cancel the running flashes and wait for them to unwind (at stop). */
void tp_api_flash_stop(struct tp_serve *s);
/* The lowest slot a flash runs on, or 0. */
unsigned tp_api_flash_running(struct tp_serve *s);
/* node_to_msd (api_msd.c): a node's eMMC as the BMC's own USB disk. */
int tp_api_node_to_msd(struct tp_req *r);
/* The USB disk export goes: for slot's power or USB changing, or for any
 * slot's when slot is 0 (a USB mode change, as bmcd). */
void tp_api_msd_drop(struct tp_serve *s, unsigned slot);
#else
static inline void tp_api_msd_drop(struct tp_serve *s, unsigned slot) { (void)s, (void)slot; }
static inline void tp_api_flash_init(struct tp_serve *s) { (void)s; }
static inline void tp_api_flash_stop(struct tp_serve *s) { (void)s; }
static inline unsigned tp_api_flash_running(struct tp_serve *s) { (void)s; return 0; }
#endif
/* GET /api/bmc/backup (api_backup.c, with CONFIG_TPKIT_ARCHIVE). */
int tp_api_backup(struct tp_req *r);
int tp_api_uart_get(struct tp_req *r);
int tp_api_uart_set(struct tp_req *r);
/* The console capture: one thread for the four UARTs, from start to stop. */
int tp_api_uart_start(struct tp_serve *s);
void tp_api_uart_stop(struct tp_serve *s);
/* The serial websocket's CivetWeb handlers (cbdata: the tp_serve). */
int tp_api_ws_connect(const struct mg_connection *conn, void *cbdata);
void tp_api_ws_ready(struct mg_connection *conn, void *cbdata);
int tp_api_ws_data(struct mg_connection *conn, int bits, char *data, size_t len, void *cbdata);
void tp_api_ws_close(const struct mg_connection *conn, void *cbdata);
/* node_info's names from the state directory, at start. */
void tp_api_nodes_load(struct tp_serve *s);
int tp_api_cooling_set(struct tp_req *r);

/* ---- tls.c ---- */

/* The server's PEM file (key, then certificate): the user's when given,
 * else <state>/serve/server.pem, made at the first start (a P-256 key and
 * a self-signed certificate, 0600). 0 or -errno with a message. */
int tp_tls_ensure(const char *user_cert, char *path, size_t size);

#endif
