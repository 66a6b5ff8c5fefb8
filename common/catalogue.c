// SPDX-License-Identifier: MIT
/*
 * Parsing and merging image catalogues (catalogue.h; the format is
 * documented in images/images.conf). Strict on purpose: a catalogue pins
 * what gets written to a node's eMMC, so a typo in a key or a hash that is
 * one digit short must stop the user, not silently drop the check.
 *
 * The line splitting is ours, not inih's, on purpose (weighed for the
 * packaging work): Debian's and Buildroot's libinih are built with their
 * defaults, which take ';' after whitespace as an inline comment (so
 * "url = https://host/a ;b" would lose its tail) and join indented lines
 * to the key above; both are compile-time choices a packaged library does
 * not let us turn off. What is left for inih to do — split "[name]" and
 * "key = value" — is the 30 lines below, covered by the fuzz target
 * tests/fuzz/fuzz_catalogue.c; every check on top would stay ours anyway.
 */
#include "catalogue.h"
#include "err.h"
#include "path.h"

#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LINE_MAX_LEN 2048
#define FILE_MAX (1u << 20) /* a catalogue is a few KiB; refuse anything huge */

/* An entry being parsed: where it started, which keys it has, and whether it
 * said default = yes/no (-1: not said, so an override keeps the old flag). */
struct pentry {
	struct tp_catalogue_entry e;
	unsigned line;
	unsigned have;
	int def;
};

enum { K_MODULE = 1, K_URL = 2, K_SHA = 4, K_SIZE = 8, K_RAW = 16, K_DESC = 32, K_DEF = 64,
       K_KIND = 128, K_ARCH = 256, K_VERSION = 512 };

static const char *const kind_names[] = {
	[TP_CAT_IMAGE] = "image", [TP_CAT_K3S_BINARY] = "k3s-binary",
	[TP_CAT_K3S_IMAGES] = "k3s-images", [TP_CAT_K3S_INSTALL] = "k3s-install",
};

static const struct {
	const char *key;
	unsigned bit;
} keys[] = {
	{ "module", K_MODULE }, { "url", K_URL },	  { "sha256", K_SHA },
	{ "size", K_SIZE },	{ "raw-size", K_RAW },	  { "description", K_DESC },
	{ "default", K_DEF },	{ "kind", K_KIND },	  { "arch", K_ARCH },
	{ "version", K_VERSION },
};

const char *tp_catalogue_kind_name(enum tp_cat_kind kind)
{
	return (unsigned)kind < sizeof(kind_names) / sizeof(kind_names[0]) ? kind_names[kind] : "?";
}

/* A k3s release tag as k3s writes them: v, digits and dots, then
 * optional -suffix, then +k3sN (config.md's k3s-version type says the same). */
static bool version_ok(const char *v)
{
	size_t n = strlen(v);

	if (n < 2 || n >= TP_CAT_VERSION_MAX || v[0] != 'v' || !isdigit((unsigned char)v[1]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)v[i]) && !strchr(".-+", v[i]))
			return false;
	return true;
}

bool tp_catalogue_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n >= TP_CAT_NAME_MAX || !(islower((unsigned char)name[0]) ||
						  isdigit((unsigned char)name[0])))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)name[i];

		if (!(islower(ch) || isdigit(ch) || ch == '.' || ch == '_' || ch == '-'))
			return false;
	}
	return true;
}

