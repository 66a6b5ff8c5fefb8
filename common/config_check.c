// SPDX-License-Identifier: MIT
/*
 * One validator per value type of the configuration (docs/config.md,
 * "Types"). Pure functions of the text: they say why a value is refused,
 * and the caller adds the key and the file.
 */
#include "base64.h"
#include "catalogue.h"
#include "config.h"
#include "err.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int why_set(char *why, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int why_set(char *why, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, size, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int one_of(const char *v, const char *const *words, const char *what, char *why,
		  size_t size)
{
	for (size_t i = 0; words[i]; i++)
		if (!strcmp(v, words[i]))
			return 0;
	return why_set(why, size, "\"%s\" is not %s", v, what);
}

/* RFC 1123 label, lower case as Kubernetes wants node names. */
static int check_label(const char *v, char *why, size_t size)
{
	size_t n = strlen(v);

	if (n == 0)
		return why_set(why, size, "empty; a hostname needs 1-63 characters");
	if (n > 63)
		return why_set(why, size, "\"%s\" is %zu characters long; a hostname has at most 63", v, n);
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)v[i];

		if (isupper(ch))
			return why_set(why, size, "\"%s\" has an upper-case letter; hostnames here "
				       "are lower case (Kubernetes node names)", v);
		if (!(islower(ch) || isdigit(ch) || ch == '-'))
			return why_set(why, size, "\"%s\" has '%c'; a hostname has only a-z, 0-9 and '-'",
				       v, isprint(ch) ? ch : '?');
	}
	if (v[0] == '-' || v[n - 1] == '-')
		return why_set(why, size, "\"%s\" starts or ends with '-'", v);
	return 0;
}

static int check_user(const char *v, char *why, size_t size)
{
	static const char *const system_users[] = {
		"root", "daemon", "bin", "sys", "sync", "games", "man", "lp", "mail", "news",
		"uucp", "proxy", "www-data", "backup", "list", "irc", "nobody", "sshd",
		"messagebus", "syslog", "ubuntu", "_apt", NULL
	};
	size_t n = strlen(v);

	if (n == 0 || n > 32)
		return why_set(why, size, "\"%s\": a user name has 1-32 characters", v);
	if (!(islower((unsigned char)v[0]) || v[0] == '_'))
		return why_set(why, size, "\"%s\" must start with a-z or '_'", v);
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)v[i];

		if (!(islower(ch) || isdigit(ch) || ch == '_' || ch == '-'))
			return why_set(why, size, "\"%s\" has '%c'; a user name has only a-z, 0-9, "
				       "'_' and '-'", v, isprint(ch) ? ch : '?');
	}
	for (size_t i = 0; system_users[i]; i++)
		if (!strcmp(v, system_users[i]))
			return why_set(why, size, "\"%s\" is a system user or the image's default "
				       "user; choose another name", v);
	if (!strncmp(v, "systemd-", 8))
		return why_set(why, size, "\"%s\" is a system user; choose another name", v);
	return 0;
}

static bool has_space_or_ctl(const char *v)
{
	for (; *v; v++)
		if (isspace((unsigned char)*v) || iscntrl((unsigned char)*v))
			return true;
	return false;
}

/* scheme://host[:port][/...] with a non-empty host and nothing blank. */
static int check_url(const char *v, const char *const *schemes, char *why, size_t size)
{
	const char *host, *end;

	if (has_space_or_ctl(v))
		return why_set(why, size, "\"%s\" has white space or control characters", v);
	for (size_t i = 0; schemes[i]; i++) {
		size_t n = strlen(schemes[i]);

		if (strncmp(v, schemes[i], n))
			continue;
		host = v + n;
		if (*host == '[') { /* an IPv6 literal */
			end = strchr(host, ']');
			if (!end || end == host + 1)
				return why_set(why, size, "\"%s\": unterminated [IPv6] host", v);
		} else {
			end = host + strcspn(host, ":/?#");
			if (end == host)
				return why_set(why, size, "\"%s\" has no host name", v);
			if (strchr(host, '@') && strchr(host, '@') < end)
				host = strchr(host, '@') + 1;
		}
		return 0;
	}
	return why_set(why, size, "\"%s\" is not a URL this key takes", v);
}

