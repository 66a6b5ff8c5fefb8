// SPDX-License-Identifier: MIT
/* tpkit serve's authentication (bmc/serve/auth.c, serve.md §3) on a fake
 * clock and a fake root's etc/shadow: logins, tokens and their sliding
 * expiry, Bearer and Basic checks, malformed headers, bans and their
 * doubling, the bounded tables, and no token in any denial. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <crypt.h>
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bmc/serve/auth.h"
#include "common/base64.h"
#include "common/path.h"

#define MIN 60000ull
#define EXPIRY_MS (10800 * 1000ull)
#define BAN_TEXT "Exceeded allowed authentication attempts. Access blocked for "

static char root[512];
static uint64_t clock_ms;

static uint64_t fake_now(void)
{
	return clock_ms;
}

static int setup(void **state)
{
	const char *tmp = getenv("TMPDIR");
	struct crypt_data cd;
	char path[600];
	const char *h;
	FILE *f;

	(void)state;
	snprintf(root, sizeof(root), "%s/tpkit-test-auth.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(root))
		return -1;
	snprintf(path, sizeof(path), "%s/etc", root);
	if (mkdir(path, 0700) < 0)
		return -1;
	memset(&cd, 0, sizeof(cd));
	if (!(h = crypt_r("turing", "$6$abcdefgh$", &cd)) || h[0] != '$')
		return -1;
	snprintf(path, sizeof(path), "%s/etc/shadow", root);
	if (!(f = fopen(path, "w")))
		return -1;
	fprintf(f, "daemon:*:19000:0:99999:7:::\n"
		   "root:%s:19000:0:99999:7:::\n"
		   "locked:!%s:19000:0:99999:7:::\n"
		   "nopw::19000:0:99999:7:::\n", h, h);
	fclose(f);
	tp_root_set(root);
	return 0;
}

static int teardown(void **state)
{
	char cmd[600];

	(void)state;
	tp_root_set("/");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

/* A fresh tp_auth per test, the clock at a fixed start. */
static struct tp_auth *new_auth(unsigned attempts, unsigned ban_ms)
{
	struct tp_auth_opts o = { .attempts = attempts, .ban_base_ms = ban_ms, .now_ms = fake_now };
	struct tp_auth *a;

	clock_ms = 1000000;
	assert_int_equal(tp_auth_new(&a, &o), 0);
	return a;
}

static int login(struct tp_auth *a, const char *peer, const char *user, const char *pw,
		 char *tok, struct tp_auth_denial *d)
{
	memset(d, 0, sizeof(*d));
	return tp_auth_login(a, peer, user, pw, tok, d);
}

static int check(struct tp_auth *a, const char *peer, const char *hdr, struct tp_auth_denial *d)
{
	memset(d, 0, sizeof(*d));
	return tp_auth_check(a, peer, hdr, d);
}

static int check_bearer(struct tp_auth *a, const char *peer, const char *tok,
			struct tp_auth_denial *d)
{
	char h[128];

	snprintf(h, sizeof(h), "Bearer %s", tok);
	return check(a, peer, h, d);
}

static int check_basic(struct tp_auth *a, const char *peer, const char *cred,
		       struct tp_auth_denial *d)
{
	char h[256] = "Basic ";

	tp_base64_encode(cred, strlen(cred), h + 6, true);
	return check(a, peer, h, d);
}

static void expect_denial(const struct tp_auth_denial *d, int status, const char *www,
			  const char *reason)
{
	assert_int_equal(d->status, status);
	assert_string_equal(d->www_authenticate, www);
	assert_string_equal(d->reason, reason);
}

static const char basic_www[] = "Basic realm=\"" TP_AUTH_REALM "\"";

