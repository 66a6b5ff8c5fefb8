// SPDX-License-Identifier: MIT
/*
 * The k3s bundle (bundle.h, docs/seeding.md §9). Found at planning time
 * from what the image cache holds verified, so that the plan says whether
 * the node will need internet before any node is touched; copied at apply
 * time in chunks, because the files are larger than the BMC can hold
 * (128 MB of RAM; k3s is about 70 MB, its images about 150 MB).
 */
#include "bundle.h"
#include "common/cache.h"
#include "common/catalogue.h"
#include "common/err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

/* The airgap images' name by their compression, as k3s publishes them
 * (commissioning.md §6.5); k3s's agent reads each kind from its images
 * directory. NULL for a URL that is none of them. */
static const char *images_ext(const char *url)
{
	static const char *const ext[] = { ".tar.zst", ".tar.gz", ".tar" };
	size_t n = strcspn(url, "?#");

	for (size_t i = 0; i < 3; i++) {
		size_t l = strlen(ext[i]);

		if (n >= l && !strncmp(url + n - l, ext[i], l))
			return ext[i];
	}
	return NULL;
}

int tp_seed_bundle_find(const char *version, const char *arch, struct tp_seed_bundle *b,
			char *note, size_t note_size)
{
	static const enum tp_cat_kind kinds[3] = { TP_CAT_K3S_BINARY, TP_CAT_K3S_IMAGES,
						   TP_CAT_K3S_INSTALL };
	struct tp_catalogue cat = { 0 };
	struct tp_cache cache;
	int rc;

	memset(b, 0, sizeof(*b));
	snprintf(b->version, sizeof(b->version), "%s", version);
	snprintf(b->arch, sizeof(b->arch), "%s", arch);
	if ((rc = tp_catalogue_load(&cat, NULL)) < 0 || (rc = tp_cache_init(&cache, NULL)) < 0) {
		if (rc == -ENOMEM)
			goto out;
		snprintf(note, note_size, "%s", tp_err_msg());
		rc = 0;
		goto out;
	}
	for (int i = 0; i < 3; i++) {
		const struct tp_catalogue_entry *e = tp_catalogue_k3s(&cat, kinds[i], version, arch);
		struct tp_seed_bundle_file *f = &b->f[i];
		const char *ext;
		uint64_t bytes = 0;

		if (!e) {
			snprintf(note, note_size, "the image catalogue has no %s entry for k3s %s "
				 "%s", tp_catalogue_kind_name(kinds[i]), version, arch);
			rc = 0;
			goto out;
		}
		if (tp_cache_state(&cache, e, &bytes) != TP_CACHE_CACHED) {
			snprintf(note, note_size, "%s is not in the image cache (tpkit images "
				 "fetch %s)", e->name, e->name);
			rc = 0;
			goto out;
		}
		if ((rc = tp_cache_file(&cache, e->name, "", f->src, sizeof(f->src))) < 0)
			goto out;
		snprintf(f->entry, sizeof(f->entry), "%s", e->name);
		snprintf(f->sha256, sizeof(f->sha256), "%s", e->sha256);
		f->size = bytes;
		f->mode = 0755;
		if (kinds[i] == TP_CAT_K3S_BINARY) {
			snprintf(f->name, sizeof(f->name), "k3s");
		} else if (kinds[i] == TP_CAT_K3S_INSTALL) {
			snprintf(f->name, sizeof(f->name), "install.sh");
		} else if ((ext = images_ext(e->url))) {
			snprintf(f->name, sizeof(f->name), "k3s-airgap-images-%s%s", arch, ext);
			f->mode = 0644;
		} else {
			snprintf(note, note_size, "%s (%s): its URL does not end in .tar.zst, "
				 ".tar.gz or .tar, the airgap images' names", e->name, e->origin);
			rc = 0;
			goto out;
		}
	}
	rc = 1;
out:
	tp_catalogue_free(&cat);
	return rc;
}

int tp_seed_bundle_sums(const struct tp_seed_bundle *b, char **out, size_t *len)
{
	size_t size = 3 * (64 + 2 + sizeof(b->f[0].name) + 1) + 1, o = 0;
	char *t = malloc(size);

	if (!t)
		return tp_err_set(-ENOMEM, "out of memory");
	for (int i = 0; i < 3; i++)
		o += (size_t)snprintf(t + o, size - o, "%s  %s\n", b->f[i].sha256, b->f[i].name);
	*out = t;
	*len = o;
	return 0;
}

int tp_seed_stream_open(struct tp_seed_stream *s, const char *path)
{
	memset(s, 0, sizeof(*s));
	s->path = path;
	s->fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (s->fd < 0)
		return tp_err_set(-errno, "cannot open %s: %s", path, strerror(errno));
	/* Read once, front to back: no need to keep it in the page cache. */
	posix_fadvise(s->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	s->md = EVP_MD_CTX_new();
	if (!s->md || !EVP_DigestInit_ex(s->md, EVP_sha256(), NULL)) {
		close(s->fd);
		s->fd = -1;
		EVP_MD_CTX_free(s->md);
		s->md = NULL;
		return tp_err_set(-ENOMEM, "out of memory hashing %s", path);
	}
	return 0;
}

int tp_seed_stream_fill(void *cookie, void *buf, size_t size, size_t *got)
{
	struct tp_seed_stream *s = cookie;
	ssize_t n;

	do
		n = read(s->fd, buf, size);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return tp_err_set(-errno, "reading %s at byte %llu: %s", s->path,
				  (unsigned long long)s->done, strerror(errno));
	EVP_DigestUpdate(s->md, buf, (size_t)n);
	posix_fadvise(s->fd, (off_t)s->done, n, POSIX_FADV_DONTNEED);
	s->done += (uint64_t)n;
	*got = (size_t)n;
	return 0;
}

static void hex_of(EVP_MD_CTX *md, char hex[65])
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned len = 0;

	EVP_DigestFinal_ex(md, d, &len);
	for (unsigned i = 0; i < len && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
}

void tp_seed_stream_close(struct tp_seed_stream *s, char hex[65], uint64_t *size)
{
	hex[0] = '\0';
	if (s->md)
		hex_of(s->md, hex);
	*size = s->done;
	EVP_MD_CTX_free(s->md);
	s->md = NULL;
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

int tp_seed_hash_init(struct tp_seed_hash *h)
{
	h->done = 0;
	h->md = EVP_MD_CTX_new();
	if (!h->md || !EVP_DigestInit_ex(h->md, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(h->md);
		h->md = NULL;
		return tp_err_set(-ENOMEM, "out of memory");
	}
	return 0;
}

int tp_seed_hash_each(void *cookie, const void *buf, size_t len)
{
	struct tp_seed_hash *h = cookie;

	EVP_DigestUpdate(h->md, buf, len);
	h->done += len;
	return 0;
}

void tp_seed_hash_end(struct tp_seed_hash *h, char hex[65])
{
	hex_of(h->md, hex);
	EVP_MD_CTX_free(h->md);
	h->md = NULL;
}
