// SPDX-License-Identifier: MIT
/*
 * tpkit serve's users, tokens and bans, as bmcd's (serve.md §3).
 *
 * Two locks. `lock` guards the token and peer tables and is held only for
 * table work, so a Bearer check (every request of the web UI and of tpi)
 * never waits for a password hash. `verify_lock` serialises password checks
 * from the ban test to the recording of the result: the ban then counts
 * exactly (N parallel guesses from a peer at its fourth failure cannot all
 * get through before the fifth bans), and one core at most burns on
 * crypt(3). Password checks (logins, Basic requests) are rare next to
 * Bearer ones, so their waiting for one another costs little.
 * Order: verify_lock, then lock.
 *
 * Secrets are never echoed: unlike bmcd's "token <t> is not registered",
 * no reason names the token, since routes.c logs every reason and a token
 * is as good as the password. Decoded Basic credentials and crypt(3)'s
 * work area are wiped after use.
 */
#include "auth.h"
#include "common/base64.h"
#include "common/err.h"
#include "common/path.h"

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Bounds keep memory fixed whatever clients do: at most TOKENS_MAX live
 * tokens (a login when all are live drops the least recently used one)
 * and PEERS_MAX peers' penalties (see peer_get for which one goes). */
#define TOKENS_MAX 256
#define PEERS_MAX 64
#define PEER_LEN 64    /* CivetWeb's remote_addr is 48 bytes */
#define BAN_LEVELS 10  /* the ban doubles at most 2^10 times, as bmcd's */
#define HASH_MAX 512   /* longer shadow hashes are not ours to check */
#define BASIC_MAX 1024 /* base64 characters of Basic credentials */
#define BAN_TEXT "Exceeded allowed authentication attempts. Access blocked for "

/* What crypt_r hashes for a user who is not there, so that the answer
 * takes as long as for one who is (SHA-512 at the default 5000 rounds,
 * as the firmware's and openssl passwd -6's hashes are). */
#define NO_USER_HASH "$6$tpkit.no.user$"

static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

struct token {
	char id[TP_AUTH_TOKEN_LEN];
	uint64_t last_ms; /* last successful use: the expiry slides from it */
	bool live;
};

struct peer {
	char addr[PEER_LEN];
	unsigned count;     /* failures since the last success */
	uint64_t until_ms;  /* banned while now < until_ms */
	uint64_t ban_ms;    /* the length of that ban, for its message */
	uint64_t seen_ms;   /* for the least-recently-used eviction */
	bool used;
};

struct tp_auth {
	struct tp_auth_opts o;
	char shadow[TP_PATH_MAX];
	uint64_t expiry_ms;
	pthread_mutex_t lock, verify_lock;
	struct crypt_data *cd; /* ~32 KiB: one, under verify_lock */
	struct token tok[TOKENS_MAX];
	struct peer peer[PEERS_MAX];
};

enum challenge { CH_NONE, CH_BASIC, CH_BEARER, CH_REALM };

static uint64_t now_ms(const struct tp_auth *a)
{
	struct timespec ts;

	if (a->o.now_ms)
		return a->o.now_ms();
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * Durations in text, simpler than bmcd's humantime: under a minute in
 * seconds with up to three decimals ("0s", "0.4s", "1.25s", "59s"); from a
 * minute on in whole days, hours, minutes and seconds, the zero ones left
 * out and the fraction of a second dropped ("1m", "2m 5s", "1h 4m",
 * "17h 4m").
 */
static void duration_format(char *buf, size_t size, uint64_t ms)
{
	static const struct { char unit; uint64_t ms; } u[] = {
		{ 'd', 86400000 }, { 'h', 3600000 }, { 'm', 60000 }, { 's', 1000 },
	};
	size_t n = 0;

	if (ms < 60000) {
		unsigned frac = (unsigned)(ms % 1000), digits = 3;

		for (; frac && frac % 10 == 0; frac /= 10)
			digits--;
		if (frac)
			snprintf(buf, size, "%u.%0*us", (unsigned)(ms / 1000), (int)digits, frac);
		else
			snprintf(buf, size, "%us", (unsigned)(ms / 1000));
		return;
	}
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(u) / sizeof(u[0]) && n < size; i++) {
		uint64_t v = ms / u[i].ms;

		ms %= u[i].ms;
		if (v)
			n += (size_t)snprintf(buf + n, size - n, "%s%llu%c", n ? " " : "",
					      (unsigned long long)v, u[i].unit);
	}
}

