// SPDX-License-Identifier: MIT
/*
 * An unmounted ext4 file system through libext2fs (seedfs.h), over the sink
 * I/O of io_sink.c: opening, closing, and reading files back for the
 * seeding's proof. Writing is seedfs_write.c's.
 */
#include "seedfs_priv.h"
#include "io_sink.h"
#include "common/err.h"

#include <et/com_err.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tp_seedfs_fail(struct tp_seedfs *f, errcode_t e, const char *fmt, ...)
{
	char what[256];
	va_list ap;
	int err = e > 0 && e < 256 ? -(int)e : -EIO;

	if (e == EXT2_ET_DIR_NO_SPACE || e == EXT2_ET_BLOCK_ALLOC_FAIL ||
	    e == EXT2_ET_INODE_ALLOC_FAIL)
		err = -ENOSPC;
	if (e == EXT2_ET_FILE_NOT_FOUND)
		err = -ENOENT;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return tp_err_set(err, "%s: %s: %s", f->desc, what, error_message(e));
}

static int open_fs(struct tp_sink *sink, uint64_t base, uint64_t size, int flags,
		   struct tp_seedfs **out)
{
	struct tp_seedfs *f = calloc(1, sizeof(*f));
	errcode_t e;
	int rc;

	if (!f)
		return tp_err_set(-ENOMEM, "out of memory");
	snprintf(f->desc, sizeof(f->desc), "the ext4 file system at byte %llu of %s",
		 (unsigned long long)base, sink->desc);
	rc = tp_seed_io_bind(sink, base, size, f->name, sizeof(f->name));
	if (rc < 0) {
		free(f);
		return rc;
	}
	e = ext2fs_open2(f->name, NULL, flags | EXT2_FLAG_64BITS, 0, 0, tp_seed_io_manager,
			 &f->fs);
	if (!e && ext2fs_has_feature_journal_needs_recovery(f->fs->super))
		e = EXT2_ET_JOURNAL_FLAGS_WRONG;
	if (!e)
		e = ext2fs_read_bitmaps(f->fs);
	if (e) {
		rc = tp_seedfs_fail(f, e, "cannot open it for seeding%s",
			  e == EXT2_ET_JOURNAL_FLAGS_WRONG ? " (its journal needs recovery: the "
							     "image was not cleanly unmounted)" : "");
		if (f->fs)
			ext2fs_close_free(&f->fs);
		tp_seed_io_unbind(f->name);
		free(f);
		return rc;
	}
	*out = f;
	return 0;
}

int tp_seedfs_open(struct tp_sink *sink, uint64_t base, uint64_t size, struct tp_seedfs **out)
{
	return open_fs(sink, base, size, EXT2_FLAG_RW, out);
}

int tp_seedfs_open_ro(struct tp_sink *sink, uint64_t base, uint64_t size,
		      struct tp_seedfs **out)
{
	return open_fs(sink, base, size, 0, out);
}

void tp_seedfs_uuid(const struct tp_seedfs *f, char out[37])
{
	const uint8_t *u = f->fs->super->s_uuid;

	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
		 u[13], u[14], u[15]);
}

int tp_seedfs_parent(struct tp_seedfs *f, const char *path, ext2_ino_t *dir, char *leaf,
		     size_t size)
{
	const char *slash = strrchr(path, '/');
	char d[1024];
	errcode_t e;

	if (!slash || !slash[1] || (size_t)(slash - path) >= sizeof(d) ||
	    strlen(slash + 1) >= size)
		return tp_err_set(-EINVAL, "%s: \"%s\" is not an absolute file path", f->desc, path);
	memcpy(d, path, (size_t)(slash - path));
	d[slash - path] = '\0';
	snprintf(leaf, size, "%s", slash + 1);
	e = ext2fs_namei_follow(f->fs, EXT2_ROOT_INO, EXT2_ROOT_INO, d[0] ? d : "/", dir);
	if (e)
		return tp_seedfs_fail(f, e, "the directory of %s", path);
	return 0;
}

