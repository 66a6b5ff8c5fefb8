// SPDX-License-Identifier: MIT
/*
 * The nodes' consoles through the API (serve.md §5): every slot's UART
 * captured from the start into a ring of the last 16 KiB, as bmcd keeps;
 * `get uart` answers the whole ring, `set uart` sends a line, and the
 * serial websocket (/api/bmc/serial/ws?node=N) streams what arrives and
 * sends what its client types.
 *
 * One thread reads the four UARTs (opened as tpkit console opens them,
 * bmc/console.c: raw, 115200 8N1, read only); writes open the UART for
 * the moment, so a read position is never disturbed.
 */
#define _GNU_SOURCE /* pipe2 */
#include "serve.h"
#include "bmc/console.h"
#include "common/err.h"
#include "common/json.h"
#include "common/log.h"
#include "common/path.h"

#include <civetweb.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* How often a UART with nothing to poll() on (the twin's plain file, a
 * UART that could not be opened yet) is looked at again. */
#define IDLE_MS 100

struct uart {
	struct tp_console con;
	bool open, pollable;
	char ring[TP_SERVE_UART_RING];
	size_t head, len;         /* next write position, bytes held */
	struct mg_connection *ws[TP_SERVE_WS_MAX];
};

struct tp_serve_uarts {
	pthread_mutex_t lock;
	pthread_t thread;
	int stop[2];              /* a pipe: the thread's poll ends when it closes */
	struct uart u[TP_BOARD_SLOTS];
};

static void ring_put(struct uart *u, const char *buf, size_t n)
{
	if (n > sizeof(u->ring)) {
		buf += n - sizeof(u->ring);
		n = sizeof(u->ring);
	}
	for (size_t i = 0; i < n; i++) {
		u->ring[u->head] = buf[i];
		u->head = (u->head + 1) % sizeof(u->ring);
	}
	u->len = u->len + n > sizeof(u->ring) ? sizeof(u->ring) : u->len + n;
}

/* The ring, oldest first, into out (at least TP_SERVE_UART_RING bytes). */
static size_t ring_get(const struct uart *u, char *out)
{
	size_t start = (u->head + sizeof(u->ring) - u->len) % sizeof(u->ring);

	for (size_t i = 0; i < u->len; i++)
		out[i] = u->ring[(start + i) % sizeof(u->ring)];
	return u->len;
}

static void uart_try_open(struct uart *u, unsigned slot)
{
	static const struct tp_report_key none;
	struct stat st;

	if (u->open)
		return;
	if (tp_console_open(&u->con, slot, &none) < 0)
		return; /* no UART yet (no such device): tried again next round */
	u->open = true;
	u->pollable = fstat(u->con.fd, &st) == 0 && !S_ISREG(st.st_mode);
}

/* Read what slot's UART has and pass it to the ring and the websockets.
 * Caller holds the lock. */
static void uart_drain(struct uart *u)
{
	char buf[4096];
	ssize_t n;

	while ((n = read(u->con.fd, buf, sizeof(buf))) > 0) {
		ring_put(u, buf, (size_t)n);
		for (size_t i = 0; i < TP_SERVE_WS_MAX; i++)
			if (u->ws[i] &&
			    mg_websocket_write(u->ws[i], MG_WEBSOCKET_OPCODE_BINARY, buf,
					       (size_t)n) <= 0)
				u->ws[i] = NULL; /* gone: its close handler comes */
	}
	if (n < 0 && errno != EAGAIN && errno != EINTR) {
		/* A pty whose other side went (a node VM stopped): start over. */
		tp_console_close(&u->con);
		u->open = false;
	}
}

static void *capture(void *arg)
{
	struct tp_serve_uarts *x = arg;

	for (;;) {
		struct pollfd p[TP_BOARD_SLOTS + 1] = { { .fd = x->stop[0], .events = POLLIN } };
		nfds_t n = 1;
		bool idle = false;

		pthread_mutex_lock(&x->lock);
		for (unsigned s = 0; s < TP_BOARD_SLOTS; s++) {
			struct uart *u = &x->u[s];

			uart_try_open(u, s + 1);
			if (u->open && u->pollable)
				p[n++] = (struct pollfd){ .fd = u->con.fd, .events = POLLIN };
			else
				idle = true;
			if (u->open)
				uart_drain(u);
		}
		pthread_mutex_unlock(&x->lock);
		if (poll(p, n, idle ? IDLE_MS : -1) > 0 && p[0].revents)
			return NULL;
	}
}