static int check_image(const char *v, char *why, size_t size)
{
	static const char *const http[] = { "http://", "https://", NULL };

	if (!strcmp(v, "auto") || tp_catalogue_name_ok(v))
		return 0;
	if (v[0] == '/')
		return has_space_or_ctl(v) ? why_set(why, size, "\"%s\" has white space", v) : 0;
	if (strstr(v, "://"))
		return check_url(v, http, why, size);
	return why_set(why, size, "\"%s\" is neither auto, a catalogue name (a-z, 0-9, '.', '_', "
		       "'-'), an absolute path nor an http(s) URL", v);
}

static int check_k3s_version(const char *v, char *why, size_t size)
{
	const char *p = v;
	int parts = 0;

	if (*p++ != 'v')
		goto bad;
	for (;;) {
		if (!isdigit((unsigned char)*p))
			goto bad;
		while (isdigit((unsigned char)*p))
			p++;
		if (++parts == 3)
			break;
		if (*p++ != '.')
			goto bad;
	}
	if (!strncmp(p, "-rc", 3) && isdigit((unsigned char)p[3])) {
		p += 3;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (strncmp(p, "+k3s", 4) || !isdigit((unsigned char)p[4]))
		goto bad;
	p += 4;
	while (isdigit((unsigned char)*p))
		p++;
	if (!*p)
		return 0;
bad:
	return why_set(why, size, "\"%s\" is not a k3s version like v1.31.12+k3s1", v);
}

static int check_git_url(const char *v, char *why, size_t size)
{
	static const char *const git[] = { "https://", "http://", "ssh://", "git://", NULL };
	const char *at, *colon;

	if (!*v)
		return 0;
	if (strstr(v, "://"))
		return check_url(v, git, why, size);
	/* scp-like user@host:path, as git and ArgoCD accept. */
	at = strchr(v, '@');
	colon = at ? strchr(at, ':') : NULL;
	if (!has_space_or_ctl(v) && at && at > v && colon && colon > at + 1 && colon[1])
		return 0;
	return why_set(why, size, "\"%s\" is not a Git URL (https://, ssh://, git:// or "
		       "user@host:path)", v);
}

/* git check-ref-format's rules, the ones a user can break by accident. */
static int check_git_rev(const char *v, char *why, size_t size)
{
	size_t n = strlen(v);

	if (n == 0 || n > 255)
		return why_set(why, size, "a revision has 1-255 characters");
	if (has_space_or_ctl(v) || strpbrk(v, "~^:?*[\\") || strstr(v, "..") ||
	    strstr(v, "@{") || v[0] == '-' || v[0] == '/' || v[n - 1] == '/' ||
	    v[n - 1] == '.' || (n >= 5 && !strcmp(v + n - 5, ".lock")))
		return why_set(why, size, "\"%s\" is not a valid branch, tag or commit name", v);
	return 0;
}

static int check_rel_path(const char *v, char *why, size_t size)
{
	const char *p = v;

	if (!*v)
		return why_set(why, size, "empty; use \".\" for the repository's top");
	if (v[0] == '/' || has_space_or_ctl(v))
		return why_set(why, size, "\"%s\" must be relative, without white space", v);
	while (*p) {
		size_t n = strcspn(p, "/");

		if (n == 2 && !strncmp(p, "..", 2))
			return why_set(why, size, "\"%s\" leaves the repository (\"..\")", v);
		p += n;
		if (*p)
			p++;
	}
	return 0;
}

int tp_config_check_ip(const char *s, int *family, char *why, size_t size)
{
	unsigned char buf[16];

	if (inet_pton(AF_INET, s, buf) == 1) {
		if (family)
			*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, buf) == 1) {
		if (family)
			*family = AF_INET6;
		return 0;
	}
	return why_set(why, size, "\"%s\" is not an IPv4 or IPv6 address", s);
}

int tp_config_check_cidr(const char *s, int *family, char *why, size_t size)
{
	char addr[64];
	const char *slash = strchr(s, '/');
	char *end;
	long prefix;
	int fam;

	if (!slash || (size_t)(slash - s) >= sizeof(addr))
		return why_set(why, size, "\"%s\" is not ADDRESS/PREFIX (e.g. 192.168.1.51/24 or "
			       "fd00::51/64)", s);
	memcpy(addr, s, (size_t)(slash - s));
	addr[slash - s] = '\0';
	if (tp_config_check_ip(addr, &fam, why, size) < 0)
		return why_set(why, size, "\"%s\": \"%s\" is not an IPv4 or IPv6 address", s, addr);
	if (!isdigit((unsigned char)slash[1]))
		return why_set(why, size, "\"%s\": the prefix length is missing", s);
	prefix = strtol(slash + 1, &end, 10);
	if (*end || prefix < 1 || prefix > (fam == AF_INET ? 32 : 128) ||
	    (slash[1] == '0' && slash[2]))
		return why_set(why, size, "\"%s\": prefix length \"%s\" is not 1-%d", s, slash + 1,
			       fam == AF_INET ? 32 : 128);
	if (family)
		*family = fam;
	return 0;
}

