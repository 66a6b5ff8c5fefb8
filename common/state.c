// SPDX-License-Identifier: MIT
#include "state.h"
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

/* mkdir -p; the last component 0700. */
static int make_dir(char *dir)
{
	struct stat st;

	if (!stat(dir, &st))
		return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
			int e = -errno;

			*p = '/';
			return e;
		}
		*p = '/';
	}
	return mkdir(dir, 0700) < 0 && errno != EEXIST ? -errno : 0;
}

static int sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

int tp_state_save(const char *name, const char *text)
{
	char dir[TP_PATH_MAX], path[TP_PATH_MAX], tmp[TP_PATH_MAX + 32];
	size_t len = strlen(text), done = 0;
	int fd, rc = record_path(name, dir, path, sizeof(path));

	if (rc < 0)
		return rc;
	if ((rc = make_dir(dir)) < 0)
		return tp_err_set(rc, "cannot make the state directory %s: %s", dir, strerror(-rc));
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return tp_err_set(-errno, "cannot write %s: %s", tmp, strerror(errno));
	while (done < len) {
		ssize_t n = write(fd, text + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			break;
		}
		done += (size_t)n;
	}
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc < 0) {
		unlink(tmp);
		return tp_err_set(rc, "cannot write %s: %s", path, strerror(-rc));
	}
	if ((rc = sync_dir(dir)) < 0)
		return tp_err_set(rc, "cannot sync %s: %s", dir, strerror(-rc));
	return 0;
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

	if (rc < 0)
		return rc;
	if (unlink(path) < 0)
		return errno == ENOENT ? 0 : tp_err_set(-errno, "cannot remove %s: %s", path,
							strerror(errno));
	rc = sync_dir(dir);
	return rc < 0 ? tp_err_set(rc, "cannot sync %s: %s", dir, strerror(-rc)) : 0;
}
