// SPDX-License-Identifier: MIT
/* Image sources on this machine: a file (an SD card on the BMC) or stdin. */
#define _FILE_OFFSET_BITS 64 /* block devices and images past 2 GiB on armel */
#include "source.h"
#include "cancel.h"
#include "err.h"

#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fsrc {
	struct tp_source s;
	int fd;
	bool own_fd;
	bool stream;  /* a pipe, socket or terminal: a read may wait for ever */
};

/* A stream may go quiet (a client that stalls mid-upload, stdin nobody
 * types into): wait for it a quarter second at a time, so that a cancel
 * — this job's or a signal — is seen while nothing comes. */
static int stream_wait(struct fsrc *f)
{
	struct pollfd p = { .fd = f->fd, .events = POLLIN };

	for (;;) {
		int rc = poll(&p, 1, 250);

		if (rc > 0 || (rc < 0 && errno != EINTR))
			return 0; /* readable, at its end, or an error read() reports */
		if ((rc = tp_cancel_check()) < 0)
			return rc;
	}
}

static int fsrc_read(struct tp_source *s, void *buf, size_t len, size_t *got)
{
	struct fsrc *f = s->priv;
	ssize_t n;
	int rc;

	do {
		if (f->stream && (rc = stream_wait(f)) < 0)
			return rc;
		n = read(f->fd, buf, len);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return tp_err_set(-errno, "reading %s at byte %" PRIu64 ": %s", s->desc, s->pos,
				  strerror(errno));
	*got = (size_t)n;
	return 0;
}

static int fsrc_pread(struct tp_source *s, void *buf, size_t len, uint64_t off)
{
	struct fsrc *f = s->priv;
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(f->fd, (char *)buf + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return tp_err_set(-errno, "reading %s at byte %" PRIu64 ": %s", s->desc,
					  off + done, strerror(errno));
		if (n == 0)
			return tp_err_set(-EIO, "%s ends at byte %" PRIu64 " (it shrank?)", s->desc,
					  off + done);
		done += (size_t)n;
	}
	return 0;
}

static void fsrc_close(struct tp_source *s)
{
	struct fsrc *f = s->priv;

	if (f->own_fd)
		close(f->fd);
	free(f);
}

static const struct tp_source_ops file_ops = {
	.name = "file", .read = fsrc_read, .pread = fsrc_pread, .close = fsrc_close,
};

static const struct tp_source_ops stdin_ops = {
	.name = "stdin", .read = fsrc_read, .close = fsrc_close,
};

bool tp_source_is_url(const char *src)
{
	return !strncmp(src, "http://", 7) || !strncmp(src, "https://", 8);
}

int tp_source_file_open(struct tp_source **sp, const char *path)
{
	struct fsrc *f = calloc(1, sizeof(*f));
	struct stat st = { 0 };
	bool is_stdin = !strcmp(path, "-");

	*sp = NULL;
	if (!f)
		return tp_err_set(-ENOMEM, "out of memory");
	f->s.priv = f;
	snprintf(f->s.desc, sizeof(f->s.desc), "%s", is_stdin ? "stdin" : path);
	if (is_stdin) {
		f->fd = 0;
		f->s.ops = &stdin_ops;
	} else {
		f->fd = open(path, O_RDONLY | O_CLOEXEC);
		if (f->fd < 0) {
			int e = errno;
			const char *colon = strstr(path, "://");

			free(f);
			/* "ftp://host/x" is a URL of a kind tpkit does not
			 * fetch, not a missing file. */
			if (e == ENOENT && colon && colon > path &&
			    strspn(path, "abcdefghijklmnopqrstuvwxyz0123456789+.-") ==
				    (size_t)(colon - path))
				return tp_err_set(-EPROTONOSUPPORT, "%s: tpkit does not fetch %.*s:// "
						  "URLs, only http:// and https://; download the "
						  "image first", path, (int)(colon - path), path);
			/* A bare word was more likely meant as a catalogue name. */
			return tp_err_set(-e, "cannot open image %s: %s%s", path, strerror(e),
					  e != ENOENT       ? "" :
					  strchr(path, '/') ? "; check the path" :
							      ": not a file, URL or catalogue name; "
							      "`tpkit images list` shows the names");
		}
		f->own_fd = true;
		f->s.ops = &file_ops;
	}
	if (fstat(f->fd, &st) == 0 && S_ISREG(st.st_mode)) {
		f->s.size = (uint64_t)st.st_size;
		/* Read-ahead helps an SD card; the decoder reads strictly forward. */
		posix_fadvise(f->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	} else if (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || S_ISCHR(st.st_mode)) {
		f->stream = true;
	} else if (!is_stdin && S_ISDIR(st.st_mode)) {
		fsrc_close(&f->s);
		return tp_err_set(-EISDIR, "%s is a directory, not an image", path);
	}
	*sp = &f->s;
	return 0;
}
