// SPDX-License-Identifier: MIT
#include "atomic.h"
#include "err.h"
#include "path.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* fsync the directory holding path, so a rename or unlink in it is durable. */
static int sync_parent(const char *path)
{
	char dir[TP_PATH_MAX];
	char *slash;
	int fd, rc = 0;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return tp_err_set(-errno, "cannot open directory %s: %s", dir, strerror(errno));
	if (fsync(fd) < 0 && errno != EINVAL)
		rc = tp_err_set(-errno, "cannot sync directory %s: %s", dir, strerror(errno));
	close(fd);
	return rc;
}

int tp_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	char tmp[TP_PATH_MAX];
	const char *base = strrchr(path, '/');
	const unsigned char *p = data;
	size_t done = 0;
	int fd, rc = 0, n;

	/* A dot-name beside the target: same file system (rename is atomic),
	 * and config readers skip dot-files, so a leftover is never a key. */
	base = base ? base + 1 : path;
	n = snprintf(tmp, sizeof(tmp), "%.*s.%s.tmpXXXXXX", (int)(base - path), path, base);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return tp_err_set(-ENAMETOOLONG, "path too long: %s", path);
	fd = mkstemp(tmp);
	if (fd < 0)
		return tp_err_set(-errno, "cannot create a file beside %s: %s", path,
				  strerror(errno));
	if (fchmod(fd, mode) < 0) {
		rc = tp_err_set(-errno, "cannot set the mode of %s: %s", tmp, strerror(errno));
		goto fail;
	}
	while (done < len) {
		ssize_t w = write(fd, p + done, len - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			rc = tp_err_set(w < 0 ? -errno : -EIO, "cannot write %s: %s", tmp,
					strerror(w < 0 ? errno : EIO));
			goto fail;
		}
		done += (size_t)w;
	}
	if (fsync(fd) < 0) {
		rc = tp_err_set(-errno, "cannot sync %s: %s", tmp, strerror(errno));
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		rc = tp_err_set(-errno, "cannot write %s: %s", tmp, strerror(errno));
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		rc = tp_err_set(-errno, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
		goto fail;
	}
	return sync_parent(path);
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return rc;
}

int tp_file_remove_durable(const char *path)
{
	if (unlink(path) < 0) {
		if (errno == ENOENT)
			return 0;
		return tp_err_set(-errno, "cannot remove %s: %s", path, strerror(errno));
	}
	return sync_parent(path);
}

int tp_dir_make(const char *path, mode_t mode, int force_mode)
{
	char buf[TP_PATH_MAX];
	size_t n;

	n = (size_t)snprintf(buf, sizeof(buf), "%s", path);
	if (n >= sizeof(buf))
		return tp_err_set(-ENAMETOOLONG, "path too long: %s", path);
	while (n > 1 && buf[n - 1] == '/')
		buf[--n] = '\0';
	for (char *s = buf + 1;; s++) {
		char c = *s;

		if (c != '/' && c != '\0')
			continue;
		*s = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return tp_err_set(-errno, "cannot create directory %s: %s", buf,
					  strerror(errno));
		*s = c;
		if (!c)
			break;
	}
	{
		struct stat st;

		if (stat(buf, &st) < 0)
			return tp_err_set(-errno, "cannot use directory %s: %s", buf, strerror(errno));
		if (!S_ISDIR(st.st_mode))
			return tp_err_set(-ENOTDIR, "%s is not a directory", buf);
		if (force_mode && (st.st_mode & 07777) != mode && chmod(buf, mode) < 0)
			return tp_err_set(-errno, "cannot set the mode of %s to %04o: %s", buf,
					  (unsigned)mode, strerror(errno));
	}
	return 0;
}