/* Fill d and return -EACCES. The Bearer challenge carries the reason, as
 * bmcd's error_description does. */
static int deny(struct tp_auth_denial *d, int status, enum challenge ch, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int deny(struct tp_auth_denial *d, int status, enum challenge ch, const char *fmt, ...)
{
	va_list ap;

	d->status = status;
	va_start(ap, fmt);
	vsnprintf(d->reason, sizeof(d->reason), fmt, ap);
	va_end(ap);
	switch (ch) {
	case CH_NONE:
		d->www_authenticate[0] = '\0';
		break;
	case CH_BASIC:
		snprintf(d->www_authenticate, sizeof(d->www_authenticate),
			 "Basic realm=\"" TP_AUTH_REALM "\"");
		break;
	case CH_BEARER:
		snprintf(d->www_authenticate, sizeof(d->www_authenticate),
			 "Bearer realm=\"" TP_AUTH_REALM "\" error=\"invalid_token\" "
			 "error_description=\"%s\"", d->reason);
		break;
	case CH_REALM:
		snprintf(d->www_authenticate, sizeof(d->www_authenticate),
			 "realm=\"" TP_AUTH_REALM "\"");
		break;
	}
	return -EACCES;
}

/* ---- peers and bans (lock held) ------------------------------------------ */

static bool peer_banned(const struct peer *p, uint64_t now)
{
	return p && p->until_ms > now;
}

static struct peer *peer_find(struct tp_auth *a, const char *addr)
{
	for (size_t i = 0; i < PEERS_MAX; i++)
		if (a->peer[i].used && !strncmp(a->peer[i].addr, addr, PEER_LEN - 1))
			return &a->peer[i];
	return NULL;
}

/*
 * The peer's entry, made if new. A full table gives up the least recently
 * seen peer that is not banned; if every one is banned, the ban that ends
 * first goes: forgetting a ban early costs less than leaving a new peer
 * uncounted, which would let it guess without limit.
 */
static struct peer *peer_get(struct tp_auth *a, const char *addr, uint64_t now)
{
	struct peer *p = peer_find(a, addr), *lru = NULL, *soonest = NULL;

	if (p)
		return p;
	for (size_t i = 0; i < PEERS_MAX && !p; i++) {
		struct peer *q = &a->peer[i];

		if (!q->used)
			p = q;
		else if (!peer_banned(q, now) && (!lru || q->seen_ms < lru->seen_ms))
			lru = q;
		else if (peer_banned(q, now) && (!soonest || q->until_ms < soonest->until_ms))
			soonest = q;
	}
	p = p ? p : lru ? lru : soonest;
	memset(p, 0, sizeof(*p));
	snprintf(p->addr, sizeof(p->addr), "%s", addr);
	p->used = true;
	return p;
}

/*
 * One more failure. From the attempts-th on, each bans for
 * ban_base_ms * 2^(count - attempts), the exponent capped at BAN_LEVELS.
 * The count outlives the ban: the first failure after a ban ends bans
 * again at once, for twice as long, as bmcd's does. Only a success
 * clears it.
 */
static void peer_fail(struct tp_auth *a, const char *addr, uint64_t now)
{
	struct peer *p = peer_get(a, addr, now);
	unsigned level;

	p->seen_ms = now;
	if (++p->count < a->o.attempts)
		return;
	level = p->count - a->o.attempts;
	p->ban_ms = (uint64_t)a->o.ban_base_ms << (level < BAN_LEVELS ? level : BAN_LEVELS);
	p->until_ms = now + p->ban_ms;
}

static void peer_clear(struct tp_auth *a, const char *addr)
{
	struct peer *p = peer_find(a, addr);

	if (p)
		memset(p, 0, sizeof(*p));
}

/* 0, or -EACCES with the ban's reason if the peer is banned now. */
static int ban_test(struct tp_auth *a, const char *addr, uint64_t now, int status,
		    struct tp_auth_denial *d)
{
	struct peer *p = peer_find(a, addr);
	char dur[64];

	if (!peer_banned(p, now))
		return 0;
	p->seen_ms = now;
	duration_format(dur, sizeof(dur), p->ban_ms);
	return deny(d, status, status == 401 ? CH_BASIC : CH_NONE, BAN_TEXT "%s", dur);
}

/* ---- passwords (verify_lock held) ----------------------------------------- */

/*
 * user's hash from the shadow file, read anew on each check (it is small,
 * and passwd(1) may have changed it). 0, or -ENOENT if the user is not
 * there or cannot log in (an empty hash, or one starting with '*' or '!':
 * locked or disabled).
 */
static int shadow_hash(const struct tp_auth *a, const char *user, char *hash, size_t size)
{
	size_t ulen = strlen(user), hlen;
	char *line = NULL, *h;
	size_t cap = 0;
	int rc = -ENOENT;
	FILE *f;

	if (!ulen || strchr(user, ':') || !(f = fopen(a->shadow, "re")))
		return -ENOENT;
	while (getline(&line, &cap, f) > 0) {
		if (strncmp(line, user, ulen) || line[ulen] != ':')
			continue;
		h = line + ulen + 1;
		hlen = strcspn(h, ":\n");
		if (hlen && hlen < size && h[0] != '*' && h[0] != '!') {
			memcpy(hash, h, hlen);
			hash[hlen] = '\0';
			rc = 0;
		}
		break;
	}
	if (line)
		OPENSSL_cleanse(line, cap);
	free(line);
	fclose(f);
	return rc;
}

static bool password_ok(struct tp_auth *a, const char *user, const char *password)
{
	char hash[HASH_MAX];
	bool known = shadow_hash(a, user, hash, sizeof(hash)) == 0;
	const char *setting = known ? hash : NO_USER_HASH;
	const char *out;
	bool ok;

	memset(a->cd, 0, sizeof(*a->cd));
	out = crypt_r(password, setting, a->cd);
	/* crypt_r fails with NULL or a string starting with '*'. */
	ok = known && out && out[0] != '*' && strlen(out) == strlen(hash) &&
	     CRYPTO_memcmp(out, hash, strlen(hash)) == 0;
	OPENSSL_cleanse(a->cd, sizeof(*a->cd));
	OPENSSL_cleanse(hash, sizeof(hash));
	return ok;
}

/*
 * The password path of a login (status 403) or a Basic check (401): the
 * ban test, the check itself, the result counted. While banned, nothing
 * is checked.
 */
static int verify(struct tp_auth *a, const char *peer, const char *user, const char *password,
		  int status, struct tp_auth_denial *d)
{
	uint64_t now;
	bool ok;
	int rc;

	pthread_mutex_lock(&a->verify_lock);
	pthread_mutex_lock(&a->lock);
	rc = ban_test(a, peer, now_ms(a), status, d);
	pthread_mutex_unlock(&a->lock);
	if (rc < 0)
		goto out;
	ok = password_ok(a, user, password);
	pthread_mutex_lock(&a->lock);
	now = now_ms(a);
	/* An unknown token (bearer(), without verify_lock) may have banned the
	 * peer meanwhile: the ban wins, even over a right password. */
	rc = ban_test(a, peer, now, status, d);
	if (rc == 0 && ok) {
		peer_clear(a, peer);
	} else if (rc == 0) {
		peer_fail(a, peer, now);
		/* The failure that bans answers with the ban, as bmcd's does. */
		if ((rc = ban_test(a, peer, now, status, d)) == 0)
			rc = deny(d, status, status == 401 ? CH_BASIC : CH_NONE,
				  "credentials incorrect");
	}
	pthread_mutex_unlock(&a->lock);
out:
	pthread_mutex_unlock(&a->verify_lock);
	return rc;
}

/* ---- tokens (lock held) ---------------------------------------------------- */

static bool token_alive(const struct tp_auth *a, const struct token *t, uint64_t now)
{
	return now - t->last_ms < a->expiry_ms;
}

static void token_drop(struct token *t)
{
	OPENSSL_cleanse(t, sizeof(*t));
}

/* A new token in a free slot, expired ones purged first. */
static int token_issue(struct tp_auth *a, uint64_t now, char out[TP_AUTH_TOKEN_LEN + 1])
{
	unsigned char rnd[96];
	struct token *t = NULL;
	size_t n = 0;

	for (size_t i = 0; i < TOKENS_MAX; i++) {
		struct token *u = &a->tok[i];

		if (u->live && !token_alive(a, u, now))
			token_drop(u);
		if (!u->live && (!t || t->live))
			t = u;
		else if (u->live && (!t || (t->live && u->last_ms < t->last_ms)))
			t = u; /* the least recently used, if all are live */
	}
	/* Rejection sampling: bytes of 248 and above (62 * 4) are drawn again,
	 * so that every character is equally likely. */
	while (n < TP_AUTH_TOKEN_LEN) {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
			OPENSSL_cleanse(out, TP_AUTH_TOKEN_LEN + 1);
			return -EIO;
		}
		for (size_t i = 0; i < sizeof(rnd) && n < TP_AUTH_TOKEN_LEN; i++)
			if (rnd[i] < 248)
				out[n++] = alnum[rnd[i] % 62];
	}
	out[n] = '\0';
	OPENSSL_cleanse(rnd, sizeof(rnd));
	token_drop(t);
	memcpy(t->id, out, TP_AUTH_TOKEN_LEN);
	t->last_ms = now;
	t->live = true;
	return 0;
}

