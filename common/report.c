// SPDX-License-Identifier: MIT
/*
 * Node report lines: format, parse and verify, replay window
 * (docs/report-protocol.md). A line is
 *
 *	TPKR|1|<slot>|<id>|<seq>|<step>|<event>|<text>|<mac>
 *
 * with <mac> the first 16 bytes of HMAC-SHA256 over every byte before it,
 * in lower-case hex. Parsing is strict (canonical numbers, escapes only
 * where needed) so that parse and format are exact inverses and a line has
 * one spelling.
 */
#include "report.h"
#include "err.h"
#include "slots.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define MARKER_LEN (sizeof(TP_REPORT_MARKER) - 1)
#define NFIELDS 9 /* marker word, version, slot, id, seq, step, event, text, mac */

static const char hexlow[] = "0123456789abcdef";
static const char hexup[] = "0123456789ABCDEF";

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int tp_report_key_from_hex(struct tp_report_key *key, const char *hex)
{
	struct tp_report_key k;

	if (!hex || strlen(hex) != 2 * TP_REPORT_KEY_BYTES)
		return tp_err_set(-EINVAL, "a report key is %d hex digits",
				  2 * TP_REPORT_KEY_BYTES);
	for (size_t i = 0; i < TP_REPORT_KEY_BYTES; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			OPENSSL_cleanse(&k, sizeof(k));
			/* Never quote the text: it is (nearly) a key. */
			return tp_err_set(-EINVAL, "a report key is %d hex digits, and only those",
					  2 * TP_REPORT_KEY_BYTES);
		}
		k.b[i] = (unsigned char)(hi << 4 | lo);
	}
	*key = k;
	OPENSSL_cleanse(&k, sizeof(k));
	return 0;
}

void tp_report_key_wipe(struct tp_report_key *key)
{
	OPENSSL_cleanse(key, sizeof(*key));
}

int tp_report_event_valid(const char *event)
{
	static const char *const events[] = { "start", "progress", "ok", "fail", "done" };

	for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++)
		if (!strcmp(event, events[i]))
			return 1;
	return 0;
}

/* report-protocol.md §3: the characters of an id and of a step name. */
static bool id_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

static bool step_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
	       c == '-';
}

static bool word_ok(const char *s, size_t len, size_t max, bool (*ok)(char))
{
	if (len == 0 || len > max)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!ok(s[i]))
			return false;
	return true;
}

/* §4: kept as is, or written %XX. */
static bool text_plain(unsigned char c)
{
	return c >= 0x20 && c <= 0x7e && c != '%' && c != '|';
}

static size_t text_escaped_len(const char *text)
{
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *)text; *p; p++)
		n += text_plain(*p) ? 1 : 3;
	return n;
}

int tp_report_set_text(struct tp_report *r, const char *text)
{
	static const char ell[] = "...";
	size_t n = 0, esc = 0, len = strlen(text);

	if (len < sizeof(r->text) && text_escaped_len(text) <= TP_REPORT_TEXT_LINE_MAX) {
		memcpy(r->text, text, len + 1);
		return 0;
	}
	/* Room for "..." in both limits. */
	while (text[n]) {
		size_t w = text_plain((unsigned char)text[n]) ? 1 : 3;

		if (n + 1 + 3 >= sizeof(r->text) || esc + w + 3 > TP_REPORT_TEXT_LINE_MAX)
			break;
		esc += w;
		n++;
	}
	memcpy(r->text, text, n);
	memcpy(r->text + n, ell, sizeof(ell));
	return 1;
}

