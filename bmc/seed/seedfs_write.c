// SPDX-License-Identifier: MIT
/*
 * Files into an unmounted ext4 file system (seedfs.h): directories, whole
 * files, streamed files and symlinks. Paths are walked component by
 * component, and a symlink met on the way is followed inside the file
 * system: the Ubuntu images' /lib, /bin and /sbin are links into /usr.
 */
#include "seedfs_priv.h"
#include "common/err.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The next component of *p ("etc/ssh/x" -> "etc"), advancing *p. */
static size_t next_name(const char **p, char *name, size_t size)
{
	size_t n;

	while (**p == '/')
		(*p)++;
	n = strcspn(*p, "/");
	if (n >= size)
		n = size - 1;
	memcpy(name, *p, n);
	name[n] = '\0';
	*p += strcspn(*p, "/");
	return n;
}

/* A component that is a symlink resolves to what it points at. */
static errcode_t follow(struct tp_seedfs *f, ext2_ino_t dir, ext2_ino_t *ino)
{
	return ext2fs_follow_link(f->fs, EXT2_ROOT_INO, dir, *ino, ino);
}

static void stamp(struct ext2_inode *in, mode_t mode, uid_t uid, gid_t gid, __u16 type)
{
	__u32 now = (__u32)time(NULL);

	in->i_mode = (__u16)(type | (mode & 07777));
	in->i_uid = (__u16)uid;
	in->i_uid_high = (__u16)(uid >> 16);
	in->i_gid = (__u16)gid;
	in->i_gid_high = (__u16)(gid >> 16);
	in->i_atime = in->i_ctime = in->i_mtime = now;
}

/* Set mode and owner of an existing inode. */
static errcode_t chown_ino(struct tp_seedfs *f, ext2_ino_t ino, mode_t mode, uid_t uid,
			   gid_t gid)
{
	struct ext2_inode in;
	errcode_t e = ext2fs_read_inode(f->fs, ino, &in);

	if (e)
		return e;
	stamp(&in, mode, uid, gid, (__u16)(in.i_mode & LINUX_S_IFMT));
	return ext2fs_write_inode(f->fs, ino, &in);
}

int tp_seedfs_mkdir(struct tp_seedfs *f, const char *path, mode_t mode, uid_t uid, gid_t gid)
{
	ext2_ino_t dir = EXT2_ROOT_INO, ino;
	const char *p = path;
	char name[256];
	errcode_t e;

	while (next_name(&p, name, sizeof(name))) {
		e = ext2fs_lookup(f->fs, dir, name, (int)strlen(name), NULL, &ino);
		if (e == EXT2_ET_FILE_NOT_FOUND) {
			e = ext2fs_mkdir(f->fs, dir, 0, name);
			if (e == EXT2_ET_DIR_NO_SPACE && !(e = ext2fs_expand_dir(f->fs, dir)))
				e = ext2fs_mkdir(f->fs, dir, 0, name);
			if (!e)
				e = ext2fs_lookup(f->fs, dir, name, (int)strlen(name), NULL, &ino);
			if (!e)
				e = chown_ino(f, ino, mode, uid, gid);
		} else if (!e) {
			e = follow(f, dir, &ino);
		}
		if (e)
			return tp_seedfs_fail(f, e, "mkdir %s (at \"%s\")", path, name);
		dir = ino;
	}
	return 0;
}

/* Link ino into dir as name, growing the directory if it is full. */
static errcode_t link_in(struct tp_seedfs *f, ext2_ino_t dir, const char *name, ext2_ino_t ino,
			 int type)
{
	errcode_t e = ext2fs_link(f->fs, dir, name, ino, type);

	if (e == EXT2_ET_DIR_NO_SPACE && !(e = ext2fs_expand_dir(f->fs, dir)))
		e = ext2fs_link(f->fs, dir, name, ino, type);
	return e;
}

