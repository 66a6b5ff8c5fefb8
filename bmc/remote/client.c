// SPDX-License-Identifier: MIT
/*
 * The API client under tpkit --host: one libcurl handle (one kept-alive
 * connection) per run, bmcd's login and envelope (docs/remote.md; the API
 * is docs/serve.md's). The server's key, pinned on first use, is trust.c's.
 */
#include "remote_priv.h"
#include "common/atomic.h"
#include "common/err.h"
#include "common/slots.h"
#include "bmc/served.h"
#include "board/turingpi2/board.h"

#include <curl/curl.h>
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static size_t reply_cb(char *p, size_t size, size_t n, void *cookie)
{
	struct tp_remote *r = cookie;
	size_t len = size * n;
	char *grown;

	if (r->reply_len + len > REPLY_MAX) {
		r->reply_overflow = true;
		return 0;
	}
	if (!(grown = realloc(r->reply, r->reply_len + len + 1)))
		return 0;
	r->reply = grown;
	memcpy(r->reply + r->reply_len, p, len);
	r->reply_len += len;
	r->reply[r->reply_len] = '\0';
	return len;
}

/* The cache directory: $XDG_CACHE_HOME/tpkit, else ~/.cache/tpkit. */
static int cache_dir(char *buf, size_t size)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	int n;

	if (xdg && xdg[0] == '/')
		n = snprintf(buf, size, "%s/tpkit", xdg);
	else if (home && home[0] == '/')
		n = snprintf(buf, size, "%s/.cache/tpkit", home);
	else
		return tp_err_set(-ENOENT, "neither XDG_CACHE_HOME nor HOME is set: tpkit --host "
				  "keeps the server's key and the login token there");
	if (n < 0 || (size_t)n >= size)
		return tp_err_set(-ENAMETOOLONG, "the cache directory's path is too long");
	return 0;
}

