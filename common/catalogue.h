/* SPDX-License-Identifier: MIT */
/*
 * The image catalogue: named OS images with a pinned SHA-256, as plain data
 * (images/images.conf, format documented there). tpkit reads, in order,
 *
 *	<root>/usr/share/tpkit/images.conf   (CONFIG_TPKIT_DATADIR; shipped)
 *	<root>/etc/tpkit/images.conf         (the user's; optional)
 *	--catalogue FILE                      (optional, as given)
 *
 * A later file's entry replaces an earlier entry of the same name whole (no
 * key-by-key merge: an override never mixes one image's URL with another's
 * hash). Within one file a name may appear once.
 *
 * Parsing is pure (text in, entries out) so that every malformed case is a
 * unit test; errors say "FILE:LINE: field: what is wrong; what to do".
 */
#ifndef TP_CATALOGUE_H
#define TP_CATALOGUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TP_CAT_NAME_MAX 64
#define TP_CAT_URL_MAX 1024
#define TP_CAT_DESC_MAX 256
#define TP_CAT_ORIGIN_MAX 512

/* What an entry is: an OS image (the default), or one file of a k3s
 * bundle that seeding puts into the image (docs/seeding.md §9). */
enum tp_cat_kind {
	TP_CAT_IMAGE,
	TP_CAT_K3S_BINARY,            /* the k3s binary for arch */
	TP_CAT_K3S_IMAGES,            /* the airgap images for arch (.tar.zst, .tar.gz, .tar) */
	TP_CAT_K3S_INSTALL,           /* install.sh (any arch) */
};

#define TP_CAT_VERSION_MAX 64

struct tp_catalogue_entry {
	char name[TP_CAT_NAME_MAX];   /* [a-z0-9._-], starts with [a-z0-9] */
	enum tp_cat_kind kind;
	char module[8];               /* "rk1" or "cm4"; images only */
	char arch[8];                 /* "arm64" or "amd64"; k3s files ("" install.sh: any) */
	char version[TP_CAT_VERSION_MAX]; /* k3s files: the k3s release, v1.31.12+k3s1 */
	char url[TP_CAT_URL_MAX];     /* http:// or https:// */
	char sha256[65];              /* of the file at url (compressed), lower case */
	uint64_t size;                /* bytes at url, 0 if not known */
	uint64_t raw_size;            /* bytes of the disk image, 0 if not known */
	char description[TP_CAT_DESC_MAX];
	bool is_default;              /* what --image auto picks for this module */
	char origin[TP_CAT_ORIGIN_MAX]; /* "FILE:LINE" of the [name] line */
};

struct tp_catalogue {
	struct tp_catalogue_entry *e;
	size_t n, cap;
};

/* true if name is a valid entry name: 1-63 of [a-z0-9._-], first [a-z0-9]. */
bool tp_catalogue_name_ok(const char *name);

/*
 * Parse one file's text (len bytes, need not be NUL-terminated) and merge its
 * entries into cat. file names the text in messages. The file is applied
 * whole or not at all: on any error cat is unchanged.
 * 0, -EINVAL (malformed; message "FILE:LINE: ..."), -ENOMEM.
 */
int tp_catalogue_parse(struct tp_catalogue *cat, const char *text, size_t len, const char *file);

/* Read path (as given, not root-prefixed) and parse it. optional: a missing
 * file is not an error (returns 0, cat unchanged). */
int tp_catalogue_load_file(struct tp_catalogue *cat, const char *path, bool optional);

/* The shipped catalogue, then /etc/tpkit/images.conf (both under the root
 * prefix), then user_file if not NULL. The shipped one must exist. */
int tp_catalogue_load(struct tp_catalogue *cat, const char *user_file);

const struct tp_catalogue_entry *tp_catalogue_find(const struct tp_catalogue *cat,
						   const char *name);

/* The entry for module marked default, or the only one for that module.
 * NULL with a message (none, or several and none marked). */
const struct tp_catalogue_entry *tp_catalogue_auto(const struct tp_catalogue *cat,
						   const char *module);

/* The k3s file of kind for version and arch (an install.sh without arch
 * serves every arch), NULL if the catalogue has none. */
const struct tp_catalogue_entry *tp_catalogue_k3s(const struct tp_catalogue *cat,
						  enum tp_cat_kind kind, const char *version,
						  const char *arch);

/* "image", "k3s-binary", "k3s-images", "k3s-install". */
const char *tp_catalogue_kind_name(enum tp_cat_kind kind);

void tp_catalogue_free(struct tp_catalogue *cat);

#endif