/* The live or expired entry of this token, compared in constant time. */
static struct token *token_find(struct tp_auth *a, const char *id)
{
	if (strlen(id) != TP_AUTH_TOKEN_LEN)
		return NULL;
	for (size_t i = 0; i < TOKENS_MAX; i++)
		if (a->tok[i].live && !CRYPTO_memcmp(a->tok[i].id, id, TP_AUTH_TOKEN_LEN))
			return &a->tok[i];
	return NULL;
}

static int bearer(struct tp_auth *a, const char *peer, const char *id, struct tp_auth_denial *d)
{
	struct token *t;
	uint64_t now;
	char dur[64];
	int rc = 0;

	pthread_mutex_lock(&a->lock);
	now = now_ms(a);
	if ((rc = ban_test(a, peer, now, 401, d)) < 0)
		goto out;
	if (!(t = token_find(a, id))) {
		peer_fail(a, peer, now);
		if ((rc = ban_test(a, peer, now, 401, d)) == 0)
			rc = deny(d, 401, CH_BEARER, "token is not registered");
	} else if (!token_alive(a, t, now)) {
		/* Not a failure: its owner knew it. Removed, as bmcd does. The
		 * time is since it expired (bmcd's says since its last use). */
		duration_format(dur, sizeof(dur), now - t->last_ms - a->expiry_ms);
		token_drop(t);
		rc = deny(d, 401, CH_BEARER, "token expired %s ago", dur);
	} else {
		t->last_ms = now;
		peer_clear(a, peer);
	}
out:
	pthread_mutex_unlock(&a->lock);
	return rc;
}

