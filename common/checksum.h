/* SPDX-License-Identifier: MIT */
/*
 * The SHA-256 an image should have: given on the command line, or published
 * next to it as IMAGE.sha256 or in a SHA256SUMS file in the same directory
 * (local or on the web server), in GNU (`HEX  NAME`) or BSD
 * (`SHA256 (NAME) = HEX`) form.
 */
#ifndef TP_CHECKSUM_H
#define TP_CHECKSUM_H

#include <stddef.h>

/* Validate and lower-case 64 hex digits; -EINVAL with a message otherwise. */
int tp_checksum_parse_hex(const char *in, char out[65]);

/* Find NAME's hash in a checksum file's text. single: the file is
 * NAME.sha256, so a lone hash (or one for another name) counts.
 * 0 and out set, -ENOENT if not listed, -EBADMSG if no hash at all,
 * -ENOTUNIQ (with a message naming both lines) if NAME is listed twice with
 * different hashes. */
int tp_checksum_find_in(const char *text, const char *name, int single, char out[65]);

/*
 * Look for src's published checksum (src is a path or URL; "-" has none).
 * 0: out and from ("/dir/SHA256SUMS") set; -ENOENT: nothing published;
 * other -errno: a checksum file exists but is unusable (unreadable, not a
 * regular file, over 256 KiB, no hash, conflicting lines), with a message.
 */
int tp_checksum_discover(const char *src, char out[65], char *from, size_t from_size);

#endif