/* The handle every request of r goes through (one kept-alive connection). */
static int curl_start(struct tp_remote *r)
{
	if (!(r->curl = curl_easy_init()))
		return tp_err_set(-ENOMEM, "cannot start libcurl");
	curl_easy_setopt(r->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->curl, CURLOPT_USERAGENT, "tpkit/" TPKIT_VERSION);
	curl_easy_setopt(r->curl, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(r->curl, CURLOPT_WRITEFUNCTION, reply_cb);
	curl_easy_setopt(r->curl, CURLOPT_WRITEDATA, r);
	return 0;
}

int tp_remote_open(const char *host, struct tp_remote **out)
{
	struct tp_remote *r;
	const char *h = host;
	char hostpart[256];
	unsigned long port = 443;
	FILE *f;
	int rc;

	if (!strncmp(h, "https://", 8))
		h += 8;
	if (!h[0] || strlen(h) >= sizeof(hostpart) || strchr(h, '/') || strchr(h, '@'))
		return tp_err_set(-EINVAL, "--host takes HOST or HOST:PORT, not \"%s\"", host);
	memcpy(hostpart, h, strlen(h) + 1);
	/* HOST:PORT; an IPv6 address needs its brackets: [::1]:8443. */
	char *colon = strrchr(hostpart, ':'), *end;
	if (colon && (hostpart[0] != '[' || colon > strchr(hostpart, ']'))) {
		errno = 0;
		port = strtoul(colon + 1, &end, 10);
		if (errno || *end || colon[1] == '\0' || port == 0 || port > 65535)
			return tp_err_set(-EINVAL, "--host \"%s\": the port is not 1-65535", host);
		*colon = '\0';
	}
	if (!(r = calloc(1, sizeof(*r))))
		return tp_err_set(-ENOMEM, "out of memory");
	snprintf(r->name, sizeof(r->name), "%s:%lu", hostpart, port);
	snprintf(r->base, sizeof(r->base), "https://%s", r->name);
	if ((rc = cache_dir(r->cache, sizeof(r->cache))) < 0) {
		free(r);
		return rc;
	}
	snprintf(r->hosts_file, sizeof(r->hosts_file), "%s/known_hosts", r->cache);
	snprintf(r->token_file, sizeof(r->token_file), "%s/token-%s", r->cache, r->name);
	tp_remote_pin_load(r);
	r->user = getenv("TPKIT_USER");
	r->password = getenv("TPKIT_PASSWORD");
	if ((f = fopen(r->token_file, "re"))) {
		if (fgets(r->token, sizeof(r->token), f))
			r->token[strcspn(r->token, "\r\n")] = '\0';
		fclose(f);
	}
	if ((rc = curl_start(r)) < 0) {
		free(r);
		return rc;
	}
	*out = r;
	return 0;
}

int tp_remote_open_served(struct tp_remote **out)
{
	struct tp_served s;
	struct tp_remote *r;
	char *pem = NULL;
	size_t len = 0;
	FILE *f;
	int rc = tp_served_load(&s);

	if (rc <= 0)
		return rc;
	if (!(r = calloc(1, sizeof(*r))))
		return tp_err_set(-ENOMEM, "out of memory");
	snprintf(r->name, sizeof(r->name), "%s:%d", s.addr, s.port);
	snprintf(r->base, sizeof(r->base), "https://%s", r->name);
	/* Its key is pinned from its own certificate file: the server is
	 * ours, no first use to trust and nothing to cache. */
	if (!(f = fopen(s.cert, "re")) || getdelim(&pem, &len, '\0', f) < 0 ||
	    tp_remote_pin_of_pem(pem, r->pin, sizeof(r->pin)) < 0)
		rc = tp_err_set(-EIO, "cannot read the running tpkit serve's certificate %s",
				s.cert);
	if (f)
		fclose(f);
	if (pem)
		explicit_bzero(pem, len); /* server.pem holds its private key too */
	free(pem);
	if (rc < 0 || (rc = curl_start(r)) < 0) {
		free(r);
		return rc;
	}
	*out = r;
	return 1;
}

void tp_remote_close(struct tp_remote *r)
{
	if (!r)
		return;
	curl_easy_cleanup(r->curl);
	free(r->reply);
	explicit_bzero(r->token, sizeof(r->token));
	free(r);
}

const char *tp_remote_name(const struct tp_remote *r)
{
	return r->name;
}

bool tp_remote_is_tpkit(const struct tp_remote *r)
{
	return r->tpkit;
}

/* One exchange; *status the HTTP status. The reply is in r->reply. */
static int perform(struct tp_remote *r, const char *url, const char *post,
		   curl_mime *mime, long *status)
{
	struct curl_slist *hdr = NULL;
	struct curl_header *server;
	char auth[200];
	CURLcode cc;
	int rc = 0;

	free(r->reply);
	r->reply = NULL;
	r->reply_len = 0;
	r->reply_overflow = false;
	curl_easy_setopt(r->curl, CURLOPT_URL, url);
	tp_remote_tls(r, r->curl);
	if (r->token[0]) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", r->token);
		hdr = curl_slist_append(hdr, auth);
		explicit_bzero(auth, sizeof(auth));
	}
	if (post) {
		hdr = curl_slist_append(hdr, "Content-Type: application/json");
		curl_easy_setopt(r->curl, CURLOPT_POSTFIELDS, post);
	} else if (mime) {
		curl_easy_setopt(r->curl, CURLOPT_MIMEPOST, mime);
	} else {
		curl_easy_setopt(r->curl, CURLOPT_HTTPGET, 1L);
	}
	curl_easy_setopt(r->curl, CURLOPT_HTTPHEADER, hdr);
	cc = curl_easy_perform(r->curl);
	curl_easy_setopt(r->curl, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(r->curl, CURLOPT_MIMEPOST, NULL);
	curl_slist_free_all(hdr);
	if (cc == CURLE_SSL_PINNEDPUBKEYNOTMATCH)
		return tp_err_set(-EPERM, "%s presented another key than the one trusted at first "
				  "use (%s): if its certificate was replaced on purpose (the BMC "
				  "re-flashed), delete its line there and run again",
				  r->name, r->hosts_file);
	if (cc == CURLE_ABORTED_BY_CALLBACK)
		return tp_err_set(-ECANCELED, "the upload to %s was stopped", r->name);
	if (cc == CURLE_WRITE_ERROR && r->reply_overflow)
		return tp_err_set(-EPROTO, "%s sent a reply larger than %u KiB", r->name,
				  REPLY_MAX / 1024);
	if (cc != CURLE_OK)
		return tp_err_set(cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST ||
						  cc == CURLE_OPERATION_TIMEDOUT
					  ? -EHOSTUNREACH
					  : -EIO,
				  "%s: %s", r->name, curl_easy_strerror(cc));
	curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, status);
	if (curl_easy_header(r->curl, "Server", 0, CURLH_HEADER, -1, &server) == CURLHE_OK)
		r->tpkit = !strncmp(server->value, "tpkit/", 6);
	if (!r->pin[0])
		rc = tp_remote_pin_save(r);
	return rc;
}

