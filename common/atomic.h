/* SPDX-License-Identifier: MIT */
/*
 * Whole-file replacement that a power cut cannot tear: the new contents go to
 * a temporary file beside the target, which is fsync'ed, renamed over the
 * target, and then the directory is fsync'ed so the rename itself is on the
 * card. A reader sees the old file or the new one, never a mix or nothing.
 * Paths are used as given (callers resolve TPKIT_ROOT themselves).
 */
#ifndef TP_ATOMIC_H
#define TP_ATOMIC_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Replace path with len bytes of data, with permissions mode (applied to the
 * temporary file before any byte is written, so a secret is never readable
 * by others, not even for a moment). The directory must exist.
 * 0 or -errno with a message naming path.
 */
int tp_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode);

/* Remove path and fsync its directory; a missing file is not an error. */
int tp_file_remove_durable(const char *path);

/*
 * mkdir -p: create path and its missing parents with mode. Directories that
 * already exist keep their permissions unless force_mode is set, in which
 * case path itself (not its parents) is chmod'ed to mode (a secrets
 * directory must be 0700 even if someone loosened it).
 */
int tp_dir_make(const char *path, mode_t mode, int force_mode);

#endif
