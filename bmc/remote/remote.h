/* SPDX-License-Identifier: MIT */
/*
 * tpkit --host: another BMC through its HTTP API, the one bmcd serves and
 * tpkit serve answers (docs/remote.md). This layer speaks the API only:
 * HTTPS with the server's key pinned on first use, login and the cached
 * token, bmcd's envelope. It prints nothing; the commands do.
 */
#ifndef TP_REMOTE_H
#define TP_REMOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "bmc/cli.h"

struct json_object;
struct tp_remote;

/*
 * HOST, HOST:PORT, or either after "https://" (port 443 by default). The
 * login comes from TPKIT_USER and TPKIT_PASSWORD when the server asks for
 * one; the token it gives is kept for the next run in the cache directory
 * ($XDG_CACHE_HOME/tpkit or ~/.cache/tpkit, mode 0600). Nothing is sent
 * before the first request.
 */
int tp_remote_open(const char *host, struct tp_remote **out);
void tp_remote_close(struct tp_remote *r);

/* The tpkit serve running on this machine (bmc/served.h), reached on its
 * recorded address with its key pinned from its own certificate: 1 and
 * *out; 0 when no server runs. */
int tp_remote_open_served(struct tp_remote **out);

/* "host:port", for messages. */
const char *tp_remote_name(const struct tp_remote *r);
/* The last reply's Server header named tpkit serve (remote.md section 4),
 * which takes parameters of its own that bmcd would not know. */
bool tp_remote_is_tpkit(const struct tp_remote *r);

/* Set when this run trusted the server's key for the first time: the
 * fingerprint ("sha256//BASE64") and the file it was written to, so the
 * command can tell the user. NULL otherwise. */
const char *tp_remote_pinned(const struct tp_remote *r, const char **file);

/*
 * GET /api/bmc?QUERY. On a 2xx the parsed body in *body (json_object_put()
 * it; NULL for an empty body). Otherwise -errno, with the server's own
 * message (the envelope's text) and the HTTP status in tp_err_msg():
 * 400/411 -EINVAL, 401/403 -EACCES, 404 -ENOENT, 409/503 -EBUSY,
 * 501 -EOPNOTSUPP, other -EIO; a server that cannot be reached
 * -EHOSTUNREACH, one whose key changed -EPERM.
 */
int tp_remote_get(struct tp_remote *r, const char *query, struct json_object **body);

/* GET /api/bmc + PATH ("/upload/7/cancel"), as tp_remote_get(). */
int tp_remote_get_path(struct tp_remote *r, const char *path, struct json_object **body);

/*
 * The envelope's value: GET QUERY and take response[0][key] ("result", or
 * "uart" for a console read). *val is owned by the caller.
 */
int tp_remote_result(struct tp_remote *r, const char *query, const char *key,
		     struct json_object **val);

/* A request whose answer is the envelope's "ok". */
int tp_remote_set(struct tp_remote *r, const char *query);

/* A request's query, as long as the builders below make it. */
#define TP_REMOTE_QUERY_MAX 64

/*
 * The power change of mask's slots as tpi sends it (serve.md section 4):
 * one `set power` for every slot at once, or, with reset, one `reset` per
 * slot. The queries go into q; returns how many.
 */
size_t tp_remote_power_queries(unsigned mask, bool on, bool reset,
			       char q[][TP_REMOTE_QUERY_MAX]);

/* slot's USB mode as the API's bits (0 host, 1 device, 2 flash, plus 4
 * for the BMC; without it the board's other port). mode is an
 * enum tp_usb_mode. */
void tp_remote_usb_query(char q[TP_REMOTE_QUERY_MAX], unsigned slot, unsigned mode, bool bmc);

/*
 * On the BMC itself: the queries' changes (each a `set` answered "ok", in
 * order, n of them) through the tpkit serve running here, the one owner of
 * the lines while it runs (docs/serve.md section 1). 1 when the server did
 * them; 0 when no server runs (the caller does them itself); -errno with
 * the server's reason prefixed with "tpkit serve on this BMC: ".
 */
int tp_remote_served_set(const char *const *queries, size_t n);

/*
 * POST /api/bmc/upload/HANDLE: size bytes read from fd as the first field
 * of a multipart/form-data body named name, streamed (never held whole).
 * progress(cookie, sent) as it goes, sent counting the image's bytes (not
 * the multipart framing: sent ends at size); a non-zero return stops the
 * upload (-ECANCELED).
 */
int tp_remote_upload(struct tp_remote *r, unsigned handle, const char *name, int fd,
		     uint64_t size, int (*progress)(void *cookie, uint64_t sent), void *cookie);

/* The percent-encoding of s (a file name, a URL, a console command) into
 * buf. 0, or -ENAMETOOLONG. */
int tp_remote_escape(const char *s, char *buf, size_t size);

/*
 * A websocket on PATH (bmcd's serial console, "/serial/ws?node=N"), after
 * the upgrade; its socket for poll(), frames through tp_remote_ws_*()
 * (bmc/remote/ws.c).
 */
struct tp_remote_ws;
int tp_remote_ws_open(struct tp_remote *r, const char *path, struct tp_remote_ws **out);
int tp_remote_ws_fd(const struct tp_remote_ws *w);
/* Never blocks. The data of the next whole frame in buf: its length; 0 when
 * it was a control frame (a ping, answered): call again; -EAGAIN when no
 * whole frame is here yet (poll the fd); -EPIPE when the server closed. */
ssize_t tp_remote_ws_read(struct tp_remote_ws *w, void *buf, size_t size);
/* len bytes (at most 64 KiB) to the server as one binary frame. */
int tp_remote_ws_write(struct tp_remote_ws *w, const void *buf, size_t len);
void tp_remote_ws_close(struct tp_remote_ws *w);

/* The commands tpkit --host runs (bmc/remote/cmd_*.c); main.c picks these
 * instead of the local ones. */
int tp_remote_cmd_power(struct tp_cli *c, int argc, char **argv);
int tp_remote_cmd_usb(struct tp_cli *c, int argc, char **argv);
int tp_remote_cmd_info(struct tp_cli *c, int argc, char **argv);
int tp_remote_cmd_flash(struct tp_cli *c, int argc, char **argv);
int tp_remote_cmd_console(struct tp_cli *c, int argc, char **argv);

/*
 * tpkit flash on the BMC while tpkit serve runs there: one slot's image, a
 * file on the BMC (sent as `local`, its absolute path) or a URL, flashed
 * by the server, this command following it as tpkit --host does; sha is
 * the user's, else the one published beside the image. 0 when no server
 * runs (the caller flashes itself), 1 when it ran, its exit code in
 * *code; -errno if the server could not be asked.
 */
int tp_remote_flash_served(const struct tp_cli *c, unsigned slot, const char *image,
			   const char *sha, int *code);

/* For the commands: tp_cli_ready(), then tp_remote_open(c->host). 0, or the
 * exit code with the error reported. */
int tp_remote_cli_open(const struct tp_cli *c, struct tp_remote **r);

/* tp_remote_close(), after telling on stderr of a key trusted for the first
 * time in this run. */
void tp_remote_cli_close(struct tp_remote *r);

struct tp_json;

/* --json: a result line's first fields over the API, the local commands'
 * (tp_cli_json_result, without a board) and the BMC spoken to ("host",
 * HOST:PORT; docs/json.md). The caller adds its own and closes it. */
void tp_remote_json_result(const struct tp_cli *c, struct tp_json *j,
			   const struct tp_remote *r, bool ok);

#endif