static void mac_hex(const struct tp_report_key *key, const char *data, size_t len,
		    char out[TP_REPORT_MAC_HEX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	HMAC(EVP_sha256(), key->b, TP_REPORT_KEY_BYTES, (const unsigned char *)data, len, md,
	     &mdlen);
	for (size_t i = 0; i < TP_REPORT_MAC_HEX / 2; i++) {
		out[2 * i] = hexlow[md[i] >> 4];
		out[2 * i + 1] = hexlow[md[i] & 15];
	}
	OPENSSL_cleanse(md, sizeof(md));
}

static int check_fields(const struct tp_report *r)
{
	if (r->slot < 1 || r->slot > TP_SLOTS_MAX)
		return tp_err_set(-EINVAL, "report: slot %u is not 1 to %d", r->slot, TP_SLOTS_MAX);
	if (!word_ok(r->id, strnlen(r->id, sizeof(r->id)), sizeof(r->id) - 1, id_char))
		return tp_err_set(-EINVAL, "report: the id must be 1 to %zu of A-Z a-z 0-9 . _ -",
				  sizeof(r->id) - 1);
	if (!word_ok(r->step, strnlen(r->step, sizeof(r->step)), sizeof(r->step) - 1, step_char))
		return tp_err_set(-EINVAL,
				  "report: the step name must be 1 to %zu of a-z 0-9 . _ -",
				  sizeof(r->step) - 1);
	if (strnlen(r->event, sizeof(r->event)) == sizeof(r->event) ||
	    !tp_report_event_valid(r->event))
		return tp_err_set(-EINVAL,
				  "report: the event must be start, progress, ok, fail or done");
	if (strnlen(r->text, sizeof(r->text)) == sizeof(r->text))
		return tp_err_set(-EINVAL, "report: the text is not terminated");
	return 0;
}

int tp_report_format(char *buf, size_t size, const struct tp_report_key *key,
		     const struct tp_report *r)
{
	char line[TP_REPORT_LINE_MAX + 1];
	size_t n;
	int rc = check_fields(r);

	if (rc < 0)
		return rc;
	if (text_escaped_len(r->text) > TP_REPORT_TEXT_LINE_MAX)
		return tp_err_set(-ENOSPC, "report: the text takes %zu characters escaped, over %d",
				  text_escaped_len(r->text), TP_REPORT_TEXT_LINE_MAX);
	n = (size_t)snprintf(line, sizeof(line), TP_REPORT_MARKER "%d|%u|%s|%" PRIu64 "|%s|%s|",
			     TP_REPORT_VERSION, r->slot, r->id, r->seq, r->step, r->event);
	for (const unsigned char *p = (const unsigned char *)r->text; *p; p++) {
		if (text_plain(*p)) {
			line[n++] = (char)*p;
		} else {
			line[n++] = '%';
			line[n++] = hexup[*p >> 4];
			line[n++] = hexup[*p & 15];
		}
	}
	line[n++] = '|';
	/* The field limits keep n + the MAC within TP_REPORT_LINE_MAX (§2). */
	mac_hex(key, line, n, line + n);
	n += TP_REPORT_MAC_HEX;
	line[n] = '\0';
	if (n + 1 > size)
		return tp_err_set(-ENOSPC, "report: the line takes %zu bytes, the buffer %zu", n + 1,
				  size);
	memcpy(buf, line, n + 1);
	return (int)n;
}

/* The last marker in line[0..len): a report cannot contain the marker
 * after its start (its '|' is escaped in the text), so the last one is the
 * only one that can begin a whole line; earlier ones are garbage or a
 * report cut short by interleaved output. */
static const char *find_marker(const char *line, size_t len)
{
	const char *found = NULL;

	for (size_t i = 0; i + MARKER_LEN <= len; i++)
		if (!memcmp(line + i, TP_REPORT_MARKER, MARKER_LEN))
			found = line + i;
	return found;
}

int tp_report_is_candidate(const char *line, size_t len)
{
	return find_marker(line, len) != NULL;
}

/* A canonical decimal (no sign, no leading zero) into v. */
static bool parse_u64(const char *s, size_t len, uint64_t max, uint64_t *v)
{
	uint64_t x = 0;

	if (len == 0 || len > 20 || (len > 1 && s[0] == '0'))
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		if (x > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return false;
		x = x * 10 + (uint64_t)(s[i] - '0');
	}
	if (x > max)
		return false;
	*v = x;
	return true;
}

static int bad(const char *what)
{
	return tp_err_set(-EBADMSG, "report line: %s", what);
}

static int unescape(const char *s, size_t len, char *out, size_t size)
{
	size_t n = 0;

	if (len > TP_REPORT_TEXT_LINE_MAX)
		return bad("the text is too long");
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '%') {
			int hi = i + 2 < len ? hexval(s[i + 1]) : -1;
			int lo = i + 2 < len ? hexval(s[i + 2]) : -1;

			/* Upper-case digits, and only for a byte that needs it. */
			if (i + 2 >= len || hi < 0 || lo < 0 || (s[i + 1] >= 'a') || (s[i + 2] >= 'a'))
				return bad("a broken %XX escape in the text");
			c = (unsigned char)(hi << 4 | lo);
			if (c == 0 || text_plain(c))
				return bad("an escape the writer would not make in the text");
			i += 2;
		} else if (!text_plain(c)) {
			return bad("an unescaped control or non-ASCII byte in the text");
		}
		if (n + 1 >= size)
			return bad("the text is too long");
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return 0;
}

