// SPDX-License-Identifier: MIT
/*
 * GET /api/bmc/backup (serve.md section 4.4): the BMC's settings as bmcd
 * backs them up, a gzip'd tar (level best) of the overlay's upper
 * directory, the files the BMC's own root file system got changed. It is
 * made while it is sent, in HTTP chunks: libarchive writes a block, the
 * block goes out, so memory stays a few blocks whatever the overlay holds.
 *
 * Once the first chunk is out the status is sent; an error after that can
 * only cut the stream short (no terminating chunk), which a client sees as
 * a broken transfer, never as a whole archive. It is logged with its cause.
 */
#include "serve.h"
#include "common/err.h"
#include "common/log.h"
#include "common/path.h"

#include <archive.h>
#include <archive_entry.h>
#include <civetweb.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* bmcd's overlay: the upper directory of the root file system. */
#define OVERLAY_UPPER "/mnt/overlay/upper"

struct stream {
	struct tp_req *r;
	bool head_sent;
	bool broken;          /* the client went away */
	char name[64];
};

static void head_send(struct stream *st)
{
	mg_printf(st->r->conn,
		  "HTTP/1.1 200 OK\r\nContent-Type: application/gzip\r\n"
		  "Content-Disposition: attachment; filename=\"%s\"\r\n"
		  "Transfer-Encoding: chunked\r\nCache-Control: no-store\r\n\r\n",
		  st->name);
	st->head_sent = true;
}

static la_ssize_t on_write(struct archive *a, void *cookie, const void *buf, size_t len)
{
	struct stream *st = cookie;

	(void)a;
	if (!st->head_sent)
		head_send(st);
	if (len && mg_send_chunk(st->r->conn, buf, (unsigned)len) < 0) {
		st->broken = true;
		archive_set_error(a, EPIPE, "the client went away");
		return -1;
	}
	return (la_ssize_t)len;
}

/* One file system object: its header, and a regular file's bytes. */
static int entry_copy(struct archive *w, struct archive_entry *e)
{
	char buf[16384];
	int fd = -1;
	la_ssize_t n;

	if (archive_write_header(w, e) != ARCHIVE_OK)
		return -1;
	if (archive_entry_filetype(e) != AE_IFREG || archive_entry_size(e) == 0)
		return 0;
	if ((fd = open(archive_entry_sourcepath(e), O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (archive_write_data(w, buf, (size_t)n) != n) {
			close(fd);
			return -1;
		}
	close(fd);
	return n < 0 ? -1 : 0;
}

int tp_api_backup(struct tp_req *r)
{
	struct stream st = { .r = r };
	struct archive *w = NULL, *disk = NULL;
	struct archive_entry *e = NULL;
	char dir[4096], why[512] = "";
	size_t skip;
	struct stat sb;
	struct tm tm;
	time_t now = time(NULL);
	int rc;

	tp_path(dir, sizeof(dir), "%s", OVERLAY_UPPER);
	if (stat(dir, &sb) < 0 || !S_ISDIR(sb.st_mode))
		return tp_env_error(r, 500, "no backup: %s is not a directory (%s); is this BMC's "
				    "root file system an overlay?", OVERLAY_UPPER,
				    errno ? strerror(errno) : "not a directory");
	localtime_r(&now, &tm);
	strftime(st.name, sizeof(st.name), "tp2-backup-%d-%m-%Y.tar.gz", &tm);
	skip = strlen(dir);

	w = archive_write_new();
	disk = archive_read_disk_new();
	if (!w || !disk || archive_write_set_format_pax_restricted(w) != ARCHIVE_OK ||
	    archive_write_add_filter_gzip(w) != ARCHIVE_OK ||
	    archive_write_set_filter_option(w, "gzip", "compression-level", "9") != ARCHIVE_OK ||
	    archive_read_disk_set_standard_lookup(disk) != ARCHIVE_OK ||
	    archive_read_disk_set_symlink_physical(disk) != ARCHIVE_OK ||
	    archive_read_disk_set_behavior(disk, ARCHIVE_READDISK_NO_TRAVERSE_MOUNTS) !=
		    ARCHIVE_OK ||
	    archive_read_disk_open(disk, dir) != ARCHIVE_OK) {
		snprintf(why, sizeof(why), "setting up the archive: %s",
			 w && archive_error_string(w) ? archive_error_string(w) :
			 disk && archive_error_string(disk) ? archive_error_string(disk) :
							      "out of memory");
		goto out;
	}
	/* Nothing is sent before the writer is set up: until then a failure
	 * is still an answer with a status. */
	if (archive_write_open2(w, &st, NULL, on_write, NULL, NULL) != ARCHIVE_OK) {
		snprintf(why, sizeof(why), "%s", archive_error_string(w));
		goto out;
	}
	while ((e = archive_entry_new()) &&
	       (rc = archive_read_next_header2(disk, e)) != ARCHIVE_EOF) {
		const char *path = archive_entry_pathname(e);

		if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
			snprintf(why, sizeof(why), "reading %s: %s", dir, archive_error_string(disk));
			break;
		}
		archive_read_disk_descend(disk);
		/* Names inside the archive are relative to the overlay, as
		 * bmcd's are; the directory itself is not an entry. */
		if (strlen(path) <= skip + 1) {
			archive_entry_free(e);
			continue;
		}
		archive_entry_copy_sourcepath(e, path);
		archive_entry_copy_pathname(e, path + skip + 1);
		if (entry_copy(w, e) < 0) {
			snprintf(why, sizeof(why), "%s: %s", path,
				 st.broken ? "the client went away" : archive_error_string(w) ?
				 archive_error_string(w) : strerror(errno));
			break;
		}
		archive_entry_free(e);
	}
	if (!e && !why[0])
		snprintf(why, sizeof(why), "out of memory");
	archive_entry_free(e);
	if (!why[0] && archive_write_close(w) != ARCHIVE_OK)
		snprintf(why, sizeof(why), "%s", archive_error_string(w));
out:
	if (disk)
		archive_read_free(disk);
	if (w) {
		if (why[0])
			archive_write_fail(w);
		archive_write_free(w);
	}
	if (why[0] && !st.head_sent)
		return tp_env_error(r, 500, "no backup: %s", why);
	if (why[0]) {
		tp_log(TP_LOG_ERR, "backup: cut short: %s", why);
		return 200;
	}
	if (!st.head_sent)
		head_send(&st);
	mg_send_chunk(r->conn, "", 0);
	tp_log(TP_LOG_INFO, "backup %s sent", st.name);
	return 200;
}