/* POST /api/bmc/authenticate; the token kept for the next run. */
static int login(struct tp_remote *r)
{
	json_object *req = json_object_new_object(), *ans, *id;
	char url[400];
	long status = 0;
	int rc;

	json_object_object_add(req, "username", json_object_new_string(r->user));
	json_object_object_add(req, "password", json_object_new_string(r->password));
	snprintf(url, sizeof(url), "%s/api/bmc/authenticate", r->base);
	r->token[0] = '\0';
	rc = perform(r, url, json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN), NULL,
		     &status);
	/* The request held the password: not left in freed memory. */
	{
		const char *s = json_object_to_json_string(req);
		explicit_bzero((char *)s, strlen(s));
	}
	json_object_put(req);
	if (rc < 0)
		return rc;
	if (status != 200)
		return tp_err_set(-EACCES, "%s refused the login of \"%s\" (HTTP %ld%s%.200s)",
				  r->name, r->user, status, r->reply_len ? ": " : "",
				  r->reply ? r->reply : "");
	ans = json_tokener_parse(r->reply ? r->reply : "");
	if (!json_object_object_get_ex(ans, "id", &id) || !json_object_is_type(id, json_type_string) ||
	    json_object_get_string_len(id) >= (int)sizeof(r->token)) {
		json_object_put(ans);
		return tp_err_set(-EPROTO, "%s answered the login without a token", r->name);
	}
	snprintf(r->token, sizeof(r->token), "%s", json_object_get_string(id));
	json_object_put(ans);
	explicit_bzero(r->reply, r->reply_len);
	/* A cache the next run can do without: a failure to keep it costs a
	 * login, not this command. */
	if (tp_dir_make(r->cache, 0700, 0) == 0)
		tp_file_write_atomic(r->token_file, r->token, strlen(r->token), 0600);
	return 0;
}

/* The server's words for a refusal: the envelope's text, else the body. */
static int refusal(struct tp_remote *r, long status)
{
	json_object *body = json_tokener_parse(r->reply ? r->reply : ""), *resp, *first, *val;
	char msg[400];
	int err;

	if (json_object_object_get_ex(body, "response", &resp) &&
	    (first = json_object_array_get_idx(resp, 0)) &&
	    json_object_object_get_ex(first, "result", &val))
		snprintf(msg, sizeof(msg), "%s", json_object_get_string(val));
	else
		snprintf(msg, sizeof(msg), "%.300s", r->reply && r->reply[0] ? r->reply : "no reason given");
	json_object_put(body);
	msg[strcspn(msg, "\r\n")] = '\0';
	switch (status) {
	case 400: case 411: err = -EINVAL; break;
	case 401: case 403: err = -EACCES; break;
	case 404: err = -ENOENT; break;
	case 409: case 503: err = -EBUSY; break;
	case 501: err = -EOPNOTSUPP; break;
	default: err = -EIO; break;
	}
	return tp_err_set(err, "%s: %s (HTTP %ld)", r->name, msg, status);
}

