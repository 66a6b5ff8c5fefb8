// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: format detection and the decoder chain (common/decode*.c:
 * xz, gzip, and libarchive's zstd, bzip2, zip, tar, raw) over a buffer given
 * as the input stream, in pieces of a size byte 0 chooses so that every
 * boundary case of the pull glue is met. Decodes at most 8 MiB per input, so
 * a decompression bomb costs time, not the run.
 */
#include "common/decode.h"
#include "common/err.h"
#include "common/image.h"
#include "common/pull.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define OUT_MAX (8u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct feed {
	const uint8_t *p;
	size_t left, piece;
	uint8_t *copy; /* each piece in its own exact-size buffer, for ASan */
};

static int next(void *ctx, const void **p, size_t *n)
{
	struct feed *f = ctx;
	size_t k = f->left < f->piece ? f->left : f->piece;

	free(f->copy);
	f->copy = NULL;
	if (k) {
		f->copy = malloc(k);
		if (!f->copy)
			return tp_err_set(-ENOMEM, "out of memory");
		memcpy(f->copy, f->p, k);
	}
	*p = f->copy;
	*n = k;
	f->p += k;
	f->left -= k;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t pieces[8] = { 1, 2, 7, 512, 4095, 4096, 65536, 1u << 20 };
	struct feed f;
	struct tp_pull in;
	struct tp_decoder *d = NULL;
	struct tp_decode_opts o = { .xz_memlimit = 32u << 20 };
	struct tp_image_info info;
	static uint8_t out[65536];
	size_t total = 0, got;

	if (size < 1)
		return 0;
	f = (struct feed){ .p = data + 1, .left = size - 1, .piece = pieces[data[0] & 7] };
	o.force_raw = data[0] & 8;
	memset(&info, 0, sizeof(info));
	tp_pull_init(&in, next, &f);
	if (tp_decoder_open(&d, &in, &o, &info) == 0) {
		size_t chunk = (data[0] & 0x30) ? sizeof(out) : 4096;

		while (total < OUT_MAX && tp_decoder_read(d, out, chunk, &got) == 0 && got)
			total += got;
		if (total < OUT_MAX)
			(void)tp_decoder_finish(d);
		tp_decoder_close(d);
	}
	tp_pull_release(&in);
	free(f.copy);
	return 0;
}
