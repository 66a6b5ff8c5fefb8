// SPDX-License-Identifier: MIT
/*
 * O_DIRECT keeps gigabytes of image out of the page cache of a 128 MB BMC
 * (bmcd's buffered writes are the likely cause of its OOM kills,
 * pipeline.md §2) and makes the read-back read the device, not the cache.
 * Where the kernel refuses it, or for an unaligned tail, the sink switches
 * the descriptor to buffered I/O with fcntl and carries on.
 */
#define _FILE_OFFSET_BITS 64 /* block devices and images past 2 GiB on armel */
#define _GNU_SOURCE /* O_DIRECT */
#include "sink_file.h"
#include "err.h"
#include "log.h"

#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

struct fsink {
	struct tp_sink s;
	int fd;
	bool blockdev;
	bool direct;      /* O_DIRECT usable on this descriptor */
	bool direct_now;  /* O_DIRECT currently set */
	bool tried;       /* a direct write succeeded (EINVAL later is real) */
	bool truncate;    /* a regular file to empty before the first write */
	size_t dio_align; /* buffer, offset and length alignment for O_DIRECT */
};

static int set_direct(struct fsink *f, bool on)
{
	int fl;

	if (f->direct_now == on)
		return 0;
	fl = fcntl(f->fd, F_GETFL);
	if (fl < 0 || fcntl(f->fd, F_SETFL, on ? fl | O_DIRECT : fl & ~O_DIRECT) < 0)
		return tp_err_set(-errno, "%s: cannot switch O_DIRECT %s: %s", f->s.desc,
				  on ? "on" : "off", strerror(errno));
	f->direct_now = on;
	return 0;
}

static bool aligned(const struct fsink *f, const void *buf, size_t len, uint64_t off)
{
	return !(((uintptr_t)buf | len | off) & (f->dio_align - 1));
}

static const char *hint(const struct fsink *f, int e)
{
	switch (e) {
	case EIO:
		return "; the device may be failing, or its USB connection is flaky";
	case ENOSPC:
		/* A file's size is what its file system has left, not what
		 * the target can hold. */
		if (f && !f->blockdev)
			return "; the file system holding it is full: free space there or "
			       "write elsewhere";
		return "; the target is too small for the image";
	case EFBIG:
		if (f && !f->blockdev)
			return "; the file is larger than this file system or the file size "
			       "limit (ulimit -f) allows";
		return "; the target is too small for the image";
	case EROFS:
	case EPERM:
	case EACCES:
		return "; the target is read-only or needs root";
	default:
		return "";
	}
}

static int io(struct fsink *f, bool wr, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;
	int rc;

	rc = set_direct(f, f->direct && aligned(f, buf, len, off));
	if (rc < 0)
		return rc;
	while (done < len) {
		ssize_t n = wr ? pwrite(f->fd, (char *)buf + done, len - done, (off_t)(off + done))
			       : pread(f->fd, (char *)buf + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EINVAL && f->direct_now && !f->tried) {
			/* The file system takes O_DIRECT at open but not at
			 * the first write: drop it for good. */
			TP_DBG("%s: O_DIRECT refused (EINVAL), using buffered I/O", f->s.desc);
			f->direct = false;
			if ((rc = set_direct(f, false)) < 0)
				return rc;
			continue;
		}
		if (n < 0) {
			int e = errno;

			return tp_err_set(-e, "%s %zu bytes at byte %" PRIu64 " of %s: %s%s",
					  wr ? "writing" : "reading back", len - done, off + done,
					  f->s.desc, strerror(e), hint(f, e));
		}
		if (n == 0) /* only reads: the file or device ends here */
			return tp_err_set(-EIO, "reading back %s at byte %" PRIu64 ": it ends there "
					  "(the target shrank or was replaced?)", f->s.desc, off + done);
		if (f->direct_now)
			f->tried = true;
		/* A short count (a signal, a full disk about to say ENOSPC) is
		 * not an error: write the rest. */
		done += (size_t)n;
	}
	return 0;
}

static int fsink_pwrite(struct tp_sink *s, const void *buf, size_t len, uint64_t off)
{
	struct fsink *f = s->priv;

	/* Replaced at the first write, not at open: a target the pipeline
	 * refuses before writing (an image too big for --size) keeps its
	 * content, as the message "nothing was written" promises. */
	if (f->truncate) {
		if (ftruncate(f->fd, 0) < 0)
			return tp_err_set(-errno, "cannot truncate %s: %s", s->desc,
					  strerror(errno));
		f->truncate = false;
	}
	return io(f, true, (void *)buf, len, off);
}