static void login_and_bearer(void **state)
{
	char tok[TP_AUTH_TOKEN_LEN + 1], tok2[TP_AUTH_TOKEN_LEN + 1];
	struct tp_auth_denial d;
	struct tp_auth *a = new_auth(0, 0);

	(void)state;
	assert_int_equal(login(a, "10.0.0.2", "root", "turing", tok, &d), 0);
	assert_int_equal(strlen(tok), TP_AUTH_TOKEN_LEN);
	for (size_t i = 0; i < TP_AUTH_TOKEN_LEN; i++)
		assert_true(isalnum((unsigned char)tok[i]));
	assert_int_equal(check_bearer(a, "10.0.0.2", tok, &d), 0);
	/* Tokens are not bound to the peer that logged in. */
	assert_int_equal(check_bearer(a, "10.0.0.3", tok, &d), 0);
	assert_int_equal(login(a, "10.0.0.2", "root", "turing", tok2, &d), 0);
	assert_string_not_equal(tok, tok2);
	assert_int_equal(check_bearer(a, "10.0.0.2", tok, &d), 0);

	assert_int_equal(login(a, "10.0.0.2", "root", "Turing", tok2, &d), -EACCES);
	expect_denial(&d, 403, "", "credentials incorrect");
	assert_string_equal(tok2, "");
	assert_int_equal(login(a, "10.0.0.2", "nobody", "turing", tok2, &d), -EACCES);
	expect_denial(&d, 403, "", "credentials incorrect");
	assert_int_equal(login(a, "10.0.0.2", NULL, NULL, tok2, &d), -EACCES);
	expect_denial(&d, 403, "", "credentials incorrect");
	tp_auth_free(a);
}

/* Locked ('!'), disabled ('*') and empty hashes cannot log in. */
static void locked_users(void **state)
{
	char tok[TP_AUTH_TOKEN_LEN + 1];
	struct tp_auth_denial d;
	struct tp_auth *a = new_auth(100, 0);

	(void)state;
	assert_int_equal(login(a, "p", "daemon", "*", tok, &d), -EACCES);
	assert_int_equal(login(a, "p", "daemon", "", tok, &d), -EACCES);
	assert_int_equal(login(a, "p", "locked", "turing", tok, &d), -EACCES);
	expect_denial(&d, 403, "", "credentials incorrect");
	assert_int_equal(login(a, "p", "nopw", "", tok, &d), -EACCES);
	assert_int_equal(check_basic(a, "p", "locked:turing", &d), -EACCES);
	expect_denial(&d, 401, basic_www, "credentials incorrect");
	tp_auth_free(a);
}

static void ban_and_release(void **state)
{
	char tok[TP_AUTH_TOKEN_LEN + 1];
	struct tp_auth_denial d;
	struct tp_auth *a = new_auth(0, 0);

	(void)state;
	for (int i = 0; i < 4; i++) {
		assert_int_equal(login(a, "10.0.0.9", "root", "wrong", tok, &d), -EACCES);
		expect_denial(&d, 403, "", "credentials incorrect");
	}
	/* The fifth failure bans, and says so. */
	assert_int_equal(login(a, "10.0.0.9", "root", "wrong", tok, &d), -EACCES);
	expect_denial(&d, 403, "", BAN_TEXT "1m");
	/* The right password is not even checked; nor Basic, nor a token. */
	clock_ms += MIN - 1;
	assert_int_equal(login(a, "10.0.0.9", "root", "turing", tok, &d), -EACCES);
	expect_denial(&d, 403, "", BAN_TEXT "1m");
	assert_int_equal(check_basic(a, "10.0.0.9", "root:turing", &d), -EACCES);
	expect_denial(&d, 401, basic_www, BAN_TEXT "1m");
	/* Another peer is not banned. */
	assert_int_equal(login(a, "10.0.0.10", "root", "turing", tok, &d), 0);
	assert_int_equal(check_bearer(a, "10.0.0.9", tok, &d), -EACCES);
	expect_denial(&d, 401, basic_www, BAN_TEXT "1m");
	/* A missing header is still just that. */
	assert_int_equal(check(a, "10.0.0.9", NULL, &d), -EACCES);
	assert_string_equal(d.reason, "no authorization header provided");

	/* The ban over, the right password works and clears the count. */
	clock_ms += 1;
	assert_int_equal(login(a, "10.0.0.9", "root", "turing", tok, &d), 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(login(a, "10.0.0.9", "root", "wrong", tok, &d), -EACCES);
		expect_denial(&d, 403, "", "credentials incorrect");
	}
	assert_int_equal(check_basic(a, "10.0.0.9", "root:turing", &d), 0);
	assert_int_equal(login(a, "10.0.0.9", "root", "wrong", tok, &d), -EACCES);
	expect_denial(&d, 403, "", "credentials incorrect");
	tp_auth_free(a);
}

