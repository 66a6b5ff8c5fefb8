// SPDX-License-Identifier: MIT
/*
 * Applying a plan (seed.h, docs/seeding.md §4): into the root that
 * tp_seed_find_root() picks, every item written through libext2fs
 * (seedfs.h), then read back through a fresh read-only open.
 */
#include "seed.h"
#include "seed_plan.h"
#include "bundle.h"
#include "seedfs.h"
#include "common/err.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

/* Add context to the message a callee left, and leave. */
#define TP_FAIL_PREFIX(err, ...)                                                             \
	do {                                                                                 \
		rc = tp_err_prefix((err), __VA_ARGS__);                                      \
		goto out;                                                                    \
	} while (0)

/* The sink as the seeding sees it: every write counted (res->bytes_written
 * is what went to the device, partial units included). */
struct counted {
	struct tp_sink sink;
	struct tp_sink *inner;
	uint64_t written;
};

static int c_pwrite(struct tp_sink *s, const void *buf, size_t len, uint64_t off)
{
	struct counted *c = s->priv;
	int rc = tp_sink_pwrite(c->inner, buf, len, off);

	if (rc == 0)
		c->written += len;
	return rc;
}

static int c_pread(struct tp_sink *s, void *buf, size_t len, uint64_t off)
{
	return tp_sink_pread(((struct counted *)s->priv)->inner, buf, len, off);
}

static int c_flush(struct tp_sink *s)
{
	return tp_sink_flush(((struct counted *)s->priv)->inner);
}

static void c_close(struct tp_sink *s)
{
	(void)s; /* the caller's sink stays open */
}

static const struct tp_sink_ops counted_ops = {
	.name = "seed", .pwrite = c_pwrite, .pread = c_pread, .flush = c_flush, .close = c_close,
};

/* A TP_SEED_STREAM item: the host file copied in chunks, hashed on the way; a
 * file that no longer hashes to what the catalogue pins is refused (the
 * copy in the root is then wrong, and the seeding fails). */
static int write_stream(struct tp_seedfs *f, const struct tp_seed_item *it)
{
	struct tp_seed_stream s;
	char hex[65];
	uint64_t size;
	int rc = tp_seed_stream_open(&s, it->data);

	if (rc < 0)
		return rc;
	rc = tp_seedfs_write_from(f, it->path, it->size, tp_seed_stream_fill, &s, it->mode, 0, 0);
	tp_seed_stream_close(&s, hex, &size);
	/* The cache names a file after its catalogue entry (common/cache.h). */
	if (rc == 0 && strcmp(hex, it->sha256))
		rc = tp_err_set(-EBADMSG, "%s changed since the cache verified it: it hashes to "
				"%s (%llu bytes), the catalogue pins %s; check it with tpkit images "
				"verify %s", it->data, hex, (unsigned long long)size, it->sha256,
				strrchr(it->data, '/') ? strrchr(it->data, '/') + 1 : it->data);
	return rc;
}

static int write_all(const struct tp_seed_plan *p, struct tp_seedfs *f, unsigned *files)
{
	for (unsigned i = 0; i < p->n; i++) {
		const struct tp_seed_item *it = &p->it[i];
		int rc = it->kind == TP_SEED_DIR ? tp_seedfs_mkdir(f, it->path, it->mode, 0, 0) :
			 it->kind == TP_SEED_STREAM ? write_stream(f, it) :
			 it->kind == TP_SEED_FILE ? tp_seedfs_write(f, it->path, it->data, it->len,
							      it->mode, 0, 0) :
			 tp_seedfs_symlink(f, it->path, it->data);

		if (rc < 0)
			return rc;
		*files += it->kind != TP_SEED_DIR;
	}
	return 0;
}