/* Remove name (not a directory) from dir; its inode goes with its last link. */
static errcode_t remove_ino(struct tp_seedfs *f, ext2_ino_t dir, const char *name, ext2_ino_t ino)
{
	struct ext2_inode in;
	errcode_t e = ext2fs_unlink(f->fs, dir, name, ino, 0);

	if (!e)
		e = ext2fs_read_inode(f->fs, ino, &in);
	if (e)
		return e;
	if (in.i_links_count > 1) {
		in.i_links_count--;
		return ext2fs_write_inode(f->fs, ino, &in);
	}
	in.i_links_count = 0;
	in.i_dtime = (__u32)time(NULL);
	if (ext2fs_inode_has_valid_blocks2(f->fs, &in) &&
	    (e = ext2fs_punch(f->fs, ino, &in, NULL, 0, ~0ULL)))
		return e;
	if ((e = ext2fs_write_inode(f->fs, ino, &in)))
		return e;
	ext2fs_inode_alloc_stats2(f->fs, ino, -1, 0);
	return 0;
}

/* A new, empty regular file in dir. */
static errcode_t create(struct tp_seedfs *f, ext2_ino_t dir, const char *name, mode_t mode,
			uid_t uid, gid_t gid, ext2_ino_t *ino)
{
	struct ext2_inode in;
	errcode_t e = ext2fs_new_inode(f->fs, dir, LINUX_S_IFREG | (int)(mode & 07777), NULL, ino);

	if (!e)
		e = link_in(f, dir, name, *ino, EXT2_FT_REG_FILE);
	if (e)
		return e;
	ext2fs_inode_alloc_stats2(f->fs, *ino, +1, 0);
	memset(&in, 0, sizeof(in));
	stamp(&in, mode, uid, gid, LINUX_S_IFREG);
	in.i_links_count = 1;
	if (ext2fs_has_feature_extents(f->fs->super)) {
		ext2_extent_handle_t h;

		/* An empty extent tree in i_block, flagged as such. */
		if ((e = ext2fs_extent_open2(f->fs, *ino, &in, &h)))
			return e;
		ext2fs_extent_free(h);
	}
	return ext2fs_write_new_inode(f->fs, *ino, &in);
}

/*
 * Make room for a new dir/leaf: what is there goes (freed with its last
 * link), unless keep_file is set and it is a regular file, which *ino then
 * names; *ino is 0 when nothing is left there. A directory in the way is an
 * error: seeding never replaces one.
 */
static int clear_way(struct tp_seedfs *f, const char *path, ext2_ino_t dir, const char *leaf,
		     bool keep_file, ext2_ino_t *ino)
{
	struct ext2_inode in;
	errcode_t e = ext2fs_lookup(f->fs, dir, leaf, (int)strlen(leaf), NULL, ino);

	if (e == EXT2_ET_FILE_NOT_FOUND) {
		*ino = 0;
		return 0;
	}
	if (!e)
		e = ext2fs_read_inode(f->fs, *ino, &in);
	if (e)
		return tp_seedfs_fail(f, e, "looking up %s", path);
	if (LINUX_S_ISDIR(in.i_mode))
		return tp_err_set(-EISDIR, "%s: %s is a directory", f->desc, path);
	if (keep_file && LINUX_S_ISREG(in.i_mode))
		return 0;
	e = remove_ino(f, dir, leaf, *ino);
	*ino = 0;
	return e ? tp_seedfs_fail(f, e, "removing %s", path) : 0;
}

/* A file's content in memory: written in place, no copy. */
struct mem_src {
	const char *data;
	size_t left;
};

