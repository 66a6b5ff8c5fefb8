/* SPDX-License-Identifier: MIT */
/*
 * Small records that must outlive the process that wrote them: what the
 * board looked like before tpkit changed it, so that a run killed outright
 * (kill -9, the BMC losing power) can be undone by the next one
 * (docs/recovery.md).
 *
 * A record is one text file in the state directory: TPKIT_STATE_DIR if set,
 * else CONFIG_TPKIT_STATE_DIR under TPKIT_ROOT. It is written whole or not
 * at all (a temporary file, fsync, rename, fsync of the directory), so a
 * crash while saving leaves the old record or the new one, never half of
 * either. Files are 0600 and the directory 0700: they describe the board.
 */
#ifndef TP_STATE_H
#define TP_STATE_H

#include <stddef.h>

/* The state directory's path. 0 or -ENAMETOOLONG. */
int tp_state_dir(char *buf, size_t size);

/* Save text as record name (a plain file name), durably. 0 or -errno. */
int tp_state_save(const char *name, const char *text);

/* Load record name into buf (NUL-terminated). The byte count, -ENOENT if
 * there is none, or another -errno. */
int tp_state_load(const char *name, char *buf, size_t size);

/* Remove record name, durably; no record is fine. 0 or -errno. */
int tp_state_remove(const char *name);

#endif