int tp_report_parse(const char *line, size_t len, const struct tp_report_key *key,
		    struct tp_report *out)
{
	const char *start = find_marker(line, len), *end, *f[NFIELDS];
	size_t flen[NFIELDS], nf = 0;
	char want[TP_REPORT_MAC_HEX];
	struct tp_report r;
	uint64_t v;
	int rc;

	if (!start)
		return tp_err_set(-ENOMSG, "not a report line");
	end = line + len;
	while (end > start && (end[-1] == '\r' || end[-1] == '\n'))
		end--;
	if ((size_t)(end - start) > TP_REPORT_LINE_MAX)
		return bad("longer than a report line can be");
	/* Split at every '|' after the marker's word. */
	f[0] = start;
	for (const char *p = start; p < end; p++) {
		if (*p != '|')
			continue;
		if (nf + 1 >= NFIELDS)
			return bad("too many fields");
		flen[nf] = (size_t)(p - f[nf]);
		f[++nf] = p + 1;
	}
	flen[nf] = (size_t)(end - f[nf]);
	if (++nf != NFIELDS)
		return bad("fields missing (a cut line?)");
	if (flen[8] != TP_REPORT_MAC_HEX)
		return bad("the MAC is not 32 hex digits (a cut line?)");
	for (size_t i = 0; i < TP_REPORT_MAC_HEX; i++)
		if (!strchr(hexlow, f[8][i]) || !f[8][i])
			return bad("the MAC is not lower-case hex");

	memset(&r, 0, sizeof(r));
	if (!parse_u64(f[1], flen[1], UINT64_MAX, &v) || v != TP_REPORT_VERSION)
		return bad("an unknown protocol version");
	if (!parse_u64(f[2], flen[2], TP_SLOTS_MAX, &v) || v < 1)
		return bad("a bad slot number");
	r.slot = (unsigned)v;
	if (!word_ok(f[3], flen[3], sizeof(r.id) - 1, id_char))
		return bad("a bad id");
	memcpy(r.id, f[3], flen[3]);
	if (!parse_u64(f[4], flen[4], UINT64_MAX, &r.seq))
		return bad("a bad sequence number");
	if (!word_ok(f[5], flen[5], sizeof(r.step) - 1, step_char))
		return bad("a bad step name");
	memcpy(r.step, f[5], flen[5]);
	if (flen[6] >= sizeof(r.event))
		return bad("an unknown event");
	memcpy(r.event, f[6], flen[6]);
	if (!tp_report_event_valid(r.event))
		return bad("an unknown event");
	rc = unescape(f[7], flen[7], r.text, sizeof(r.text));
	if (rc < 0)
		return rc;

	mac_hex(key, start, (size_t)(f[8] - start), want);
	if (CRYPTO_memcmp(want, f[8], TP_REPORT_MAC_HEX))
		return tp_err_set(-EPERM, "report line: bad HMAC (another key, or an altered line)");
	*out = r;
	return 0;
}

int tp_report_id_new(char *id, size_t size)
{
	unsigned char r[8];
	ssize_t n;

	if (size < 2 * sizeof(r) + 1)
		return tp_err_set(-EINVAL, "report: a run id takes %zu bytes", 2 * sizeof(r) + 1);
	do
		n = getrandom(r, sizeof(r), 0);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(r))
		return tp_err_set(n < 0 ? -errno : -EIO, "report: no random run id: %s",
				  n < 0 ? strerror(errno) : "short read");
	for (size_t i = 0; i < sizeof(r); i++) {
		id[2 * i] = hexlow[r[i] >> 4];
		id[2 * i + 1] = hexlow[r[i] & 15];
	}
	id[2 * sizeof(r)] = '\0';
	return 0;
}

int tp_report_window_accept(struct tp_report_window *w, const struct tp_report *r)
{
	if (w->seen && !strcmp(w->id, r->id) && r->seq <= w->seq)
		return tp_err_set(-EALREADY,
				  "report replayed or out of order: seq %" PRIu64
				  " of run %s, after seq %" PRIu64,
				  r->seq, r->id, w->seq);
	snprintf(w->id, sizeof(w->id), "%s", r->id);
	w->seq = r->seq;
	w->seen = 1;
	return 0;
}