int tp_api_uart_start(struct tp_serve *s)
{
	struct tp_serve_uarts *x = calloc(1, sizeof(*x));

	if (!x || pipe2(x->stop, O_CLOEXEC) < 0) {
		free(x);
		return tp_err_set(-ENOMEM, "cannot set up the console capture");
	}
	pthread_mutex_init(&x->lock, NULL);
	if (pthread_create(&x->thread, NULL, capture, x) != 0) {
		close(x->stop[0]);
		close(x->stop[1]);
		free(x);
		return tp_err_set(-EAGAIN, "cannot start the console capture");
	}
	s->uarts = x;
	return 0;
}

void tp_api_uart_stop(struct tp_serve *s)
{
	struct tp_serve_uarts *x = s->uarts;

	if (!x)
		return;
	close(x->stop[1]);
	pthread_join(x->thread, NULL);
	close(x->stop[0]);
	for (unsigned i = 0; i < TP_BOARD_SLOTS; i++)
		if (x->u[i].open)
			tp_console_close(&x->u[i].con);
	pthread_mutex_destroy(&x->lock);
	free(x);
	s->uarts = NULL;
}

static char *remove_nul(char *text, size_t n)
{
	char *w = text;

	for (size_t i = 0; i < n; i++)
		if (text[i])
			*w++ = text[i];
	return w;
}

int tp_api_uart_get(struct tp_req *r)
{
	struct tp_serve_uarts *x = r->srv->uarts;
	const char *enc = tp_query_get(&r->q, "encoding");
	char *text;
	struct tp_env e;
	size_t n;
	unsigned slot;

	if (tp_query_node(&r->q, &slot) < 0)
		return tp_env_error(r, 400, "%s", tp_err_msg());
	/* bmcd offers UTF-16 and UTF-32 too; the JSON string is the same
	 * text whatever the encoding, and every client asks for UTF-8. */
	if (enc && strcmp(enc, "utf8"))
		return tp_env_error(r, 400, "encoding `%.20s` is not supported by tpkit serve; "
				    "leave it out for utf8", enc);
	if (!(text = malloc(TP_SERVE_UART_RING + 1)))
		return tp_env_error(r, 500, "out of memory");
	pthread_mutex_lock(&x->lock);
	if (x->u[slot - 1].open)
		uart_drain(&x->u[slot - 1]); /* what is there now, not at the last poll */
	n = ring_get(&x->u[slot - 1], text);
	pthread_mutex_unlock(&x->lock);
	/* A NUL would end the JSON writer's string: consoles print none but
	 * as line noise, so it goes. */
	n = (size_t)(remove_nul(text, n) - text);
	text[n] = '\0';
	if (tp_env_begin(&e) < 0) {
		free(text);
		return tp_env_error(r, 500, "out of memory");
	}
	/* The JSON writer makes any byte sequence valid UTF-8. */
	tp_json_str(e.json, "uart", text);
	free(text);
	return tp_env_send(r, &e, 200);
}

/* Send bytes to slot's UART: opened for the write alone (append, for the
 * twin's plain file), so the capture's read position stays. */