/* ---- the API ---------------------------------------------------------------- */

int tp_auth_new(struct tp_auth **ap, const struct tp_auth_opts *o)
{
	struct tp_auth *a;
	int rc, fd;

	*ap = NULL;
	if (!(a = calloc(1, sizeof(*a))) || !(a->cd = calloc(1, sizeof(*a->cd)))) {
		free(a);
		return tp_err_set(-ENOMEM, "out of memory for the authentication tables");
	}
	if (o)
		a->o = *o;
	if (!a->o.shadow)
		a->o.shadow = "/etc/shadow";
	if (!a->o.attempts)
		a->o.attempts = 5;
	if (!a->o.token_expiry_s)
		a->o.token_expiry_s = 10800;
	if (!a->o.ban_base_ms)
		a->o.ban_base_ms = 60000;
	a->expiry_ms = (uint64_t)a->o.token_expiry_s * 1000;
	if ((rc = tp_path(a->shadow, sizeof(a->shadow), "%s", a->o.shadow)) < 0)
		goto fail;
	/* A missing file only means nobody can log in yet (it is read on each
	 * check); an unreadable one means tpkit serve is not running as root,
	 * and every login would fail without a word. */
	if ((fd = open(a->shadow, O_RDONLY | O_CLOEXEC)) >= 0) {
		close(fd);
	} else if (errno != ENOENT) {
		rc = tp_err_set(-errno, "cannot read %s: %s; the passwords are checked against it",
				a->shadow, strerror(errno));
		goto fail;
	}
	pthread_mutex_init(&a->lock, NULL);
	pthread_mutex_init(&a->verify_lock, NULL);
	*ap = a;
	return 0;
fail:
	free(a->cd);
	free(a);
	return rc;
}

