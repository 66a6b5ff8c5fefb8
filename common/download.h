/* SPDX-License-Identifier: MIT */
/*
 * Download a URL into a file, resuming what the file already holds: the
 * bytes there are hashed (not fetched again), the rest is asked for with an
 * HTTP Range from the file's size through the http source
 * (common/source_http.c), appended, and hashed on the way. The result says
 * what the whole file hashes to; deciding whether that is right (and
 * renaming the file) is the caller's job (common/cache.c).
 */
#ifndef TP_DOWNLOAD_H
#define TP_DOWNLOAD_H

#include <stdint.h>

#include "common/sink.h"

struct tp_download_opts {
	const char *url;
	const char *path;         /* created if missing, else appended to */
	uint64_t size;            /* expected bytes, 0 if not known: a longer file
				   * starts over, an equal one is only hashed */
	unsigned retries;         /* reconnects after a dropped connection */
	tp_progress_fn progress;  /* TP_PHASE_DOWNLOAD, at most 4 a second */
	void *progress_cookie;
};

struct tp_download_result {
	uint64_t resumed_from;    /* bytes that were in the file already */
	uint64_t bytes;           /* the file's size at the end */
	char sha256[65];          /* of the whole file, hex */
};

/*
 * 0 when the transfer completed (the hash is in r, unchecked); -ENOSPC when
 * the file system filled up (the file keeps what was written, so a later
 * call resumes), -ECANCELED on a signal (tp_cancel_install), -EIO, -ENOENT
 * (404) and others with a message naming the URL, the file and the byte.
 */
int tp_download_file(const struct tp_download_opts *o, struct tp_download_result *r);

#endif