/* A TP_SEED_STREAM item read back in chunks: its hash is the pinned one. */
static bool stream_same(struct tp_seedfs *f, const struct tp_seed_item *it, int *rc)
{
	struct tp_seedfs_stat st;
	struct tp_seed_hash h;
	char hex[65];

	if ((*rc = tp_seed_hash_init(&h)) < 0)
		return false;
	*rc = tp_seedfs_read_each(f, it->path, &st, tp_seed_hash_each, &h);
	tp_seed_hash_end(&h, hex);
	return *rc == 0 && (st.mode & S_IFMT) == S_IFREG && (st.mode & 07777) == it->mode &&
	       st.uid == 0 && st.gid == 0 && !strcmp(hex, it->sha256);
}

/* A fresh read-only open: every file and link as planned, owned by root. */
static int read_back(const struct tp_seed_plan *p, struct tp_seedfs *f, const char *where)
{
	for (unsigned i = 0; i < p->n; i++) {
		const struct tp_seed_item *it = &p->it[i];

		if (it->kind == TP_SEED_STREAM) {
			int rc;

			if (!stream_same(f, it, &rc)) {
				if (rc < 0)
					return rc;
				return tp_err_set(-EIO, "%s: reading back %s: it is not what was "
						  "written (type, mode 0%o, owner or SHA-256 differ)",
						  where, it->path, (unsigned)it->mode);
			}
			continue;
		}
		struct tp_seedfs_stat st;
		unsigned type = it->kind == TP_SEED_DIR ? S_IFDIR : it->kind == TP_SEED_FILE ? S_IFREG : S_IFLNK;
		char *data = NULL;
		size_t len = 0;
		bool same;
		int rc = tp_seedfs_read(f, it->path, &st, it->kind == TP_SEED_DIR ? NULL : &data, &len);

		if (rc < 0)
			return rc;
		same = (st.mode & S_IFMT) == type && st.uid == 0 && st.gid == 0 &&
		       (it->kind != TP_SEED_FILE || (st.mode & 07777) == it->mode) &&
		       (it->kind == TP_SEED_DIR || (len == it->len && !memcmp(data, it->data, len)));
		if (data) {
			if (it->secret)
				OPENSSL_cleanse(data, len);
			free(data);
		}
		if (!same)
			return tp_err_set(-EIO, "%s: reading back %s: it is not what was written "
					  "(type, mode 0%o, owner or content differ)", where, it->path,
					  (unsigned)it->mode);
	}
	return 0;
}

int tp_seed_apply(const struct tp_seed_plan *p, struct tp_sink *s, const void *head,
		  size_t head_len, struct tp_seed_result *res)
{
	struct counted c = { .inner = s };
	struct tp_seedfs *f = NULL;
	char where[256];
	uint64_t base, size;
	int rc;

	memset(res, 0, sizeof(*res));
	rc = tp_seed_find_root(s, head, head_len, &base, &size, where, sizeof(where));
	if (rc < 0)
		goto out;
	c.sink = *s;
	c.sink.ops = &counted_ops;
	c.sink.priv = &c;
	if ((rc = tp_seedfs_open(&c.sink, base, size, &f)) < 0)
		TP_FAIL_PREFIX(rc, "%s: ", where);
	rc = write_all(p, f, &res->files);
	tp_seedfs_uuid(f, res->root_uuid);
	if (rc < 0) {
		tp_seedfs_close(f);
		TP_FAIL_PREFIX(rc, "%s: ", where);
	}
	if ((rc = tp_seedfs_close(f)) < 0)
		TP_FAIL_PREFIX(rc, "%s: ", where);
	res->bytes_written = c.written;
	if ((rc = tp_seedfs_open_ro(&c.sink, base, size, &f)) < 0)
		TP_FAIL_PREFIX(rc, "%s: reading back: ", where);
	rc = read_back(p, f, where);
	tp_seedfs_close(f);
	if (rc < 0)
		goto out;
	snprintf(res->instance_id, sizeof(res->instance_id), "%s", p->instance_id);
	rc = 0;
out:
	return rc;
}