static int uart_send(unsigned slot, const char *buf, size_t len)
{
	char path[TP_PATH_MAX];
	int fd, rc = 0;

	if ((rc = tp_path(path, sizeof(path), "/dev/ttyS%u", slot)) < 0)
		return tp_err_set(rc, "the UART's path is too long");
	fd = open(path, O_WRONLY | O_APPEND | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return tp_err_set(-errno, "cannot open %s: %s", path, strerror(errno));
	while (len && rc == 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			rc = tp_err_set(-errno, "cannot write to %s: %s", path, strerror(errno));
		else
			buf += n, len -= (size_t)n;
	}
	close(fd);
	return rc;
}

int tp_api_uart_set(struct tp_req *r)
{
	const char *cmd = tp_query_get(&r->q, "cmd");
	char line[1024];
	unsigned slot;
	int n, rc;

	if (tp_query_node(&r->q, &slot) < 0)
		return tp_env_error(r, 400, "%s", tp_err_msg());
	if (!cmd)
		return tp_env_error(r, 400, "Missing `cmd` parameter");
	/* The line and its CR LF, as bmcd sends it. */
	n = snprintf(line, sizeof(line), "%s\r\n", cmd);
	if (n >= (int)sizeof(line))
		return tp_env_error(r, 400, "`cmd` is longer than %zu bytes", sizeof(line) - 3);
	if ((rc = uart_send(slot, line, (size_t)n)) < 0)
		return tp_env_fail(r, "write to the node's UART", rc);
	return tp_env_ok(r);
}

/* ---- the serial websocket ---- */

int tp_api_ws_connect(const struct mg_connection *conn, void *cbdata)
{
	struct tp_serve *s = cbdata;
	struct tp_req r = { .srv = s, .conn = (struct mg_connection *)conn,
			    .ri = mg_get_request_info(conn) };
	struct tp_auth_denial d;
	unsigned slot;
	uintptr_t *keep;

	snprintf(r.peer, sizeof(r.peer), "%s", r.ri->remote_addr);
	if (tp_routes_auth(&r, &d) < 0 || tp_query_parse(&r.q, r.ri->query_string) < 0 ||
	    tp_query_node(&r.q, &slot) < 0)
		return 1; /* refused: CivetWeb closes the connection */
	if (!(keep = malloc(sizeof(*keep))))
		return 1;
	*keep = slot;
	mg_set_user_connection_data(conn, keep);
	return 0;
}

void tp_api_ws_ready(struct mg_connection *conn, void *cbdata)
{
	struct tp_serve_uarts *x = ((struct tp_serve *)cbdata)->uarts;
	uintptr_t *slot = mg_get_user_connection_data(conn);
	struct uart *u = &x->u[*slot - 1];
	bool added = false;
	char *text = malloc(TP_SERVE_UART_RING);

	pthread_mutex_lock(&x->lock);
	/* The ring first: a client joining sees the recent console, as a
	 * terminal multiplexer shows it (bmcd sends only what comes after). */
	if (text && u->len)
		mg_websocket_write(conn, MG_WEBSOCKET_OPCODE_BINARY, text, ring_get(u, text));
	for (size_t i = 0; i < TP_SERVE_WS_MAX && !added; i++)
		if (!u->ws[i])
			u->ws[i] = conn, added = true;
	pthread_mutex_unlock(&x->lock);
	free(text);
	if (!added)
		mg_websocket_write(conn, MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE, "", 0);
}

int tp_api_ws_data(struct mg_connection *conn, int bits, char *data, size_t len, void *cbdata)
{
	uintptr_t *slot = mg_get_user_connection_data(conn);
	int op = bits & 0x0f;

	(void)cbdata;
	if (op == MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE)
		return 0;
	/* Text or binary: the bytes go to the UART as they are (bmcd's
	 * serial websocket); a write error closes the socket. */
	if ((op == MG_WEBSOCKET_OPCODE_TEXT || op == MG_WEBSOCKET_OPCODE_BINARY) && len &&
	    uart_send((unsigned)*slot, data, len) < 0) {
		tp_log(TP_LOG_WARN, "slot %u: serial websocket: %s", (unsigned)*slot, tp_err_msg());
		return 0;
	}
	return 1;
}

void tp_api_ws_close(const struct mg_connection *conn, void *cbdata)
{
	struct tp_serve_uarts *x = ((struct tp_serve *)cbdata)->uarts;
	uintptr_t *slot = mg_get_user_connection_data(conn);

	if (!slot)
		return;
	pthread_mutex_lock(&x->lock);
	for (size_t i = 0; i < TP_SERVE_WS_MAX; i++)
		if (x->u[*slot - 1].ws[i] == conn)
			x->u[*slot - 1].ws[i] = NULL;
	pthread_mutex_unlock(&x->lock);
	free(slot);
}