static int check_ip_list(const char *v, char *why, size_t size)
{
	char buf[TP_CONFIG_VALUE_MAX];
	char *save = NULL, *tok;
	int n = 0;

	if (!*v)
		return 0;
	snprintf(buf, sizeof(buf), "%s", v);
	if (buf[0] == ',' || buf[strlen(buf) - 1] == ',' || strstr(buf, ",,"))
		return why_set(why, size, "\"%s\" has an empty entry", v);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (tp_config_check_ip(tok, NULL, why, size) < 0)
			return -EINVAL;
		n++;
	}
	return n ? 0 : why_set(why, size, "no address in \"%s\"", v);
}

/* Key types sshd takes in authorized_keys (OpenSSH 9). */
static const char *const ssh_types[] = {
	"ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
	"ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com",
	"sk-ecdsa-sha2-nistp256@openssh.com", NULL
};

static bool ssh_type_known(const char *t, size_t n)
{
	for (size_t i = 0; ssh_types[i]; i++)
		if (strlen(ssh_types[i]) == n && !strncmp(t, ssh_types[i], n))
			return true;
	return false;
}

/* The options field of an authorized_keys line ends at the first blank
 * outside double quotes (sshd(8), AUTHORIZED_KEYS FILE FORMAT). */
static const char *skip_options(const char *p)
{
	bool quoted = false;

	for (; *p; p++) {
		if (*p == '\\' && quoted && p[1])
			p++;
		else if (*p == '"')
			quoted = !quoted;
		else if (!quoted && (*p == ' ' || *p == '\t'))
			break;
	}
	return quoted ? NULL : p;
}

int tp_config_check_ssh_key_line(const char *line, char *why, size_t size)
{
	const char *p = line, *type, *b64;
	size_t tlen, blen;
	unsigned char *blob;
	long n;
	int rc = 0;

	while (*p == ' ' || *p == '\t')
		p++;
	type = p;
	tlen = strcspn(p, " \t");
	if (!ssh_type_known(type, tlen)) {
		if (!strncmp(type, "ssh-dss", 7) && tlen == 7)
			return why_set(why, size, "a DSA key (ssh-dss): OpenSSH refuses DSA keys; "
				       "use an ed25519 or RSA key");
		p = skip_options(p);
		if (!p)
			return why_set(why, size, "unbalanced quotes in the options");
		while (*p == ' ' || *p == '\t')
			p++;
		type = p;
		tlen = strcspn(p, " \t");
		if (!tlen || !ssh_type_known(type, tlen))
			return why_set(why, size, "\"%.40s\" is not an SSH public key (TYPE BASE64 "
				       "[comment], TYPE one of ssh-ed25519, ssh-rsa, ecdsa-sha2-*, sk-*)",
				       line);
	}
	p = type + tlen;
	while (*p == ' ' || *p == '\t')
		p++;
	b64 = p;
	blen = strcspn(p, " \t");
	if (!blen)
		return why_set(why, size, "%.*s key without its base64 part", (int)tlen, type);
	blob = malloc(blen / 4 * 3 + 3);
	if (!blob)
		return -ENOMEM;
	n = tp_base64_decode(b64, blen, blob);
	/* The blob names its own type first: string(type) (RFC 4253 6.6). */
	if (n < 0)
		rc = why_set(why, size, "the %.*s key's base64 part is not base64", (int)tlen, type);
	else if (n < 4 + (long)tlen ||
		 ((unsigned long)blob[0] << 24 | (unsigned long)blob[1] << 16 |
		  (unsigned long)blob[2] << 8 | blob[3]) != tlen ||
		 memcmp(blob + 4, type, tlen))
		rc = why_set(why, size, "the base64 part is not a %.*s key (the key inside names "
			     "another type, or is damaged)", (int)tlen, type);
	else if (tlen == 11 && !memcmp(type, "ssh-ed25519", 11) && n != 4 + 11 + 4 + 32)
		rc = why_set(why, size, "the ssh-ed25519 key is %ld bytes, not 51 (truncated?)", n);
	free(blob);
	return rc;
}