static int bad(const char *file, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* "FILE:LINE: what": every message of a malformed catalogue says where. */
static int bad(const char *file, unsigned line, const char *fmt, ...)
{
	char what[TP_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return tp_err_set(-EINVAL, "%s:%u: %s", file, line, what);
}

static int parse_u64(const char *v, uint64_t *out)
{
	uint64_t x = 0;

	if (!*v)
		return -1;
	for (const char *p = v; *p; p++) {
		if (!isdigit((unsigned char)*p) || x > (UINT64_MAX - 9) / 10)
			return -1;
		x = x * 10 + (uint64_t)(*p - '0');
	}
	*out = x;
	return x ? 0 : -1;
}

static int set_key(struct pentry *p, const char *key, const char *val, const char *file,
		   unsigned line)
{
	unsigned bit = 0;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(keys[i].key, key))
			bit = keys[i].bit;
	if (!bit)
		return bad(file, line, "unknown key \"%s\"%s; the keys are kind, module, arch, "
			   "version, url, sha256, size, raw-size, description and default", key,
			   strchr(key, ' ') ? " (keys are one word: key = value)" : "");
	if (p->have & bit)
		return bad(file, line, "%s: given twice for [%s]", key, p->e.name);
	p->have |= bit;
	if (!*val && bit != K_DESC)
		return bad(file, line, "%s: empty value for [%s]", key, p->e.name);
	switch (bit) {
	case K_MODULE:
		if (strcmp(val, "rk1") && strcmp(val, "cm4"))
			return bad(file, line, "module: \"%s\" is not a module tpkit flashes; use "
				   "rk1 or cm4", val);
		snprintf(p->e.module, sizeof(p->e.module), "%s", val);
		break;
	case K_URL:
		if (strncmp(val, "http://", 7) && strncmp(val, "https://", 8))
			return bad(file, line, "url: \"%s\" is not an http:// or https:// URL", val);
		if (strlen(val) >= sizeof(p->e.url))
			return bad(file, line, "url: longer than %zu characters", sizeof(p->e.url) - 1);
		snprintf(p->e.url, sizeof(p->e.url), "%s", val);
		break;
	case K_SHA: {
		size_t n = strlen(val);

		if (n != 64)
			return bad(file, line, "sha256: \"%s\" has %zu characters; a SHA-256 is 64 "
				   "hex digits (copy it again from the publisher's checksum file)",
				   val, n);
		for (size_t i = 0; i < 64; i++) {
			if (!isxdigit((unsigned char)val[i]))
				return bad(file, line, "sha256: \"%s\" is not hexadecimal ('%c' at "
					   "position %zu)", val, val[i], i + 1);
			p->e.sha256[i] = (char)tolower((unsigned char)val[i]);
		}
		p->e.sha256[64] = '\0';
		break;
	}
	case K_SIZE:
	case K_RAW:
		if (parse_u64(val, bit == K_SIZE ? &p->e.size : &p->e.raw_size) < 0)
			return bad(file, line, "%s: \"%s\" is not a byte count (digits only, "
				   "more than 0)", key, val);
		break;
	case K_DESC:
		snprintf(p->e.description, sizeof(p->e.description), "%s", val);
		break;
	case K_KIND: {
		size_t k;

		for (k = 0; k < sizeof(kind_names) / sizeof(kind_names[0]); k++)
			if (!strcmp(val, kind_names[k]))
				break;
		if (k == sizeof(kind_names) / sizeof(kind_names[0]))
			return bad(file, line, "kind: \"%s\" is not image, k3s-binary, k3s-images "
				   "or k3s-install", val);
		p->e.kind = (enum tp_cat_kind)k;
		break;
	}
	case K_ARCH:
		if (strcmp(val, "arm64") && strcmp(val, "amd64"))
			return bad(file, line, "arch: \"%s\" is not arm64 or amd64 (k3s's names)",
				   val);
		snprintf(p->e.arch, sizeof(p->e.arch), "%s", val);
		break;
	case K_VERSION:
		if (!version_ok(val))
			return bad(file, line, "version: \"%s\" is not a k3s release "
				   "(vX.Y.Z+k3sN)", val);
		snprintf(p->e.version, sizeof(p->e.version), "%s", val);
		break;
	case K_DEF:
		if (strcmp(val, "yes") && strcmp(val, "no"))
			return bad(file, line, "default: \"%s\" is not yes or no", val);
		p->def = !strcmp(val, "yes");
		break;
	}
	return 0;
}

static int end_entry(struct pentry *p, const char *file)
{
	static const struct {
		unsigned bit;
		const char *key;
	} req[] = { { K_MODULE, "module" }, { K_URL, "url" }, { K_SHA, "sha256" } },
	  kreq[] = { { K_VERSION, "version" }, { K_ARCH, "arch" }, { K_URL, "url" },
		     { K_SHA, "sha256" } };
	const char *kind = kind_names[p->e.kind];

	if (p->e.kind == TP_CAT_IMAGE) {
		for (size_t i = 0; i < sizeof(req) / sizeof(req[0]); i++)
			if (!(p->have & req[i].bit))
				return bad(file, p->line, "[%s]: %s missing; every image needs "
					   "module, url and sha256", p->e.name, req[i].key);
		if (p->have & (K_ARCH | K_VERSION))
			return bad(file, p->line, "[%s]: arch and version are for k3s files "
				   "(kind = k3s-...); an image has a module", p->e.name);
		return 0;
	}
	/* install.sh is one script for every arch: arch is optional there. */
	for (size_t i = 0; i < sizeof(kreq) / sizeof(kreq[0]); i++)
		if (!(p->have & kreq[i].bit) &&
		    !(kreq[i].bit == K_ARCH && p->e.kind == TP_CAT_K3S_INSTALL))
			return bad(file, p->line, "[%s]: %s missing; a %s entry needs version, "
				   "%surl and sha256", p->e.name, kreq[i].key, kind,
				   p->e.kind == TP_CAT_K3S_INSTALL ? "" : "arch, ");
	if (p->have & (K_MODULE | K_DEF | K_RAW))
		return bad(file, p->line, "[%s]: module, default and raw-size are for OS "
			   "images; a %s entry has arch and version", p->e.name, kind);
	return 0;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* A new stanza "[name]": checks the name and that it is new in this file. */
static int start_entry(struct pentry *ents, size_t n, char *l, const char *file,
		       unsigned line)
{
	char *name, *close = strchr(l, ']');

	if (!close || close[1])
		return bad(file, line, "\"%s\": a stanza starts with [name] alone on its "
			   "line", l);
	*close = '\0';
	name = trim(l + 1);
	if (!tp_catalogue_name_ok(name))
		return bad(file, line, "name: \"%s\" is not a valid image name (1-63 of a-z, "
			   "0-9, '.', '_', '-', starting with a letter or digit)", name);
	for (size_t i = 0; i < n; i++)
		if (!strcmp(ents[i].e.name, name)) {
			return bad(file, line, "name: [%s] is defined twice in this file (first "
				   "at line %u); remove or rename one", name, ents[i].line);
		}
	memset(&ents[n], 0, sizeof(ents[n]));
	snprintf(ents[n].e.name, sizeof(ents[n].e.name), "%s", name);
	snprintf(ents[n].e.origin, sizeof(ents[n].e.origin), "%s:%u", file, line);
	ents[n].line = line;
	ents[n].def = -1;
	return 0;
}

static int merge(struct tp_catalogue *cat, const struct pentry *ents, size_t n)
{
	size_t add = 0;

	for (size_t i = 0; i < n; i++)
		add += !tp_catalogue_find(cat, ents[i].e.name);
	if (cat->n + add > cat->cap) {
		size_t cap = cat->n + add + 8;
		struct tp_catalogue_entry *ne = realloc(cat->e, cap * sizeof(*ne));

		if (!ne)
			return tp_err_set(-ENOMEM, "out of memory for the image catalogue");
		cat->e = ne;
		cat->cap = cap;
	}
	for (size_t i = 0; i < n; i++) {
		struct tp_catalogue_entry *old = (struct tp_catalogue_entry *)
			tp_catalogue_find(cat, ents[i].e.name);
		bool def = ents[i].def == 1 || (ents[i].def == -1 && old && old->is_default);

		if (!old)
			old = &cat->e[cat->n++];
		*old = ents[i].e;
		old->is_default = def;
		/* One default per module: the file read last decides. */
		if (def)
			for (size_t k = 0; k < cat->n; k++)
				if (&cat->e[k] != old && !strcmp(cat->e[k].module, old->module))
					cat->e[k].is_default = false;
	}
	return 0;
}

int tp_catalogue_parse(struct tp_catalogue *cat, const char *text, size_t len, const char *file)
{
	struct pentry *ents = NULL;
	size_t n = 0, cap = 0, pos = 0;
	unsigned line = 0;
	char buf[LINE_MAX_LEN + 1];
	int rc = 0;

	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - (text + pos)) : len - pos;
		char *l, *eq;

		line++;
		if (ll > LINE_MAX_LEN)
			TP_FAIL(-EINVAL, "%s:%u: line longer than %d characters", file, line,
				LINE_MAX_LEN);
		memcpy(buf, text + pos, ll);
		buf[ll] = '\0';
		pos += ll + (nl ? 1 : 0);
		if (memchr(buf, '\0', ll))
			TP_FAIL(-EINVAL, "%s:%u: a NUL byte; a catalogue is a text file", file, line);
		l = trim(buf);
		/* Whole-line comments only: URLs may contain '#'. */
		if (!*l || *l == '#')
			continue;
		if (*l == '[') {
			if (n && (rc = end_entry(&ents[n - 1], file)) < 0)
				goto out;
			if (n == cap) {
				struct pentry *ne = realloc(ents, (cap + 8) * sizeof(*ne));

				if (!ne)
					TP_FAIL(-ENOMEM, "out of memory for the image catalogue");
				ents = ne;
				cap += 8;
			}
			TP_TRY(start_entry(ents, n, l, file, line));
			n++;
			continue;
		}
		eq = strchr(l, '=');
		if (!eq)
			TP_FAIL(-EINVAL, "%s:%u: \"%s\" is neither [name], key = value nor a # "
				"comment", file, line, l);
		if (!n)
			TP_FAIL(-EINVAL, "%s:%u: \"%s\" comes before any [name] line", file, line, l);
		*eq = '\0';
		TP_TRY(set_key(&ents[n - 1], trim(l), trim(eq + 1), file, line));
	}
	if (n)
		TP_TRY(end_entry(&ents[n - 1], file));
	for (size_t i = 0; i < n; i++)
		for (size_t k = i + 1; k < n; k++)
			if (ents[i].def == 1 && ents[k].def == 1 &&
			    !strcmp(ents[i].e.module, ents[k].e.module))
				TP_FAIL(-EINVAL, "%s:%u: default: [%s] and [%s] (line %u) are both "
					"the default %s image; mark one only", file, ents[k].line,
					ents[k].e.name, ents[i].e.name, ents[i].line,
					ents[i].e.module);
	rc = merge(cat, ents, n);
out:
	free(ents);
	return rc;
}

