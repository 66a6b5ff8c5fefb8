// SPDX-License-Identifier: MIT
#include "kvconf.h"
#include "err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int key_ok(const char *k)
{
	if (!*k)
		return 0;
	for (; *k; k++)
		if (!((*k >= 'a' && *k <= 'z') || (*k >= '0' && *k <= '9') || *k == '_'))
			return 0;
	return 1;
}

int tp_kvconf_parse(struct tp_kvconf *c, const char *text, const char *name)
{
	char *p, *next;
	unsigned line = 0;

	memset(c, 0, sizeof(*c));
	c->text = strdup(text);
	if (!c->text)
		return tp_err_set(-ENOMEM, "%s: out of memory", name);
	c->len = strlen(text) + 1;
	for (p = c->text; p && *p; p = next) {
		char *eq;

		line++;
		next = strchr(p, '\n');
		if (next)
			*next++ = '\0';
		/* A CR means the file was edited on another system: the value
		 * would silently carry it, so it is refused, not trimmed. */
		if (strchr(p, '\r')) {
			tp_kvconf_free(c);
			return tp_err_set(-EINVAL, "%s, line %u: carriage return in the line",
					  name, line);
		}
		if (*p == '\0' || *p == '#')
			continue;
		eq = strchr(p, '=');
		if (!eq) {
			tp_kvconf_free(c);
			return tp_err_set(-EINVAL, "%s, line %u: not key=value", name, line);
		}
		*eq = '\0';
		if (!key_ok(p)) {
			tp_err_set(-EINVAL, "%s, line %u: bad key \"%.64s\" (a-z, 0-9, _)", name,
				   line, p);
			tp_kvconf_free(c);
			return -EINVAL;
		}
		if (tp_kvconf_get(c, p)) {
			tp_err_set(-EINVAL, "%s, line %u: key %.64s given twice", name, line, p);
			tp_kvconf_free(c);
			return -EINVAL;
		}
		if (c->n == TP_KVCONF_MAX_KEYS) {
			tp_kvconf_free(c);
			return tp_err_set(-EINVAL, "%s, line %u: more than %d keys", name, line,
					  TP_KVCONF_MAX_KEYS);
		}
		c->kv[c->n++] = (struct tp_kv){ .key = p, .value = eq + 1, .line = line };
	}
	return 0;
}

int tp_kvconf_read(struct tp_kvconf *c, const char *file)
{
	char *buf;
	size_t len = 0;
	int fd, rc;

	memset(c, 0, sizeof(*c));
	fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return tp_err_set(-errno, "cannot open %s: %s", file, strerror(errno));
	buf = malloc(TP_KVCONF_MAX_BYTES + 1);
	if (!buf) {
		close(fd);
		return tp_err_set(-ENOMEM, "%s: out of memory", file);
	}
	for (;;) {
		ssize_t r = read(fd, buf + len, TP_KVCONF_MAX_BYTES + 1 - len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = tp_err_set(-errno, "cannot read %s: %s", file, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > TP_KVCONF_MAX_BYTES) {
			rc = tp_err_set(-EFBIG, "%s: larger than %d bytes", file,
					TP_KVCONF_MAX_BYTES);
			goto out;
		}
	}
	buf[len] = '\0';
	if (strlen(buf) != len) {
		rc = tp_err_set(-EINVAL, "%s: holds a NUL byte (not a text file)", file);
		goto out;
	}
	rc = tp_kvconf_parse(c, buf, file);
out:
	explicit_bzero(buf, TP_KVCONF_MAX_BYTES + 1);
	free(buf);
	close(fd);
	return rc;
}

const char *tp_kvconf_get(const struct tp_kvconf *c, const char *key)
{
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->kv[i].key, key))
			return c->kv[i].value;
	return NULL;
}

void tp_kvconf_free(struct tp_kvconf *c)
{
	if (c->text) {
		explicit_bzero(c->text, c->len);
		free(c->text);
	}
	memset(c, 0, sizeof(*c));
}