int tp_seedfs_close(struct tp_seedfs *f)
{
	errcode_t e = ext2fs_close_free(&f->fs);
	int rc = e ? tp_seedfs_fail(f, e, "writing it out") : 0;

	tp_seed_io_unbind(f->name);
	free(f);
	return rc;
}

int tp_seedfs_read(struct tp_seedfs *f, const char *path, struct tp_seedfs_stat *st, char **data,
		   size_t *len)
{
	struct ext2_inode in;
	ext2_file_t file;
	ext2_ino_t dir, ino;
	char leaf[256], *buf = NULL;
	unsigned int got = 0;
	uint64_t size;
	errcode_t e;
	int rc = tp_seedfs_parent(f, path, &dir, leaf, sizeof(leaf));

	if (rc < 0)
		return rc;
	e = ext2fs_lookup(f->fs, dir, leaf, (int)strlen(leaf), NULL, &ino);
	if (!e)
		e = ext2fs_read_inode(f->fs, ino, &in);
	if (e)
		return tp_seedfs_fail(f, e, "reading %s", path);
	size = EXT2_I_SIZE(&in);
	st->mode = in.i_mode;
	st->uid = (uid_t)in.i_uid | (uid_t)in.i_uid_high << 16;
	st->gid = (gid_t)in.i_gid | (gid_t)in.i_gid_high << 16;
	st->size = size;
	if (!data)
		return 0;
	if (!LINUX_S_ISREG(in.i_mode) && !LINUX_S_ISLNK(in.i_mode))
		return tp_err_set(-EISDIR, "%s: %s is not a file or symlink", f->desc, path);
	if (size > TP_SEEDFS_READ_MAX)
		return tp_err_set(-EFBIG, "%s: %s is larger than %u bytes", f->desc, path,
				  TP_SEEDFS_READ_MAX);
	if (!(buf = malloc(size + 1)))
		return tp_err_set(-ENOMEM, "out of memory");
	if (LINUX_S_ISLNK(in.i_mode) && ext2fs_is_fast_symlink(&in)) {
		/* A short target lives in the inode's block map itself. */
		memcpy(buf, (char *)in.i_block, size);
	} else if (in.i_flags & EXT4_INLINE_DATA_FL) {
		free(buf);
		return tp_err_set(-EOPNOTSUPP, "%s: %s has inline data", f->desc, path);
	} else {
		e = ext2fs_file_open(f->fs, ino, 0, &file);
		if (!e) {
			e = ext2fs_file_read(file, buf, (unsigned int)size, &got);
			ext2fs_file_close(file);
		}
		if (!e && got != size)
			e = EXT2_ET_SHORT_READ;
		if (e) {
			free(buf);
			return tp_seedfs_fail(f, e, "reading %s", path);
		}
	}
	buf[size] = '\0';
	*data = buf;
	*len = (size_t)size;
	return 0;
}

/* Read back by extents, in chunks: through ext2fs_file_read every block
 * would be a read of its own (and a flush of the sink before it). A hole
 * reads as zeros, as the kernel would read it. */