/* Create or empty path, then write mem's bytes, or what fill gives. */
static int write_any(struct tp_seedfs *f, const char *path, struct mem_src *mem,
		     tp_seedfs_fill_fn fill, void *cookie, mode_t mode, uid_t uid, gid_t gid)
{
	ext2_file_t file;
	ext2_ino_t dir, ino;
	char leaf[256], *buf = NULL;
	unsigned int wrote = 0;
	errcode_t e = 0;
	int rc = tp_seedfs_parent(f, path, &dir, leaf, sizeof(leaf));

	if (rc < 0 || (rc = clear_way(f, path, dir, leaf, true, &ino)) < 0)
		return rc;
	if (!mem && !(buf = malloc(TP_SEEDFS_CHUNK)))
		return tp_err_set(-ENOMEM, "out of memory writing %s", path);
	if (!ino)
		e = create(f, dir, leaf, mode, uid, gid, &ino);
	if (!e)
		e = ext2fs_file_open(f->fs, ino, EXT2_FILE_WRITE, &file);
	if (e) {
		free(buf);
		return tp_seedfs_fail(f, e, "creating %s", path);
	}
	/* An existing file is emptied first: its old blocks go back. */
	e = ext2fs_file_set_size2(file, 0);
	for (;;) {
		const char *p = mem ? mem->data : buf;
		size_t len = 0;

		if (mem)
			len = mem->left;
		else
			rc = fill(cookie, buf, TP_SEEDFS_CHUNK, &len);
		if (e || rc < 0 || !len)
			break;
		while (!e && len) {
			unsigned int chunk = len > TP_SEEDFS_CHUNK ? TP_SEEDFS_CHUNK :
				(unsigned int)len;

			e = ext2fs_file_write(file, p, chunk, &wrote);
			p += wrote;
			len -= wrote;
			if (mem) {
				mem->data += wrote;
				mem->left -= wrote;
			}
			if (!e && !wrote)
				e = EXT2_ET_SHORT_WRITE;
		}
	}
	free(buf);
	if (e || rc < 0) {
		ext2fs_file_close(file);
		return rc < 0 ? rc : tp_seedfs_fail(f, e, "writing %s", path);
	}
	if ((e = ext2fs_file_close(file)) || (e = chown_ino(f, ino, mode, uid, gid)))
		return tp_seedfs_fail(f, e, "writing %s", path);
	return 0;
}

int tp_seedfs_write(struct tp_seedfs *f, const char *path, const void *data, size_t len,
		    mode_t mode, uid_t uid, gid_t gid)
{
	struct mem_src m = { .data = data, .left = len };

	return write_any(f, path, &m, NULL, NULL, mode, uid, gid);
}

/* Fill buf with exactly want bytes from fill, or fewer at its end. */
static int fill_full(tp_seedfs_fill_fn fill, void *cookie, char *buf, size_t want, size_t *got)
{
	size_t n;
	int rc;

	for (*got = 0; *got < want; *got += n)
		if ((rc = fill(cookie, buf + *got, want - *got, &n)) < 0 || !n)
			return rc < 0 ? rc : 0;
	return 0;
}

/*
 * Writing a large file block by block through libext2fs costs a few
 * metadata writes per block (the extent, the inode, the bitmap), each a
 * small synchronous write to the sink: minutes for the k3s bundle. So the
 * blocks are allocated in one go (ext2fs_fallocate, extents marked
 * initialised: every block is then written), and the data goes straight to
 * them, extent by extent, in chunks of TP_SEEDFS_CHUNK.
 */
