/* SPDX-License-Identifier: MIT */
/*
 * The k3s bundle seeding puts into a node's root so that a node without
 * internet commissions (docs/seeding.md §9): the k3s binary, its airgap
 * images and install.sh, pinned in the image catalogue and taken from the
 * image cache; and the streams that copy them in chunks, hashing as they go.
 */
#ifndef TP_SEED_BUNDLE_H
#define TP_SEED_BUNDLE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/path.h"

/* Where the bundle goes on the node (the contract with node/, issue 11). */
#define TP_SEED_BUNDLE_DIR "/var/lib/tpkit-node/k3s"

struct tp_seed_bundle_file {
	char name[64];            /* in the bundle: k3s, install.sh, k3s-airgap-images-ARCH.tar.zst */
	char src[TP_PATH_MAX];    /* the verified copy in the image cache */
	char entry[64];           /* the catalogue entry, for messages */
	char sha256[65];          /* as the catalogue pins it */
	uint64_t size;
	mode_t mode;
};

struct tp_seed_bundle {
	char version[64];
	char arch[8];             /* arm64, amd64 */
	struct tp_seed_bundle_file f[3];
};

/*
 * The bundle for k3s version and arch: the catalogue's k3s-binary,
 * k3s-images and k3s-install entries for them, each verified in the cache
 * (its NAME.sha256 record matches the pinned hash; the bytes are hashed
 * again as they are copied). 1 found; 0 not, with why (and what to fetch)
 * in note; -errno only for what is not the user's to fix (out of memory).
 */
int tp_seed_bundle_find(const char *version, const char *arch, struct tp_seed_bundle *b,
			char *note, size_t note_size);

/* SHA256SUMS of the bundle: "<sha256>  <name>\n" per file, as sha256sum -c reads it. */
int tp_seed_bundle_sums(const struct tp_seed_bundle *b, char **out, size_t *len);

/* A host file streamed into the root, hashed on the way (a tp_seedfs_fill_fn). */
struct tp_seed_stream {
	int fd;
	const char *path;
	void *md;                 /* EVP_MD_CTX */
	uint64_t done;
};

int tp_seed_stream_open(struct tp_seed_stream *s, const char *path);
int tp_seed_stream_fill(void *cookie, void *buf, size_t size, size_t *got);
/* Close; the SHA-256 of what was read into hex, the byte count into *size. */
void tp_seed_stream_close(struct tp_seed_stream *s, char hex[65], uint64_t *size);

/* SHA-256 over chunks handed to tp_seed_hash_each (a tp_seedfs_each_fn). */
struct tp_seed_hash {
	void *md;
	uint64_t done;
};

int tp_seed_hash_init(struct tp_seed_hash *h);
int tp_seed_hash_each(void *cookie, const void *buf, size_t len);
void tp_seed_hash_end(struct tp_seed_hash *h, char hex[65]);

#endif