/* After a ban, the next failure bans at once for twice as long, up to
 * 2^10 times the first ban. */
static void ban_doubles(void **state)
{
	static const char *const want[] = { "1m", "2m", "4m", "8m", "16m", "32m", "1h 4m",
					    "2h 8m", "4h 16m", "8h 32m", "17h 4m", "17h 4m" };
	char tok[TP_AUTH_TOKEN_LEN + 1], text[128];
	struct tp_auth_denial d;
	struct tp_auth *a = new_auth(0, 0);

	(void)state;
	for (int i = 0; i < 5; i++)
		login(a, "p", "root", "wrong", tok, &d);
	expect_denial(&d, 403, "", BAN_TEXT "1m");
	clock_ms += MIN;
	assert_int_equal(login(a, "p", "root", "wrong", tok, &d), -EACCES);
	expect_denial(&d, 403, "", BAN_TEXT "2m");
	clock_ms += MIN;
	assert_int_equal(login(a, "p", "root", "turing", tok, &d), -EACCES);
	expect_denial(&d, 403, "", BAN_TEXT "2m");
	clock_ms += MIN;
	assert_int_equal(login(a, "p", "root", "turing", tok, &d), 0);
	tp_auth_free(a);

	/* The cap, with one attempt allowed and a one-minute base. */
	a = new_auth(1, 60000);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_int_equal(check_basic(a, "p", "root:wrong", &d), -EACCES);
		snprintf(text, sizeof(text), BAN_TEXT "%s", want[i]);
		expect_denial(&d, 401, basic_www, text);
		clock_ms += MIN << (i < 10 ? i : 10);
	}
	tp_auth_free(a);

	/* Short bans (--ban-ms) in fractions of a second. */
	a = new_auth(1, 400);
	assert_int_equal(login(a, "p", "root", "wrong", tok, &d), -EACCES);
	expect_denial(&d, 403, "", BAN_TEXT "0.4s");
	clock_ms += 400;
	assert_int_equal(login(a, "p", "root", "wrong", tok, &d), -EACCES);
	expect_denial(&d, 403, "", BAN_TEXT "0.8s");
	tp_auth_free(a);
}

static void basic(void **state)
{
	struct tp_auth_denial d;
	struct tp_auth *a = new_auth(0, 0);

	(void)state;
	assert_int_equal(check_basic(a, "p", "root:turing", &d), 0);
	assert_int_equal(check_basic(a, "p", "root:turing2", &d), -EACCES);
	expect_denial(&d, 401, basic_www, "credentials incorrect");
	assert_int_equal(check_basic(a, "p", "root", &d), -EACCES); /* no colon */
	expect_denial(&d, 401, basic_www, "malformed authorization header");
	assert_int_equal(check(a, "p", "Basic cm9vdDp0dXJpbmc", &d), -EACCES); /* no padding */
	expect_denial(&d, 401, basic_www, "malformed authorization header");
	assert_int_equal(check(a, "p", "Basic !!!!", &d), -EACCES);
	expect_denial(&d, 401, basic_www, "malformed authorization header");
	assert_int_equal(check(a, "p", "Basic cm9vdDp0dXJpbmc=", &d), 0);
	tp_auth_free(a);
}