static int write_extents(struct tp_seedfs *f, const char *path, ext2_ino_t ino, uint64_t size,
			 tp_seedfs_fill_fn fill, void *cookie)
{
	ext2_filsys fs = f->fs;
	unsigned bs = fs->blocksize;
	uint64_t blocks = (size + bs - 1) / bs, next = 0, written = 0;
	struct ext2_inode in;
	struct ext2fs_extent ex;
	ext2_extent_handle_t h = NULL;
	char *buf = NULL;
	errcode_t e = 0;
	int op = EXT2_EXTENT_ROOT, rc = 0;

	if (blocks)
		e = ext2fs_fallocate(fs, EXT2_FALLOCATE_FORCE_INIT | EXT2_FALLOCATE_INIT_BEYOND_EOF,
				     ino, NULL, ~0ULL, 0, blocks);
	if (!e)
		e = ext2fs_read_inode(fs, ino, &in);
	if (!e)
		e = ext2fs_inode_size_set(fs, &in, size);
	if (!e)
		e = ext2fs_write_inode(fs, ino, &in);
	if (!e && blocks)
		e = ext2fs_extent_open2(fs, ino, &in, &h);
	if (e)
		return tp_seedfs_fail(f, e, "allocating %llu bytes for %s", (unsigned long long)size, path);
	if (blocks && !(buf = malloc(TP_SEEDFS_CHUNK)))
		rc = tp_err_set(-ENOMEM, "out of memory writing %s", path);
	while (rc == 0 && next < blocks) {
		e = ext2fs_extent_get(h, op, &ex);
		op = EXT2_EXTENT_NEXT_LEAF;
		if (e) {
			rc = tp_seedfs_fail(f, e, "mapping %s at block %llu", path, (unsigned long long)next);
			break;
		}
		if (!(ex.e_flags & EXT2_EXTENT_FLAGS_LEAF))
			continue;
		if (ex.e_lblk != next || (ex.e_flags & EXT2_EXTENT_FLAGS_UNINIT)) {
			rc = tp_err_set(-EIO, "%s: %s: the allocation left a hole at block %llu",
					f->desc, path, (unsigned long long)next);
			break;
		}
		for (uint64_t done = 0; rc == 0 && done < ex.e_len && next < blocks;) {
			uint64_t n = ex.e_len - done;
			size_t want, got;

			if (n > TP_SEEDFS_CHUNK / bs)
				n = TP_SEEDFS_CHUNK / bs;
			if (n > blocks - next)
				n = blocks - next;
			want = (size_t)(n * bs);
			if (want > size - written)
				want = (size_t)(size - written);
			if ((rc = fill_full(fill, cookie, buf, want, &got)) < 0)
				break;
			if (got < want) {
				rc = tp_err_set(-EIO, "%s: the source of %s ended at byte %llu of %llu",
						f->desc, path, (unsigned long long)(written + got),
						(unsigned long long)size);
				break;
			}
			memset(buf + got, 0, (size_t)(n * bs) - got);
			e = io_channel_write_blk64(fs->io, ex.e_pblk + done, (int)n, buf);
			if (e)
				rc = tp_seedfs_fail(f, e, "writing %s", path);
			done += n;
			next += n;
			written += got;
		}
	}
	/* A source longer than announced would be cut short: refuse it. */
	if (rc == 0 && blocks) {
		size_t more = 0;

		rc = fill(cookie, buf, 1, &more);
		if (rc == 0 && more)
			rc = tp_err_set(-EIO, "%s: the source of %s is longer than %llu bytes",
					f->desc, path, (unsigned long long)size);
	}
	free(buf);
	if (h)
		ext2fs_extent_free(h);
	return rc;
}

int tp_seedfs_write_from(struct tp_seedfs *f, const char *path, uint64_t size,
			 tp_seedfs_fill_fn fill, void *cookie, mode_t mode, uid_t uid, gid_t gid)
{
	struct mem_src none = { 0 };
	ext2_ino_t dir, ino;
	char leaf[256];
	errcode_t e;
	int rc;

	if (!ext2fs_has_feature_extents(f->fs->super))
		return write_any(f, path, NULL, fill, cookie, mode, uid, gid);
	/* An empty file with its mode and owner, then its blocks. */
	if ((rc = write_any(f, path, &none, NULL, NULL, mode, uid, gid)) < 0 ||
	    (rc = tp_seedfs_parent(f, path, &dir, leaf, sizeof(leaf))) < 0)
		return rc;
	if ((e = ext2fs_lookup(f->fs, dir, leaf, (int)strlen(leaf), NULL, &ino)))
		return tp_seedfs_fail(f, e, "writing %s", path);
	return write_extents(f, path, ino, size, fill, cookie);
}

int tp_seedfs_symlink(struct tp_seedfs *f, const char *path, const char *target)
{
	ext2_ino_t dir, ino;
	char leaf[256];
	errcode_t e;
	int rc = tp_seedfs_parent(f, path, &dir, leaf, sizeof(leaf));

	if (rc < 0 || (rc = clear_way(f, path, dir, leaf, false, &ino)) < 0)
		return rc;
	e = ext2fs_symlink(f->fs, dir, 0, leaf, target);
	if (e == EXT2_ET_DIR_NO_SPACE && !(e = ext2fs_expand_dir(f->fs, dir)))
		e = ext2fs_symlink(f->fs, dir, 0, leaf, target);
	return e ? tp_seedfs_fail(f, e, "symlink %s -> %s", path, target) : 0;
}
