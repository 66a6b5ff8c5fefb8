// SPDX-License-Identifier: MIT
#include "checksum.h"
#include "err.h"
#include "log.h"
#include "source.h"

#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define SUMS_MAX (256 * 1024) /* a distribution's SHA256SUMS is a few KiB */

int tp_checksum_parse_hex(const char *in, char out[65])
{
	size_t n = strlen(in);

	if (n != 64)
		return tp_err_set(-EINVAL, "a SHA-256 is 64 hex digits; \"%s\" has %zu characters",
				  in, n);
	for (size_t i = 0; i < 64; i++) {
		if (!isxdigit((unsigned char)in[i]))
			return tp_err_set(-EINVAL, "\"%s\" is not a SHA-256: '%c' at %zu is not a "
					  "hex digit", in, in[i], i + 1);
		out[i] = (char)tolower((unsigned char)in[i]);
	}
	out[64] = '\0';
	return 0;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

static bool hex64(const char *p)
{
	for (int i = 0; i < 64; i++)
		if (!isxdigit((unsigned char)p[i]))
			return false;
	return !isxdigit((unsigned char)p[64]);
}

/* One line: "HEX  NAME", "HEX *NAME", "HEX" or "SHA256 (NAME) = HEX".
 * Returns the hash start or NULL; *file and *flen: the name (may be empty). */
static const char *parse_line(const char *l, size_t len, const char **file, size_t *flen)
{
	*file = "";
	*flen = 0;
	if (len >= 8 && !strncmp(l, "SHA256 (", 8)) {
		const char *close = NULL;

		for (size_t i = len; i-- > 8;)
			if (l[i] == ')') {
				close = l + i;
				break;
			}
		if (!close || (size_t)(l + len - close) < 4 + 64 || strncmp(close, ") = ", 4))
			return NULL;
		*file = l + 8;
		*flen = (size_t)(close - *file);
		return hex64(close + 4) ? close + 4 : NULL;
	}
	if (len < 64 || !hex64(l))
		return NULL;
	if (len > 64) {
		const char *f = l + 64;
		size_t fl = len - 64;

		while (fl && (*f == ' ' || *f == '\t')) {
			f++;
			fl--;
		}
		if (fl && *f == '*') { /* binary-mode marker */
			f++;
			fl--;
		}
		*file = f;
		*flen = fl;
	}
	return l;
}

int tp_checksum_find_in(const char *text, const char *name, int single, char out[65])
{
	const char *lone = NULL, *match = NULL;
	unsigned line = 0, match_line = 0;
	int hashes = 0;
	size_t nl = strlen(name);

	for (const char *l = text; *l;) {
		const char *e = strchr(l, '\n');
		size_t whole = e ? (size_t)(e - l) : strlen(l), len = whole;
		const char *file, *h;
		size_t flen;

		line++;
		while (len && (l[len - 1] == '\r' || l[len - 1] == ' '))
			len--;
		h = parse_line(l, len, &file, &flen);
		/* Step over the whole line, trimmed or not: a last line that
		 * ends in CR would otherwise be read again forever. */
		l += whole + (e ? 1 : 0);
		if (!h)
			continue;
		hashes++;
		lone = h;
		if (flen >= 2 && !strncmp(file, "./", 2)) {
			file += 2;
			flen -= 2;
		}
		/* Match the base name: SHA256SUMS may list "images/x.img.xz". */
		if (flen < nl || strncmp(file + flen - nl, name, nl) ||
		    (flen != nl && file[flen - nl - 1] != '/'))
			continue;
		if (!match) {
			match = h;
			match_line = line;
		} else if (strncasecmp(match, h, 64)) {
			/* Two answers: picking one would make the check
			 * depend on the order of lines. */
			return tp_err_set(-ENOTUNIQ, "lines %u and %u give %s different SHA-256s "
					  "(%.8s... and %.8s...)", match_line, line, name, match,
					  h);
		}
	}
	if (!match && single && hashes == 1)
		match = lone;
	if (!match)
		return hashes ? -ENOENT : -EBADMSG;
	memcpy(out, match, 64);
	out[64] = '\0';
	return tp_checksum_parse_hex(out, out);
}

/* A local checksum file: -ENOENT only when there is none; one that exists
 * but is not a readable regular file of sane size is an error, or a wrong
 * hash in an unreadable file would be skipped silently. O_NONBLOCK: a FIFO
 * must not hang the open; fstat then refuses it. */
static int read_local(const char *path, char *buf, size_t size)
{
	struct stat st;
	size_t len = 0;
	int fd, rc;

	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return -ENOENT;
		return tp_err_set(-errno, "cannot read the checksum file %s: %s; fix it, remove it "
				  "or pass --sha256", path, strerror(errno));
	}
	if (fstat(fd, &st) < 0)
		TP_FAIL(-errno, "cannot stat the checksum file %s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		TP_FAIL(-EINVAL, "the checksum file %s is not a regular file; remove it or pass "
			"--sha256", path);
	if ((uint64_t)st.st_size >= size)
		TP_FAIL(-EFBIG, "the checksum file %s is %" PRIu64 " bytes; more than %zu is not a "
			"checksum file: fix it, remove it or pass --sha256", path,
			(uint64_t)st.st_size, size - 1);
	for (;;) {
		ssize_t n = read(fd, buf + len, size - 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			TP_FAIL(-errno, "cannot read the checksum file %s: %s; fix it, remove it or "
				"pass --sha256", path, strerror(errno));
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == size - 1) /* grew since fstat */
			TP_FAIL(-EFBIG, "the checksum file %s is larger than %zu bytes; fix it, "
				"remove it or pass --sha256", path, size - 1);
	}
	buf[len] = '\0';
	rc = 0;
out:
	close(fd);
	return rc;
}