/* A request, logged in again once if the server refuses the token. */
static int request(struct tp_remote *r, const char *url, curl_mime *mime, long *status)
{
	int rc = perform(r, url, NULL, mime, status);

	if (rc < 0 || *status != 401)
		return rc;
	if (r->token[0]) {
		r->token[0] = '\0';
		unlink(r->token_file);
	}
	/* A streamed upload cannot be sent twice: its fd has moved on. */
	if (mime)
		return tp_err_set(-EACCES, "%s refused the login token during the upload; run "
				  "again", r->name);
	if (!r->user || !r->password)
		return tp_err_set(-EACCES, "%s asks for a login: set TPKIT_USER and TPKIT_PASSWORD "
				  "(the token it gives is kept in %s for the next runs)",
				  r->name, r->cache);
	if ((rc = login(r)) < 0)
		return rc;
	return perform(r, url, NULL, mime, status);
}

int tp_remote_get(struct tp_remote *r, const char *query, struct json_object **body)
{
	char path[2200];

	if (snprintf(path, sizeof(path), "?%s", query) >= (int)sizeof(path))
		return tp_err_set(-ENAMETOOLONG, "the request is too long");
	return tp_remote_get_path(r, path, body);
}

int tp_remote_get_path(struct tp_remote *r, const char *path, struct json_object **body)
{
	const char *query = path;
	char url[2400];
	long status = 0;
	int rc;

	*body = NULL;
	if (snprintf(url, sizeof(url), "%s/api/bmc%s", r->base, path) >= (int)sizeof(url))
		return tp_err_set(-ENAMETOOLONG, "the request is too long");
	if ((rc = request(r, url, NULL, &status)) < 0)
		return rc;
	if (status < 200 || status > 299)
		return refusal(r, status);
	if (!r->reply_len)
		return 0;
	if (!(*body = json_tokener_parse(r->reply)))
		return tp_err_set(-EPROTO, "%s answered \"%s\" with something that is not JSON: "
				  "%.80s", r->name, query, r->reply);
	return 0;
}

int tp_remote_result(struct tp_remote *r, const char *query, const char *key,
		     struct json_object **val)
{
	json_object *body, *resp, *first, *v;
	int rc = tp_remote_get(r, query, &body);

	*val = NULL;
	if (rc < 0)
		return rc;
	if (!json_object_object_get_ex(body, "response", &resp) ||
	    !(first = json_object_array_get_idx(resp, 0)) ||
	    !json_object_object_get_ex(first, key, &v)) {
		json_object_put(body);
		return tp_err_set(-EPROTO, "%s answered \"%s\" without response[0].%s", r->name,
				  query, key);
	}
	*val = json_object_get(v);
	json_object_put(body);
	return 0;
}

int tp_remote_set(struct tp_remote *r, const char *query)
{
	json_object *v;
	int rc = tp_remote_result(r, query, "result", &v);

	if (rc == 0 && (!json_object_is_type(v, json_type_string) ||
			strcmp(json_object_get_string(v), "ok")))
		rc = tp_err_set(-EPROTO, "%s answered \"%s\" with %s, not \"ok\"", r->name, query,
				json_object_to_json_string(v));
	json_object_put(v);
	return rc;
}

size_t tp_remote_power_queries(unsigned mask, bool on, bool reset,
			       char q[][TP_REMOTE_QUERY_MAX])
{
	size_t n = 0, len = 0;

	for (unsigned s = 1; s <= TP_BOARD_SLOTS; s++) {
		if (!(mask & TP_SLOT_BIT(s)))
			continue;
		if (reset) {
			snprintf(q[n++], TP_REMOTE_QUERY_MAX, "opt=set&type=reset&node=%u", s - 1);
			continue;
		}
		if (!n)
			len = (size_t)snprintf(q[n++], TP_REMOTE_QUERY_MAX, "opt=set&type=power");
		len += (size_t)snprintf(q[0] + len, TP_REMOTE_QUERY_MAX - len, "&node%u=%d", s, on);
	}
	return n;
}

