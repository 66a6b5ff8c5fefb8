// SPDX-License-Identifier: MIT
#include "state.h"
#include "atomic.h"
#include "err.h"
#include "path.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int tp_state_dir(char *buf, size_t size)
{
	const char *env = getenv("TPKIT_STATE_DIR");

	if (env && *env) {
		if ((size_t)snprintf(buf, size, "%s", env) >= size)
			return tp_err_set(-ENAMETOOLONG, "TPKIT_STATE_DIR is too long");
		return 0;
	}
	return tp_path(buf, size, "%s", CONFIG_TPKIT_STATE_DIR);
}

static int record_path(const char *name, char *dir, char *path, size_t size)
{
	int rc = tp_state_dir(dir, size);

	if (rc < 0)
		return rc;
	if (strchr(name, '/') || (size_t)snprintf(path, size, "%s/%s", dir, name) >= size)
		return tp_err_set(-EINVAL, "state record \"%s\": not a plain file name", name);
	return 0;
}

int tp_state_save(const char *name, const char *text)
{
	char dir[TP_PATH_MAX], path[TP_PATH_MAX];
	int rc = record_path(name, dir, path, sizeof(path));

	if (rc < 0)
		return rc;
	if ((rc = tp_dir_make(dir, 0700, 0)) < 0)
		return tp_err_prefix(rc, "cannot make the state directory: ");
	return tp_file_write_atomic(path, text, strlen(text), 0600);
}

int tp_state_load(const char *name, char *buf, size_t size)
{
	char dir[TP_PATH_MAX], path[TP_PATH_MAX];
	size_t got = 0;
	int fd, rc = record_path(name, dir, path, sizeof(path));

	if (rc < 0)
		return rc;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return errno == ENOENT ? -ENOENT :
					 tp_err_set(-errno, "cannot read %s: %s", path, strerror(errno));
	while (got + 1 < size) {
		ssize_t n = read(fd, buf + got, size - 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = tp_err_set(-errno, "cannot read %s: %s", path, strerror(errno));
			break;
		}
		if (!n)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	return rc < 0 ? rc : (int)got;
}

int tp_state_remove(const char *name)
{
	char dir[TP_PATH_MAX], path[TP_PATH_MAX];
	int rc = record_path(name, dir, path, sizeof(path));

	return rc < 0 ? rc : tp_file_remove_durable(path);
}