static int fetch(const char *where, bool url, char *buf, size_t size)
{
#ifdef CONFIG_TPKIT_SOURCE_HTTP
	size_t len;
	int rc;

	if (url) {
		rc = tp_http_get_small(where, buf, size, &len);
		if (rc < 0 && rc != -ENOENT)
			tp_err_prefix(rc, "cannot fetch the checksum file: ");
		return rc;
	}
#else
	if (url)
		return -ENOENT;
#endif
	return read_local(where, buf, size);
}

/* Try one candidate file; 0 found, -ENOENT absent or not listing name,
 * another -errno (with a message) when it exists but is unusable. */
static int try_file(const char *where, bool url, const char *name, int single, char out[65],
		    char *from, size_t from_size)
{
	char *buf = malloc(SUMS_MAX);
	int rc;

	if (!buf)
		return tp_err_set(-ENOMEM, "out of memory for a checksum file");
	rc = fetch(where, url, buf, SUMS_MAX);
	if (rc == 0) {
		rc = tp_checksum_find_in(buf, name, single, out);
		if (rc == -EBADMSG)
			rc = tp_err_set(-EBADMSG, "%s holds no SHA-256 line; fix or remove it, or "
					"pass --sha256", where);
		else if (rc == -ENOTUNIQ)
			rc = tp_err_prefix(rc, "%s: ", where);
		else if (rc == -ENOENT)
			TP_INFO("%s does not list %s", where, name);
		else if (rc == 0)
			snprintf(from, from_size, "%s", where);
	} else if (rc == -ENOENT) {
		TP_DBG("no checksum at %s", where);
	}
	free(buf);
	return rc;
}

int tp_checksum_discover(const char *src, char out[65], char *from, size_t from_size)
{
	bool url = tp_source_is_url(src);
	char path[1024], name[256];
	size_t dirlen;
	const char *q;
	int rc;

	if (!strcmp(src, "-"))
		return -ENOENT;
	/* A URL's query string is not part of the name. */
	q = url ? strchr(src, '?') : NULL;
	snprintf(path, sizeof(path), "%.*s", q ? (int)(q - src) : (int)strlen(src), src);
	snprintf(name, sizeof(name), "%s", base_name(path));
	dirlen = strlen(path) - strlen(name);

	{
		char cand[1100];

		snprintf(cand, sizeof(cand), "%s.sha256", path);
		rc = try_file(cand, url, name, 1, out, from, from_size);
		if (rc != -ENOENT)
			return rc;
		snprintf(cand, sizeof(cand), "%.*sSHA256SUMS", (int)dirlen, path);
		return try_file(cand, url, name, 0, out, from, from_size);
	}
}