void tp_remote_usb_query(char q[TP_REMOTE_QUERY_MAX], unsigned slot, unsigned mode, bool bmc)
{
	snprintf(q, TP_REMOTE_QUERY_MAX, "opt=set&type=usb&node=%u&mode=%u", slot - 1,
		 mode | (bmc ? 4 : 0));
}

int tp_remote_served_set(const char *const *queries, size_t n)
{
	struct tp_remote *r;
	int rc = tp_remote_open_served(&r);

	if (rc <= 0)
		return rc < 0 ? tp_err_prefix(rc, "tpkit serve on this BMC: ") : 0;
	for (size_t i = 0; i < n && rc > 0; i++)
		if ((rc = tp_remote_set(r, queries[i])) < 0)
			tp_err_prefix(rc, "tpkit serve on this BMC: ");
		else
			rc = 1;
	tp_remote_close(r);
	return rc;
}

struct upload {
	int fd;
	uint64_t read;  /* the image's bytes handed to curl: its own count has
			 * the multipart framing in it */
	int (*progress)(void *cookie, uint64_t sent);
	void *cookie;
	int err;
};

static size_t upload_read(char *buf, size_t size, size_t n, void *cookie)
{
	struct upload *u = cookie;
	ssize_t got;

	do
		got = read(u->fd, buf, size * n);
	while (got < 0 && errno == EINTR);
	if (got < 0) {
		u->err = -errno;
		return CURL_READFUNC_ABORT;
	}
	u->read += (uint64_t)got;
	return (size_t)got;
}

static int upload_progress(void *cookie, curl_off_t dltotal, curl_off_t dlnow,
			   curl_off_t ultotal, curl_off_t ulnow)
{
	struct upload *u = cookie;

	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	return u->progress ? u->progress(u->cookie, u->read) : 0;
}

int tp_remote_upload(struct tp_remote *r, unsigned handle, const char *name, int fd,
		     uint64_t size, int (*progress)(void *cookie, uint64_t sent), void *cookie)
{
	struct upload u = { .fd = fd, .progress = progress, .cookie = cookie };
	curl_mime *mime = curl_mime_init(r->curl);
	curl_mimepart *part = curl_mime_addpart(mime);
	char url[400];
	long status = 0;
	int rc;

	curl_mime_name(part, "file");
	curl_mime_filename(part, name);
	curl_mime_type(part, "application/octet-stream");
	curl_mime_data_cb(part, (curl_off_t)size, upload_read, NULL, NULL, &u);
	snprintf(url, sizeof(url), "%s/api/bmc/upload/%u", r->base, handle);
	curl_easy_setopt(r->curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(r->curl, CURLOPT_XFERINFOFUNCTION, upload_progress);
	curl_easy_setopt(r->curl, CURLOPT_XFERINFODATA, &u);
	rc = request(r, url, mime, &status);
	curl_easy_setopt(r->curl, CURLOPT_NOPROGRESS, 1L);
	curl_mime_free(mime);
	if (u.err)
		return tp_err_set(u.err, "cannot read the image: %s", strerror(-u.err));
	if (rc < 0)
		return rc;
	return status >= 200 && status <= 299 ? 0 : refusal(r, status);
}

int tp_remote_escape(const char *s, char *buf, size_t size)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (o + 4 > size)
			return tp_err_set(-ENAMETOOLONG, "\"%.40s...\" is too long for a request", s);
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    strchr("-._~", ch)) {
			buf[o++] = (char)ch;
		} else {
			buf[o++] = '%';
			buf[o++] = hex[ch >> 4];
			buf[o++] = hex[ch & 15];
		}
	}
	buf[o] = '\0';
	return 0;
}