static void headers(void **state)
{
	static const char *const malformed[] = { "Bearer", "Bearer ", "Bearer  abc", "Bearerabc",
						 "Basic", "Basic  cm9vdDp0dXJpbmc=", " Bearer x",
						 "garbage" };
	char tok[TP_AUTH_TOKEN_LEN + 1];
	struct tp_auth_denial d;
	struct tp_auth *a = new_auth(0, 0);

	(void)state;
	/* None of these counts towards a ban. */
	for (int i = 0; i < 10; i++) {
		assert_int_equal(check(a, "p", NULL, &d), -EACCES);
		expect_denial(&d, 401, basic_www, "no authorization header provided");
		assert_int_equal(check(a, "p", "", &d), -EACCES);
		expect_denial(&d, 401, basic_www, "no authorization header provided");
		assert_int_equal(check(a, "p", "Digest username=\"root\"", &d), -EACCES);
		expect_denial(&d, 401, "realm=\"" TP_AUTH_REALM "\"",
			      "unsupported authorization scheme");
		assert_int_equal(check(a, "p", "bearer abc", &d), -EACCES); /* case matters */
		assert_string_equal(d.reason, "unsupported authorization scheme");
		for (size_t k = 0; k < sizeof(malformed) / sizeof(malformed[0]); k++) {
			assert_int_equal(check(a, "p", malformed[k], &d), -EACCES);
			expect_denial(&d, 401, basic_www, "malformed authorization header");
		}
	}
	assert_int_equal(login(a, "p", "root", "turing", tok, &d), 0);
	tp_auth_free(a);
}

/* An unknown token counts, an expired one does not and is removed; no
 * denial shows the token. */
static void unknown_and_expired(void **state)
{
	static const char fake[] = "0123456789012345678901234567890123456789012345678901234567890123";
	char tok[TP_AUTH_TOKEN_LEN + 1], other[TP_AUTH_TOKEN_LEN + 1], www[256];
	struct tp_auth_denial d;
	struct tp_auth *a = new_auth(0, 0);

	(void)state;
	snprintf(www, sizeof(www), "Bearer realm=\"" TP_AUTH_REALM "\" error=\"invalid_token\" "
		 "error_description=\"token is not registered\"");
	assert_int_equal(login(a, "p", "root", "turing", tok, &d), 0);
	assert_int_equal(login(a, "q", "root", "turing", other, &d), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(check_bearer(a, "p", fake, &d), -EACCES);
		expect_denial(&d, 401, www, "token is not registered");
	}
	assert_int_equal(check_bearer(a, "p", "short", &d), -EACCES); /* the fourth */
	expect_denial(&d, 401, www, "token is not registered");

	clock_ms += EXPIRY_MS + 90000;
	assert_int_equal(check_bearer(a, "p", tok, &d), -EACCES);
	expect_denial(&d, 401,
		      "Bearer realm=\"" TP_AUTH_REALM "\" error=\"invalid_token\" "
		      "error_description=\"token expired 1m 30s ago\"",
		      "token expired 1m 30s ago");
	/* Not a failure: the fifth would have banned, and Basic would be
	 * refused unchecked. Its success clears the count. */
	assert_int_equal(check_basic(a, "p", "root:turing", &d), 0);
	/* The token is gone: presented again, it is unknown, a failure. */
	assert_int_equal(check_bearer(a, "p", tok, &d), -EACCES);
	expect_denial(&d, 401, www, "token is not registered");
	for (int i = 0; i < 3; i++)
		assert_int_equal(check_bearer(a, "p", fake, &d), -EACCES);
	assert_int_equal(check_bearer(a, "p", tok, &d), -EACCES); /* the fifth bans */
	expect_denial(&d, 401, basic_www, BAN_TEXT "1m");
	assert_null(strstr(d.reason, tok));
	assert_null(strstr(d.www_authenticate, tok));
	clock_ms += MIN;
	assert_int_equal(check_bearer(a, "p", tok, &d), -EACCES);
	expect_denial(&d, 401, basic_www, BAN_TEXT "2m");
	/* The other token expired too, 2m 30s ago by now. */
	assert_int_equal(check_bearer(a, "q", other, &d), -EACCES);
	assert_string_equal(d.reason, "token expired 2m 30s ago");
	assert_null(strstr(d.www_authenticate, other));
	tp_auth_free(a);
}