static int check_ssh_keys(const char *v, char *why, size_t size)
{
	const char *line = v;
	unsigned no = 0;

	while (*line) {
		size_t n = strcspn(line, "\n");
		char buf[16384];
		char *p = buf;

		no++;
		if (n >= sizeof(buf))
			return why_set(why, size, "line %u is longer than %zu bytes", no, sizeof(buf) - 1);
		memcpy(buf, line, n);
		buf[n] = '\0';
		if (n && buf[n - 1] == '\r')
			buf[n - 1] = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p && *p != '#') {
			char sub[512];

			if (tp_config_check_ssh_key_line(p, sub, sizeof(sub)) < 0)
				return why_set(why, size, "line %u: %s", no, sub);
		}
		line += n;
		if (*line)
			line++;
	}
	return 0;
}

/* A DNS name: dot-separated labels of letters, digits and '-', at most
 * 253 characters (RFC 1123 2.1), or an IP address. */
static int check_host(const char *v, char *why, size_t size)
{
	const char *p = v;

	if (!*v || tp_config_check_ip(v, NULL, why, size) == 0)
		return 0;
	if (strlen(v) > 253)
		return why_set(why, size, "\"%.40s...\" is longer than a DNS name (253)", v);
	while (*p) {
		size_t n = strcspn(p, ".");

		if (n == 0 || n > 63 || p[0] == '-' || p[n - 1] == '-')
			return why_set(why, size, "\"%s\" is neither an IP address nor a DNS name "
				       "(labels of 1-63 letters, digits and '-', joined by dots)", v);
		for (size_t i = 0; i < n; i++)
			if (!isalnum((unsigned char)p[i]) && p[i] != '-')
				return why_set(why, size, "\"%s\" has '%c'; a DNS name has only "
					       "letters, digits, '-' and '.'", v,
					       isprint((unsigned char)p[i]) ? p[i] : '?');
		p += n;
		if (*p && !*++p)
			break; /* one trailing dot: the root */
	}
	return 0;
}

int tp_config_check_type(enum tp_config_type t, const char *v, char *why, size_t size)
{
	static const char *const roles[] = { "server", "agent", "none", NULL };
	static const char *const nvme[] = { "auto", "never", "required", NULL };

	why[0] = '\0';
	if (t != TP_CT_SSH_KEYS && strchr(v, '\n'))
		return why_set(why, size, "has more than one line; this key takes one value");
	switch (t) {
	case TP_CT_LABEL:
		return check_label(v, why, size);
	case TP_CT_ROLE:
		return one_of(v, roles, "server, agent or none", why, size);
	case TP_CT_IMAGE:
		return check_image(v, why, size);
	case TP_CT_NVME:
		return one_of(v, nvme, "auto, never or required", why, size);
	case TP_CT_USER:
		return check_user(v, why, size);
	case TP_CT_SSH_KEYS:
		return check_ssh_keys(v, why, size);
	case TP_CT_K3S_VERSION:
		return check_k3s_version(v, why, size);
	case TP_CT_GIT_URL:
		return check_git_url(v, why, size);
	case TP_CT_GIT_REV:
		return check_git_rev(v, why, size);
	case TP_CT_REL_PATH:
		return check_rel_path(v, why, size);
	case TP_CT_ADDRESS:
		return strcmp(v, "dhcp") ? tp_config_check_cidr(v, NULL, why, size) : 0;
	case TP_CT_IP_OPT:
		return *v ? tp_config_check_ip(v, NULL, why, size) : 0;
	case TP_CT_IP_LIST:
		return check_ip_list(v, why, size);
	case TP_CT_HOST:
		return check_host(v, why, size);
	case TP_CT_INIT_SLOT:
		if (!strcmp(v, "auto") || (v[0] >= '1' && v[0] <= '4' && !v[1]))
			return 0;
		return why_set(why, size, "\"%s\" is neither auto nor a slot, 1-4", v);
	case TP_CT_COUNT:
		break;
	}
	return why_set(why, size, "unknown type");
}