void tp_auth_free(struct tp_auth *a)
{
	if (!a)
		return;
	pthread_mutex_destroy(&a->lock);
	pthread_mutex_destroy(&a->verify_lock);
	OPENSSL_cleanse(a->tok, sizeof(a->tok));
	free(a->cd);
	free(a);
}

int tp_auth_login(struct tp_auth *a, const char *peer, const char *user, const char *password,
		  char token[TP_AUTH_TOKEN_LEN + 1], struct tp_auth_denial *d)
{
	int rc;

	token[0] = '\0';
	peer = peer ? peer : "";
	if ((rc = verify(a, peer, user ? user : "", password ? password : "", 403, d)) < 0)
		return rc;
	pthread_mutex_lock(&a->lock);
	rc = token_issue(a, now_ms(a), token);
	pthread_mutex_unlock(&a->lock);
	/* Not the client's fault, hence not a 403 (auth.h's statuses are
	 * those of refusals); it happens only when OpenSSL's RNG is broken. */
	if (rc < 0)
		return deny(d, 500, CH_NONE, "no random bytes for a token");
	return 0;
}

/* "user:password" in base64: checked, then wiped. */
static int basic(struct tp_auth *a, const char *peer, const char *b64, struct tp_auth_denial *d)
{
	unsigned char buf[BASIC_MAX / 4 * 3 + 1];
	size_t len = strlen(b64);
	char *colon;
	long n;
	int rc;

	if (len > BASIC_MAX || (n = tp_base64_decode(b64, len, buf)) < 0 ||
	    memchr(buf, '\0', (size_t)n) || !(colon = memchr(buf, ':', (size_t)n))) {
		rc = deny(d, 401, CH_BASIC, "malformed authorization header");
		goto out;
	}
	buf[n] = '\0';
	*colon = '\0';
	rc = verify(a, peer, (char *)buf, colon + 1, 401, d);
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	return rc;
}

/*
 * The scheme word must be exact and followed by one space, as bmcd's.
 * A header with no scheme to try (absent, malformed, of another scheme)
 * guesses nothing, so it does not count towards a ban.
 */
int tp_auth_check(struct tp_auth *a, const char *peer, const char *authorization,
		  struct tp_auth_denial *d)
{
	const char *h = authorization, *sp;
	int rc;

	peer = peer ? peer : "";
	if (!h || !*h)
		return deny(d, 401, CH_BASIC, "no authorization header provided");
	pthread_mutex_lock(&a->lock);
	rc = ban_test(a, peer, now_ms(a), 401, d);
	pthread_mutex_unlock(&a->lock);
	if (rc < 0)
		return rc;
	sp = strchr(h, ' ');
	if (!sp || sp == h || !sp[1] || sp[1] == ' ')
		return deny(d, 401, CH_BASIC, "malformed authorization header");
	if (sp - h == 6 && !strncmp(h, "Bearer", 6))
		return bearer(a, peer, sp + 1, d);
	if (sp - h == 5 && !strncmp(h, "Basic", 5))
		return basic(a, peer, sp + 1, d);
	return deny(d, 401, CH_REALM, "unsupported authorization scheme");
}