/* Every successful use restarts a token's clock. */
static void sliding_expiry(void **state)
{
	char tok[TP_AUTH_TOKEN_LEN + 1];
	struct tp_auth_denial d;
	struct tp_auth *a = new_auth(0, 0);

	(void)state;
	assert_int_equal(login(a, "p", "root", "turing", tok, &d), 0);
	clock_ms += EXPIRY_MS - 1;
	assert_int_equal(check_bearer(a, "p", tok, &d), 0);
	clock_ms += EXPIRY_MS - 1; /* well past the first expiry */
	assert_int_equal(check_bearer(a, "p", tok, &d), 0);
	clock_ms += EXPIRY_MS; /* alive for strictly less than the expiry */
	assert_int_equal(check_bearer(a, "p", tok, &d), -EACCES);
	assert_string_equal(d.reason, "token expired 0s ago");
	assert_int_equal(check_bearer(a, "p", tok, &d), -EACCES);
	assert_string_equal(d.reason, "token is not registered");
	tp_auth_free(a);
}

/* At most 256 live tokens: one more login drops the least recently used. */
static void token_table_bound(void **state)
{
	char first[TP_AUTH_TOKEN_LEN + 1], second[TP_AUTH_TOKEN_LEN + 1];
	char tok[TP_AUTH_TOKEN_LEN + 1];
	struct tp_auth_denial d;
	struct tp_auth *a = new_auth(1000, 0);

	(void)state;
	assert_int_equal(login(a, "p", "root", "turing", first, &d), 0);
	clock_ms++;
	assert_int_equal(login(a, "p", "root", "turing", second, &d), 0);
	for (int i = 2; i < 256; i++) {
		clock_ms++;
		assert_int_equal(login(a, "p", "root", "turing", tok, &d), 0);
	}
	clock_ms++;
	assert_int_equal(check_bearer(a, "p", first, &d), 0); /* now the most recent */
	clock_ms++;
	assert_int_equal(login(a, "p", "root", "turing", tok, &d), 0);
	assert_int_equal(check_bearer(a, "p", first, &d), 0);
	assert_int_equal(check_bearer(a, "p", tok, &d), 0);
	assert_int_equal(check_bearer(a, "p", second, &d), -EACCES);
	assert_string_equal(d.reason, "token is not registered");
	tp_auth_free(a);
}

/* At most 64 peers: when all are banned, the ban that ends first goes. */
static void peer_table_bound(void **state)
{
	char peer[32], tok[TP_AUTH_TOKEN_LEN + 1];
	struct tp_auth_denial d;
	struct tp_auth *a = new_auth(1, 60000);

	(void)state;
	for (int i = 0; i < 64; i++) {
		snprintf(peer, sizeof(peer), "10.0.1.%d", i);
		assert_int_equal(login(a, peer, "root", "wrong", tok, &d), -EACCES);
		expect_denial(&d, 403, "", BAN_TEXT "1m");
		clock_ms++;
	}
	assert_int_equal(login(a, "10.0.2.1", "root", "wrong", tok, &d), -EACCES);
	expect_denial(&d, 403, "", BAN_TEXT "1m");
	assert_int_equal(login(a, "10.0.1.0", "root", "turing", tok, &d), 0);
	assert_int_equal(login(a, "10.0.1.1", "root", "turing", tok, &d), -EACCES);
	expect_denial(&d, 403, "", BAN_TEXT "1m");
	assert_int_equal(login(a, "10.0.2.1", "root", "turing", tok, &d), -EACCES);
	tp_auth_free(a);
}

struct worker {
	struct tp_auth *a;
	char tok[TP_AUTH_TOKEN_LEN + 1];
	int bearer_fails, incorrect, banned;
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	char tok[TP_AUTH_TOKEN_LEN + 1];
	struct tp_auth_denial d;

	for (int i = 0; i < 20; i++)
		if (check_bearer(w->a, "10.0.0.1", w->tok, &d) < 0)
			w->bearer_fails++;
	if (login(w->a, "10.0.0.66", "root", "wrong", tok, &d) == -EACCES) {
		w->incorrect += !strcmp(d.reason, "credentials incorrect");
		w->banned += !strcmp(d.reason, BAN_TEXT "1m");
	}
	return NULL;
}

