// SPDX-License-Identifier: MIT
#include "path.h"
#include "err.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char root_prefix[TP_PATH_MAX];
static int root_set;

void tp_root_set(const char *root)
{
	size_t n;

	if (!root)
		root = getenv("TPKIT_ROOT");
	if (!root || !*root)
		root = "/";
	snprintf(root_prefix, sizeof(root_prefix), "%s", root);
	/* "/" and "/x/" both become prefixes that an absolute path appends to. */
	n = strlen(root_prefix);
	while (n > 0 && root_prefix[n - 1] == '/')
		root_prefix[--n] = '\0';
	root_set = 1;
}

const char *tp_root_get(void)
{
	if (!root_set)
		tp_root_set(NULL);
	return root_prefix[0] ? root_prefix : "/";
}

int tp_path(char *buf, size_t size, const char *fmt, ...)
{
	char rel[TP_PATH_MAX];
	va_list ap;
	int n;

	if (!root_set)
		tp_root_set(NULL);
	va_start(ap, fmt);
	n = vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(rel))
		return tp_err_set(-ENAMETOOLONG, "path too long: %s", rel);
	n = snprintf(buf, size, "%s%s", root_prefix, rel);
	if (n < 0 || (size_t)n >= size)
		return tp_err_set(-ENAMETOOLONG, "path too long: %s%s", root_prefix, rel);
	return 0;
}

ssize_t tp_file_read(const char *path, void *buf, size_t size)
{
	char full[TP_PATH_MAX];
	ssize_t n, total = 0;
	int fd, rc;

	rc = tp_path(full, sizeof(full), "%s", path);
	if (rc < 0)
		return rc;
	fd = open(full, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return tp_err_set(-errno, "cannot open %s: %s", full, strerror(errno));
	while ((size_t)total < size - 1) {
		n = read(fd, (char *)buf + total, size - 1 - (size_t)total);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			close(fd);
			return tp_err_set(rc, "cannot read %s: %s", full, strerror(-rc));
		}
		if (n == 0)
			break;
		total += n;
	}
	close(fd);
	((char *)buf)[total] = '\0';
	return total;
}

int tp_file_write(const char *path, const char *text)
{
	char full[TP_PATH_MAX];
	size_t len = strlen(text);
	ssize_t n;
	int fd, rc;

	rc = tp_path(full, sizeof(full), "%s", path);
	if (rc < 0)
		return rc;
	fd = open(full, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return tp_err_set(-errno, "cannot open %s for writing: %s", full, strerror(errno));
	/* sysfs takes an attribute in one write(); a short write is an error. */
	do
		n = write(fd, text, len);
	while (n < 0 && errno == EINTR);
	if (n < 0 || (size_t)n != len) {
		rc = n < 0 ? -errno : -EIO;
		close(fd);
		return tp_err_set(rc, "cannot write \"%s\" to %s: %s", text, full, strerror(-rc));
	}
	if (close(fd) < 0)
		return tp_err_set(-errno, "cannot write \"%s\" to %s: %s", text, full,
				  strerror(errno));
	return 0;
}