int tp_catalogue_load_file(struct tp_catalogue *cat, const char *path, bool optional)
{
	struct stat st;
	char *text = NULL;
	ssize_t got;
	size_t len = 0;
	int fd, rc;

	/* O_NONBLOCK: a FIFO given as the catalogue must not hang the open;
	 * fstat then refuses it. It changes nothing for a regular file. */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT && optional)
			return 0;
		return tp_err_set(-errno, "cannot open the image catalogue %s: %s", path,
				  strerror(errno));
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		TP_FAIL(-EINVAL, "the image catalogue %s is not a regular file", path);
	if ((uint64_t)st.st_size > FILE_MAX)
		TP_FAIL(-EFBIG, "the image catalogue %s is %" PRIu64 " bytes; more than %u is "
			"not a catalogue", path, (uint64_t)st.st_size, FILE_MAX);
	text = malloc((size_t)st.st_size + 1);
	if (!text)
		TP_FAIL(-ENOMEM, "out of memory reading %s", path);
	while (len < (size_t)st.st_size &&
	       (got = read(fd, text + len, (size_t)st.st_size - len)) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			TP_FAIL(-errno, "reading the image catalogue %s: %s", path, strerror(errno));
		len += (size_t)got;
	}
	rc = tp_catalogue_parse(cat, text, len, path);
