// SPDX-License-Identifier: MIT
/*
 * What the two halves of seedfs share: the handle, libext2fs errors as
 * -errno with a message, and the directory of a path. seedfs.c opens,
 * closes and reads; seedfs_write.c writes.
 */
#ifndef TP_SEEDFS_PRIV_H
#define TP_SEEDFS_PRIV_H

#include "seedfs.h"

#include <ext2fs/ext2fs.h>

struct tp_seedfs {
	ext2_filsys fs;
	char name[32];
	char desc[200];
};

/* A libext2fs error as -errno with a message: errcodes below 256 are errnos
 * (com_err's system table), the rest are the library's own. */
int tp_seedfs_fail(struct tp_seedfs *f, errcode_t e, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The directory holding path's last component (links on the way
 * followed), and that component. */
int tp_seedfs_parent(struct tp_seedfs *f, const char *path, ext2_ino_t *dir, char *leaf,
		     size_t size);

#endif
