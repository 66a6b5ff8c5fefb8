/* SPDX-License-Identifier: MIT */
/*
 * Files into an ext4 file system inside an image, through a sink, without
 * mounting it (docs/seeding.md §3): directories, regular files and
 * symlinks, each with its mode and owner. What seeding writes (cloud-init
 * seed, host keys, the node helper and its unit, k3s configuration) goes
 * through these few calls.
 */
#ifndef TP_SEEDFS_H
#define TP_SEEDFS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/sink.h"

struct tp_seedfs;

/* Open the ext4 file system in bytes [base, base + size) of sink, for
 * writing. 0 or -errno with a message naming the sink and the partition. */
int tp_seedfs_open(struct tp_sink *sink, uint64_t base, uint64_t size, struct tp_seedfs **out);

/* mkdir -p: missing directories of path (absolute) made with mode, uid and
 * gid; existing ones left as they are. */
int tp_seedfs_mkdir(struct tp_seedfs *f, const char *path, mode_t mode, uid_t uid, gid_t gid);

/* Write a regular file whole (its directory must exist): created, or
 * replaced if it exists (a symlink there is replaced too), with mode (the
 * permission bits), uid and gid. A directory there is an error. */
int tp_seedfs_write(struct tp_seedfs *f, const char *path, const void *data, size_t len,
		    mode_t mode, uid_t uid, gid_t gid);

/* A file's bytes from a source, for files too large to hold in memory (the
 * k3s bundle, docs/seeding.md §9): fill puts up to size bytes into buf and
 * sets *got, 0 at the end; 0 or -errno with a message. */
typedef int (*tp_seedfs_fill_fn)(void *cookie, void *buf, size_t size, size_t *got);

/* tp_seedfs_write() with the content, size bytes, streamed from fill in
 * chunks of TP_SEEDFS_CHUNK bytes (one buffer, however large the file); a
 * source that ends early or goes on past size is an error. */
#define TP_SEEDFS_CHUNK (1u << 20)
int tp_seedfs_write_from(struct tp_seedfs *f, const char *path, uint64_t size,
			 tp_seedfs_fill_fn fill, void *cookie, mode_t mode, uid_t uid, gid_t gid);

/* A symlink at path pointing at target, replacing a file or symlink there
 * (systemd's "enable" is such a link). */
int tp_seedfs_symlink(struct tp_seedfs *f, const char *path, const char *target);

/* The same, read-only (to read back what seeding wrote). */
int tp_seedfs_open_ro(struct tp_sink *sink, uint64_t base, uint64_t size,
		      struct tp_seedfs **out);

#define TP_SEEDFS_READ_MAX (16u << 20)

struct tp_seedfs_stat {
	unsigned mode; /* type and permission bits, as in the inode */
	uid_t uid;
	gid_t gid;
	uint64_t size;
};

/* Read back path without following its last component: its inode facts
 * and, with data non-NULL, the content of a regular file or the target of a
 * symlink (malloc'ed, NUL-terminated; at most TP_SEEDFS_READ_MAX bytes). */
int tp_seedfs_read(struct tp_seedfs *f, const char *path, struct tp_seedfs_stat *st, char **data,
		   size_t *len);

/* A regular file's content handed to each in chunks of at most
 * TP_SEEDFS_CHUNK bytes (reading back a streamed file); st as for
 * tp_seedfs_read(). each returns 0 or -errno. */
typedef int (*tp_seedfs_each_fn)(void *cookie, const void *buf, size_t len);
int tp_seedfs_read_each(struct tp_seedfs *f, const char *path, struct tp_seedfs_stat *st,
			tp_seedfs_each_fn each, void *cookie);

/* The file system's UUID as text (36 characters and a NUL). */
void tp_seedfs_uuid(const struct tp_seedfs *f, char out[37]);

/* Write everything out and close; f is freed either way. 0 or -errno: only
 * a 0 here means the files are on the device. */
int tp_seedfs_close(struct tp_seedfs *f);

#endif
