/* SPDX-License-Identifier: MIT */
/*
 * A libext2fs io_manager over a tp_sink (docs/seeding.md §2): libext2fs
 * reads and writes a file system inside the image on the node's eMMC
 * through the very sink that wrote it — rockusb LBAs for an RK1, the USB
 * disk for a CM4, a file for `tpkit write` — so nothing is mounted and no
 * block device is needed on the BMC.
 */
#ifndef TP_SEED_IO_SINK_H
#define TP_SEED_IO_SINK_H

#include <ext2fs/ext2fs.h>
#include <stddef.h>
#include <stdint.h>

#include "common/sink.h"

/* The manager to pass to ext2fs_open2() with a name from tp_seed_io_bind(). */
extern io_manager tp_seed_io_manager;

/*
 * Bind the byte range [base, base + size) of sink (a partition) to a name
 * for ext2fs_open2(name, NULL, flags, 0, 0, tp_seed_io_manager, &fs). Every
 * I/O outside the range fails, so a corrupt file system cannot reach the
 * image's head or another partition. The binding lasts until unbind, after
 * the file system is closed. 0 or -errno.
 */
int tp_seed_io_bind(struct tp_sink *sink, uint64_t base, uint64_t size, char *name,
		    size_t name_size);
void tp_seed_io_unbind(const char *name);

/* Bytes read and written through a binding so far (for tests and stats). */
int tp_seed_io_stats(const char *name, uint64_t *read, uint64_t *written);

#endif