static int read_extents(struct tp_seedfs *f, const char *path, ext2_ino_t ino, uint64_t size,
			tp_seedfs_each_fn each, void *cookie)
{
	ext2_filsys fs = f->fs;
	unsigned bs = fs->blocksize;
	uint64_t blocks = (size + bs - 1) / bs, next = 0;
	struct ext2_inode in;
	struct ext2fs_extent ex;
	ext2_extent_handle_t h = NULL;
	char *buf = malloc(TP_SEEDFS_CHUNK);
	errcode_t e;
	int op = EXT2_EXTENT_ROOT, rc = 0;

	if (!buf)
		return tp_err_set(-ENOMEM, "out of memory reading %s", path);
	if ((e = ext2fs_read_inode(fs, ino, &in)) || (e = ext2fs_extent_open2(fs, ino, &in, &h))) {
		free(buf);
		return tp_seedfs_fail(f, e, "reading %s", path);
	}
	while (rc == 0 && next < blocks) {
		bool end = false;
		uint64_t upto;

		e = ext2fs_extent_get(h, op, &ex);
		op = EXT2_EXTENT_NEXT_LEAF;
		if (e == EXT2_ET_EXTENT_NO_NEXT || e == EXT2_ET_EXTENT_NO_DOWN) {
			end = true;
		} else if (e) {
			rc = tp_seedfs_fail(f, e, "reading %s", path);
			break;
		} else if (!(ex.e_flags & EXT2_EXTENT_FLAGS_LEAF)) {
			continue;
		}
		/* A hole (or the end of the extents) before this extent. */
		upto = end || ex.e_lblk > blocks ? blocks : ex.e_lblk;
		memset(buf, 0, TP_SEEDFS_CHUNK);
		while (rc == 0 && next < upto) {
			uint64_t n = upto - next > TP_SEEDFS_CHUNK / bs ? TP_SEEDFS_CHUNK / bs :
				     upto - next;
			uint64_t bytes = n * bs;

			if (bytes > size - next * bs)
				bytes = size - next * bs;
			rc = each(cookie, buf, (size_t)bytes);
			next += n;
		}
		if (end)
			break;
		for (uint64_t done = 0; rc == 0 && done < ex.e_len && next < blocks;) {
			uint64_t n = ex.e_len - done, bytes;

			if (n > TP_SEEDFS_CHUNK / bs)
				n = TP_SEEDFS_CHUNK / bs;
			if (n > blocks - next)
				n = blocks - next;
			if (ex.e_flags & EXT2_EXTENT_FLAGS_UNINIT)
				memset(buf, 0, (size_t)(n * bs));
			else if ((e = io_channel_read_blk64(fs->io, ex.e_pblk + done, (int)n, buf)))
				rc = tp_seedfs_fail(f, e, "reading %s", path);
			bytes = n * bs;
			if (bytes > size - next * bs)
				bytes = size - next * bs;
			if (rc == 0)
				rc = each(cookie, buf, (size_t)bytes);
			done += n;
			next += n;
		}
	}
	ext2fs_extent_free(h);
	free(buf);
	return rc;
}

int tp_seedfs_read_each(struct tp_seedfs *f, const char *path, struct tp_seedfs_stat *st,
			tp_seedfs_each_fn each, void *cookie)
{
	ext2_file_t file;
	ext2_ino_t dir, ino;
	char leaf[256], *buf;
	unsigned int got = 0;
	uint64_t left;
	errcode_t e;
	int rc = tp_seedfs_read(f, path, st, NULL, NULL);

	if (rc < 0)
		return rc;
	if (!LINUX_S_ISREG(st->mode))
		return tp_err_set(-EISDIR, "%s: %s is not a regular file", f->desc, path);
	if ((rc = tp_seedfs_parent(f, path, &dir, leaf, sizeof(leaf))) < 0)
		return rc;
	if ((e = ext2fs_lookup(f->fs, dir, leaf, (int)strlen(leaf), NULL, &ino)))
		return tp_seedfs_fail(f, e, "reading %s", path);
	if (ext2fs_has_feature_extents(f->fs->super)) {
		struct ext2_inode in;

		if ((e = ext2fs_read_inode(f->fs, ino, &in)))
			return tp_seedfs_fail(f, e, "reading %s", path);
		if (in.i_flags & EXT4_EXTENTS_FL)
			return read_extents(f, path, ino, st->size, each, cookie);
	}
	if ((e = ext2fs_file_open(f->fs, ino, 0, &file)))
		return tp_seedfs_fail(f, e, "reading %s", path);
	if (!(buf = malloc(TP_SEEDFS_CHUNK))) {
		ext2fs_file_close(file);
		return tp_err_set(-ENOMEM, "out of memory reading %s", path);
	}
	for (left = st->size; left && rc == 0; left -= got) {
		unsigned int want = left > TP_SEEDFS_CHUNK ? TP_SEEDFS_CHUNK : (unsigned int)left;

		e = ext2fs_file_read(file, buf, want, &got);
		if (!e && !got)
			e = EXT2_ET_SHORT_READ;
		if (e) {
			rc = tp_seedfs_fail(f, e, "reading %s", path);
			break;
		}
		rc = each(cookie, buf, got);
	}
	free(buf);
	ext2fs_file_close(file);
	return rc;
}