out:
	free(text);
	close(fd);
	return rc;
}

int tp_catalogue_load(struct tp_catalogue *cat, const char *user_file)
{
	char p[TP_PATH_MAX];
	int rc;

	rc = tp_path(p, sizeof(p), "%s/images.conf", CONFIG_TPKIT_DATADIR);
	if (rc == 0)
		rc = tp_catalogue_load_file(cat, p, false);
	if (rc < 0)
		return rc == -ENOENT ? tp_err_prefix(rc, "no image catalogue (is tpkit installed? "
						     "`make install` puts it there): ")
				     : rc;
	rc = tp_path(p, sizeof(p), "/etc/tpkit/images.conf");
	if (rc == 0)
		rc = tp_catalogue_load_file(cat, p, true);
	if (rc == 0 && user_file)
		rc = tp_catalogue_load_file(cat, user_file, false);
	return rc;
}

const struct tp_catalogue_entry *tp_catalogue_find(const struct tp_catalogue *cat,
						   const char *name)
{
	for (size_t i = 0; i < cat->n; i++)
		if (!strcmp(cat->e[i].name, name))
			return &cat->e[i];
	return NULL;
}

const struct tp_catalogue_entry *tp_catalogue_auto(const struct tp_catalogue *cat,
						   const char *module)
{
	const struct tp_catalogue_entry *only = NULL;
	size_t count = 0;

	for (size_t i = 0; i < cat->n; i++) {
		if (strcmp(cat->e[i].module, module))
			continue;
		if (cat->e[i].is_default)
			return &cat->e[i];
		only = &cat->e[i];
		count++;
	}
	if (count == 1)
		return only;
	if (!count)
		tp_err_set(-ENOENT, "the image catalogue has no %s image; add one to "
			   "/etc/tpkit/images.conf or give --image FILE|URL", module);
	else
		tp_err_set(-ENOENT, "the image catalogue has %zu %s images and none is marked "
			   "default = yes; name one with --image NAME (tpkit images list)",
			   count, module);
	return NULL;
}

const struct tp_catalogue_entry *tp_catalogue_k3s(const struct tp_catalogue *cat,
						  enum tp_cat_kind kind, const char *version,
						  const char *arch)
{
	const struct tp_catalogue_entry *any = NULL;

	for (size_t i = 0; i < cat->n; i++) {
		const struct tp_catalogue_entry *e = &cat->e[i];

		if (e->kind != kind || strcmp(e->version, version))
			continue;
		if (!strcmp(e->arch, arch))
			return e;
		if (!e->arch[0] && !any)
			any = e;
	}
	return any;
}

void tp_catalogue_free(struct tp_catalogue *cat)
{
	free(cat->e);
	memset(cat, 0, sizeof(*cat));
}