static int fsink_pread(struct tp_sink *s, void *buf, size_t len, uint64_t off)
{
	return io(s->priv, false, buf, len, off);
}

static int fsink_flush(struct tp_sink *s)
{
	struct fsink *f = s->priv;

	if (fsync(f->fd) < 0)
		return tp_err_set(-errno, "flushing %s: %s%s", s->desc, strerror(errno),
				  hint(f, errno));
	/* Drop the drive-side and buffer-cache copies where we can (root
	 * only; harmless otherwise), and the page cache of a buffered file,
	 * so the read-back comes from the medium. */
	if (f->blockdev)
		ioctl(f->fd, BLKFLSBUF, 0);
	if (!f->direct)
		posix_fadvise(f->fd, 0, 0, POSIX_FADV_DONTNEED);
	return 0;
}

static void fsink_close(struct tp_sink *s)
{
	struct fsink *f = s->priv;

	close(f->fd);
	free(f);
}

static const struct tp_sink_ops file_ops = {
	.name = "file",
	.pwrite = fsink_pwrite,
	.pread = fsink_pread,
	.flush = fsink_flush,
	.close = fsink_close,
};

int tp_sink_file_open(struct tp_sink **sp, const char *path, const struct tp_sink_file_opts *o)
{
	struct fsink *f = calloc(1, sizeof(*f));
	struct stat st;
	int flags = O_RDWR | O_CLOEXEC, e;

	*sp = NULL;
	if (!f)
		return tp_err_set(-ENOMEM, "out of memory");
	f->s.ops = &file_ops;
	f->s.priv = f;
	f->s.max_io = 4u << 20;
	snprintf(f->s.desc, sizeof(f->s.desc), "%s", path);
	if (stat(path, &st) == 0 && S_ISBLK(st.st_mode)) {
		f->blockdev = true;
		/* O_EXCL on a block device: EBUSY if mounted or held open
		 * exclusively (etcher-sdk does the same). */
		flags |= O_EXCL;
	} else if (o->existing) {
		/* A disk the caller found in /sys/block whose node does not
		 * stat as a block device (a device-mapper or FUSE-backed node,
		 * a node still being set up). It is still that disk: never
		 * created (a node gone with its disk must not become a file
		 * under /dev that swallows the image), never truncated (a
		 * disk's size is fixed and what lies past the image stays),
		 * and its capacity is the one /sys/block gave (o->size).
		 * O_EXCL asks for it exclusively wherever the kernel can. */
		flags |= O_EXCL;
	} else if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		free(f);
		return tp_err_set(-EINVAL, "%s is neither a regular file nor a block device", path);
	} else {
		flags |= O_CREAT;
		f->truncate = true;
	}
	f->direct = !o->no_direct;
	f->fd = open(path, flags | (f->direct ? O_DIRECT : 0), 0644);
	if (f->fd < 0 && errno == EINVAL && f->direct) {
		f->direct = false;
		f->fd = open(path, flags, 0644);
	}
	if (f->fd < 0) {
		e = errno;
		free(f);
		return tp_err_set(-e, "cannot open target %s: %s%s", path, strerror(e),
				  e == EBUSY ? "; it is in use (mounted? see findmnt), unmount it "
					       "first"
					     : hint(NULL, e));
	}
	f->direct_now = f->direct;
	if (f->blockdev) {
		uint64_t bytes = 0;
		int lbs = 512;

		if (ioctl(f->fd, BLKGETSIZE64, &bytes) < 0) {
			e = errno;
			close(f->fd);
			free(f);
			return tp_err_set(-e, "%s: cannot read the device size: %s", path,
					  strerror(e));
		}
		ioctl(f->fd, BLKSSZGET, &lbs);
		f->s.size = bytes;
		f->s.align = (size_t)(lbs > 512 ? lbs : 512);
		f->dio_align = f->s.align;
	} else {
		/* A file takes any length; O_DIRECT is used where aligned. */
		f->s.size = o->size;
		f->s.align = 1;
		f->dio_align = 4096;
	}
	TP_DBG("target %s: %s, %" PRIu64 " bytes, %s I/O", path,
	       f->blockdev ? "block device" : "regular file", f->s.size,
	       f->direct ? "direct" : "buffered");
	*sp = &f->s;
	return 0;
}
