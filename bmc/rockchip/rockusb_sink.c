// SPDX-License-Identifier: MIT
/*
 * The "rockusb" sink: an RK1's eMMC through its loader. Byte offsets from the
 * pipeline become 512-byte LBAs (protocols.md §5.5); writes are queued by the
 * command engine, so pwrite() returns while the bus is still busy and flush()
 * is where every outstanding CSW is checked (common/sink.h's contract). A
 * read is queued too, its commands several at once, and returns when all
 * have landed.
 */
#include "rockusb.h"
#include "common/err.h"
#include "common/log.h"
#include "common/sink.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

struct rk_sink {
	struct tp_sink s;
	struct tp_rockusb *d;
};

static struct tp_rockusb *dev_of(struct tp_sink *s)
{
	return ((struct rk_sink *)s->priv)->d;
}

/* Offsets and lengths the pipeline passes must be whole sectors inside the
 * flash: a stray byte count would otherwise be rounded into a silent
 * corruption of the neighbouring sector. */
static int check_range(struct tp_sink *s, const char *op, size_t len, uint64_t off)
{
	if (len % TP_RK_SECTOR || off % TP_RK_SECTOR)
		return tp_err_set(-EINVAL, "%s: %s of %zu bytes at %" PRIu64 ": not whole 512-byte "
				  "sectors", s->desc, op, len, off);
	if (off > s->size || len > s->size - off)
		return tp_err_set(-ENOSPC, "%s: %s of %zu bytes at %" PRIu64 " goes past the end of "
				  "the flash (%" PRIu64 " bytes): the image is larger than the eMMC",
				  s->desc, op, len, off, s->size);
	return 0;
}

static int rk_pwrite(struct tp_sink *s, const void *buf, size_t len, uint64_t off)
{
	struct tp_rockusb *d = dev_of(s);
	uint32_t max = tp_rockusb_write_max(d);
	const uint8_t *p = buf;
	uint32_t lba, left;
	int rc = check_range(s, "write", len, off);

	if (rc < 0)
		return rc;
	lba = (uint32_t)(off / TP_RK_SECTOR);
	left = (uint32_t)(len / TP_RK_SECTOR);
	while (left) {
		uint32_t n = left < max ? left : max;

		rc = tp_rockusb_write_lba(d, lba, n, p);
		if (rc < 0)
			return rc;
		lba += n, left -= n, p += (size_t)n * TP_RK_SECTOR;
	}
	return 0;
}

static int rk_pread(struct tp_sink *s, void *buf, size_t len, uint64_t off)
{
	int rc = check_range(s, "read", len, off);

	if (rc < 0)
		return rc;
	return tp_rockusb_read_lba(dev_of(s), (uint32_t)(off / TP_RK_SECTOR),
				   (uint32_t)(len / TP_RK_SECTOR), buf);
}

static int rk_flush(struct tp_sink *s)
{
	return tp_rockusb_flush(dev_of(s));
}

static void rk_close(struct tp_sink *s)
{
	struct rk_sink *k = s->priv;

	tp_rockusb_close(k->d);
	free(k);
}

static const struct tp_sink_ops rk_sink_ops = {
	.name = "rockusb",
	.pwrite = rk_pwrite,
	.pread = rk_pread,
	.flush = rk_flush,
	.close = rk_close,
};

int tp_rockusb_sink_open(struct tp_rockusb *d, struct tp_sink **out)
{
	struct tp_rk_flash_info fi;
	struct rk_sink *k;
	int rc;

	*out = NULL;
	if (tp_rockusb_mode(d) != TP_ROCKUSB_LOADER)
		return tp_err_set(-EINVAL, "rockusb %s: in maskrom: download a loader first",
				  tp_rockusb_path(d));
	rc = tp_rockusb_read_flash_info(d, &fi);
	if (rc < 0)
		return rc;
	k = calloc(1, sizeof(*k));
	if (!k)
		return tp_err_set(-ENOMEM, "rockusb %s: out of memory", tp_rockusb_path(d));
	k->d = d;
	k->s.ops = &rk_sink_ops;
	/* The LBA field is 32 bits (§5.5): 2 TiB, far above any RK1 eMMC. */
	k->s.size = (uint64_t)fi.sectors * TP_RK_SECTOR;
	k->s.align = TP_RK_SECTOR;
	k->s.max_io = (size_t)tp_rockusb_write_max(d) * TP_RK_SECTOR;
	/* A read of several commands' worth is queued as writes are
	 * (tp_rockusb_read_lba): the read-back's MiB at a time, not one
	 * command at a time. Writes stay one command each, so the boot
	 * block can still go out back to front. */
	k->s.max_read = 4u << 20;
	k->s.priv = k;
	snprintf(k->s.desc, sizeof(k->s.desc), "eMMC (rockusb %s)", tp_rockusb_path(d));
	TP_INFO("%s: %" PRIu64 " bytes, %zu bytes per command", k->s.desc, k->s.size, k->s.max_io);
	*out = &k->s;
	return 0;
}