/* Threads share one tp_auth; parallel guesses from one peer are counted
 * exactly: of eight, four are checked and fail, the fifth bans, and the
 * rest are refused unchecked. */
static void threads(void **state)
{
	struct worker w[8];
	pthread_t t[8];
	struct tp_auth_denial d;
	struct tp_auth *a = new_auth(0, 0);
	int incorrect = 0, banned = 0;

	(void)state;
	for (int i = 0; i < 8; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].a = a;
		assert_int_equal(login(a, "10.0.0.1", "root", "turing", w[i].tok, &d), 0);
	}
	for (int i = 0; i < 8; i++)
		assert_int_equal(pthread_create(&t[i], NULL, worker_run, &w[i]), 0);
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].bearer_fails, 0);
		incorrect += w[i].incorrect;
		banned += w[i].banned;
	}
	assert_int_equal(incorrect, 4);
	assert_int_equal(banned, 4);
	tp_auth_free(a);
}

/* With unbanned peers in the full table, the least recently seen of them
 * goes, not a banned one. */
static void peer_table_lru(void **state)
{
	char peer[32], tok[TP_AUTH_TOKEN_LEN + 1];
	struct tp_auth_denial d;
	struct tp_auth *a = new_auth(2, 60000);

	(void)state;
	login(a, "10.0.3.1", "root", "wrong", tok, &d);
	assert_int_equal(login(a, "10.0.3.1", "root", "wrong", tok, &d), -EACCES);
	expect_denial(&d, 403, "", BAN_TEXT "1m");
	for (int i = 0; i < 63; i++) {
		clock_ms++;
		snprintf(peer, sizeof(peer), "10.0.1.%d", i);
		assert_int_equal(login(a, peer, "root", "wrong", tok, &d), -EACCES);
		expect_denial(&d, 403, "", "credentials incorrect");
	}
	clock_ms++;
	assert_int_equal(login(a, "10.0.2.1", "root", "wrong", tok, &d), -EACCES);
	expect_denial(&d, 403, "", "credentials incorrect");
	/* 10.0.1.0 was forgotten: its next failure is its first again. */
	assert_int_equal(login(a, "10.0.1.0", "root", "wrong", tok, &d), -EACCES);
	expect_denial(&d, 403, "", "credentials incorrect");
	/* (That forgot 10.0.1.1 in turn.) 10.0.1.5 was kept: its second
	 * failure bans. */
	assert_int_equal(login(a, "10.0.1.5", "root", "wrong", tok, &d), -EACCES);
	expect_denial(&d, 403, "", BAN_TEXT "1m");
	assert_int_equal(login(a, "10.0.3.1", "root", "turing", tok, &d), -EACCES);
	expect_denial(&d, 403, "", BAN_TEXT "1m");
	tp_auth_free(a);
}

/* A missing shadow file: nobody can log in, and that is no error at start. */
static void no_shadow(void **state)
{
	struct tp_auth_opts o = { .shadow = "/etc/no-such-shadow", .now_ms = fake_now };
	char tok[TP_AUTH_TOKEN_LEN + 1];
	struct tp_auth_denial d;
	struct tp_auth *a;

	(void)state;
	assert_int_equal(tp_auth_new(&a, &o), 0);
	assert_int_equal(login(a, "p", "root", "turing", tok, &d), -EACCES);
	expect_denial(&d, 403, "", "credentials incorrect");
	tp_auth_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(login_and_bearer),	cmocka_unit_test(locked_users),
		cmocka_unit_test(ban_and_release),	cmocka_unit_test(ban_doubles),
		cmocka_unit_test(basic),		cmocka_unit_test(headers),
		cmocka_unit_test(unknown_and_expired),	cmocka_unit_test(sliding_expiry),
		cmocka_unit_test(token_table_bound),	cmocka_unit_test(peer_table_bound),
		cmocka_unit_test(peer_table_lru),	cmocka_unit_test(threads),
		cmocka_unit_test(no_shadow),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
