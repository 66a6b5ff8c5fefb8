/* SPDX-License-Identifier: MIT */
/*
 * The file sink: a regular file or a block device (/dev/sda: a CM4's eMMC
 * behind rpiboot's mass-storage gadget, an RK1 behind rockusb.ko, an SD card
 * reader). Every pipeline test runs against it.
 */
#ifndef TP_SINK_FILE_H
#define TP_SINK_FILE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/sink.h"

struct tp_sink_file_opts {
	uint64_t size;  /* capacity of a regular file (0: unknown, it grows) */
	bool no_direct; /* never O_DIRECT (tests of the buffered path) */
	bool existing;  /* a disk found in /sys/block (a CM4's /dev/sdX): must
			 * exist, never created or truncated; where its node
			 * cannot tell its size, size is its capacity */
};

/*
 * Block devices: O_EXCL (fails with EBUSY while mounted) and O_DIRECT, size
 * from BLKGETSIZE64. Regular files are created if missing, and emptied at the
 * first write (so a target refused before any write keeps its content); a
 * full file system is reported as such, not as a small target. O_DIRECT falls
 * back to buffered I/O where the file system refuses it (EINVAL on open or on
 * the first write, as tmpfs does).
 */
int tp_sink_file_open(struct tp_sink **s, const char *path, const struct tp_sink_file_opts *o);

#endif
