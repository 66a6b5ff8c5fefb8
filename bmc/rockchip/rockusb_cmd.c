// SPDX-License-Identifier: MIT
/*
 * The rockusb command engine: CBW, data and CSW of each command as
 * asynchronous libusb transfers, several commands queued at once.
 *
 * Why queue: rockusb is one command at a time on the device side, and the
 * fixed per-command cost dominates at 64 KiB per command (protocols.md §9.2,
 * protocols.md §5.5). With the next commands' URBs already in the kernel
 * when a CSW arrives, the host's share of that cost disappears. The device
 * still sees CBW -> data -> CSW in strict order: URBs on one endpoint are
 * served in submission order, and the CBW and data of command n+1 simply
 * wait (NAKed) on bulk OUT until the device reads them.
 *
 * Commands are collected in order, so the first failure found is the first
 * failing command; everything queued behind it is cancelled, and the error
 * sticks to the handle.
 */
#include "internal.h"
#include "common/cancel.h"
#include "common/clock.h"
#include "common/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

_Static_assert(CONFIG_TPKIT_ROCKUSB_WRITE_SECTORS >= 1 &&
		       CONFIG_TPKIT_ROCKUSB_WRITE_SECTORS <= TP_ROCKUSB_SECTORS_MAX,
	       "CONFIG_TPKIT_ROCKUSB_WRITE_SECTORS: 1..TP_ROCKUSB_SECTORS_MAX");
/* The sizes the proven tools send (rkdeveloptool DEFAULT_RW_LBA, rockchiprs
 * MAXIO_SIZE, protocols.md §5.5): a failing command larger than this may be
 * the loader's limit rather than the eMMC. */
#define TOOLS_SECTORS 128u
/* Per command; a queued transfer's clock starts at submission, so it gets
 * this once for every command ahead of it too. bmcd uses 5 s (§4.3). */
#define CMD_TIMEOUT_MS 5000
/* After a cancel, how long (real time) queued commands get to complete. */
#define CANCEL_GRACE_MS 1000
/* eMMC erase is done by the card and can take seconds per step. */
#define ERASE_TIMEOUT_MS 60000
/* rkdeveloptool erases eMMC in 32768-sector ERASE_LBA steps (§5.5). */
#define ERASE_STEP 32768u

int rk_xfer_errno(int status)
{
	switch (status) {
	case LIBUSB_TRANSFER_COMPLETED: return 0;
	case LIBUSB_TRANSFER_TIMED_OUT: return -ETIMEDOUT;
	case LIBUSB_TRANSFER_STALL: return -EPIPE;
	case LIBUSB_TRANSFER_NO_DEVICE: return -ENODEV;
	case LIBUSB_TRANSFER_OVERFLOW: return -EOVERFLOW;
	case LIBUSB_TRANSFER_CANCELLED: return -ECANCELED;
	default: return -EIO;
	}
}

static void LIBUSB_CALL on_done(struct libusb_transfer *x)
{
	struct rk_slot *s = x->user_data;

	s->pending--;
	if (x->status != LIBUSB_TRANSFER_COMPLETED && x->status != LIBUSB_TRANSFER_CANCELLED)
		s->dev->failed = true;
}

int rk_engine_init(struct tp_rockusb *d)
{
	if (!d->write_max)
		d->write_max = CONFIG_TPKIT_ROCKUSB_WRITE_SECTORS;
	d->io_bytes = (size_t)d->write_max * TP_RK_SECTOR;
	d->nslots = CONFIG_TPKIT_ROCKUSB_INFLIGHT;
	d->head = d->inflight = 0;
	d->sticky.rc = 0;
	d->failed = false;
	/* Tags only need to differ from one command to the next (§5.1). */
	d->tag_state = (uint32_t)(tp_clock_now_ns() ^ ((uint64_t)getpid() << 16));
	d->slots = calloc(d->nslots, sizeof(*d->slots));
	if (!d->slots)
		return tp_err_set(-ENOMEM, "rockusb %s: out of memory", d->path);
	for (unsigned i = 0; i < d->nslots; i++) {
		struct rk_slot *s = &d->slots[i];

		s->dev = d;
		s->data = malloc(d->io_bytes);
		for (int k = 0; k < 3; k++)
			s->x[k] = libusb_alloc_transfer(0);
		if (!s->data || !s->x[0] || !s->x[1] || !s->x[2])
			return tp_err_set(-ENOMEM, "rockusb %s: out of memory for %u x %zu-byte buffers",
					  d->path, d->nslots, d->io_bytes);
	}
	return 0;
}

static int handle_events(struct tp_rockusb *d, long usec)
{
	struct timeval tv = { .tv_sec = usec / 1000000, .tv_usec = usec % 1000000 };
	int rc = libusb_handle_events_timeout_completed(d->ctx, &tv, NULL);

	if (rc < 0 && rc != LIBUSB_ERROR_INTERRUPTED)
		return tp_err_set(tp_usb_errno(rc), "rockusb %s: libusb event handling: %s", d->path,
				  libusb_strerror(rc));
	return 0;
}

/* Every submitted transfer called back. Cancelled transfers and ones on a
 * vanished device complete promptly; the rest end by their timeouts. */
static void drain(struct tp_rockusb *d)
{
	for (unsigned i = 0; i < d->nslots; i++)
		while (d->slots[i].pending)
			if (handle_events(d, 100000) < 0)
				break;
}

static const char *stage_name(int k, const struct rk_slot *s)
{
	if (k == RK_X_CBW)
		return "sending the command";
	if (k == RK_X_CSW)
		return "reading the status";
	return s->cbw.flags & TP_RK_DIR_IN ? "reading data" : "sending data";
}

static void what(const struct rk_slot *s, char *buf, size_t size)
{
	if (s->cbw.op == TP_RK_READ_LBA || s->cbw.op == TP_RK_WRITE_LBA || s->cbw.op == TP_RK_ERASE_LBA)
		snprintf(buf, size, "%s at LBA %u (+%u sectors)", tp_rk_op_name(s->cbw.op), s->cbw.lba,
			 s->cbw.count);
	else
		snprintf(buf, size, "%s", tp_rk_op_name(s->cbw.op));
}

/* The outcome of one finished command: 0, or -errno with its message. With
 * csw_out, a failing CSW status is returned as 1 instead (TEST_UNIT_READY). */
static int slot_result(struct tp_rockusb *d, struct rk_slot *s, struct tp_rk_csw *csw_out)
{
	struct tp_rk_csw csw;
	char w[64];
	int rc, err;

	what(s, w, sizeof(w));
	if (s->submit_err) {
		err = tp_usb_errno(s->submit_err);
		return tp_err_set(err, "rockusb %s: %s: %s failed: %s; %s", d->path, w,
				  stage_name(s->submit_stage, s), libusb_strerror(s->submit_err),
				  rk_xfer_hint(err));
	}
	for (int k = 0; k < 3; k++) {
		struct libusb_transfer *x = s->x[k];

		if (k == RK_X_DATA && !s->has_data)
			continue;
		err = rk_xfer_errno(x->status);
		if (err == -ECANCELED)
			return tp_err_set(err, "rockusb %s: %s: cancelled", d->path, w);
		if (err)
			return tp_err_set(err, "rockusb %s: %s: %s: %s; %s", d->path, w,
					  stage_name(k, s), libusb_error_name((int)x->status),
					  rk_xfer_hint(err));
		if ((k == RK_X_CBW && x->actual_length != TP_RK_CBW_LEN) ||
		    (k == RK_X_DATA && !(s->cbw.flags & TP_RK_DIR_IN) &&
		     (uint32_t)x->actual_length != s->want) ||
		    (k == RK_X_DATA && (s->cbw.flags & TP_RK_DIR_IN) &&
		     (uint32_t)x->actual_length < s->want))
			return tp_err_set(-EIO,
					  "rockusb %s: %s: short transfer %s (%d of %u bytes): the "
					  "loader stopped mid-command; reset the node into maskrom and "
					  "flash again",
					  d->path, w, stage_name(k, s), x->actual_length,
					  k == RK_X_CBW ? TP_RK_CBW_LEN : s->want);
	}
	if (tp_rk_csw_decode(s->csw_buf, (size_t)s->x[RK_X_CSW]->actual_length, &csw) < 0)
		return tp_err_set(-EPROTO,
				  "rockusb %s: %s: no valid CSW (%d bytes, signature 0x%08x): the "
				  "loader is out of step; reset the node into maskrom and flash again",
				  d->path, w, s->x[RK_X_CSW]->actual_length,
				  (unsigned)(s->csw_buf[0] | s->csw_buf[1] << 8 | s->csw_buf[2] << 16 |
					     (unsigned)s->csw_buf[3] << 24));
	if (csw_out) {
		*csw_out = csw;
		if (csw.tag == s->cbw.tag && csw.status == 1)
			return 1;
	}
	rc = tp_rk_csw_check(&csw, &s->cbw);
	if (rc == -EIO) {
		struct tp_err_ctx why;

		tp_err_save(&why, rc);
		if ((s->cbw.op == TP_RK_WRITE_LBA || s->cbw.op == TP_RK_READ_LBA) &&
		    s->cbw.count > TOOLS_SECTORS)
			return tp_err_set(rc, "rockusb %s: %s: the command failed on the module; "
					  "its loader may take fewer sectors per command: flash "
					  "again with --rk-sectors %u", d->path, why.msg,
					  s->cbw.count > TP_ROCKUSB_SECTORS_MAX ?
						  TP_ROCKUSB_SECTORS_MAX : TOOLS_SECTORS);
		return tp_err_set(rc, "rockusb %s: %s: the command failed on the module; flash "
				  "again, and if it recurs the eMMC may be failing", d->path, why.msg);
	}
	if (rc < 0)
		return tp_err_prefix(rc, "rockusb %s: ", d->path);
	return 0;
}

/* Cancel everything queued, wait for it, and make err (or, if 0, the first
 * failure in command order) the handle's sticky error. */
static int abort_all(struct tp_rockusb *d, int err)
{
	for (unsigned i = 0; i < d->nslots; i++)
		if (d->slots[i].pending)
			for (int k = 0; k < 3; k++)
				libusb_cancel_transfer(d->slots[i].x[k]); /* NOT_FOUND if done */
	drain(d);
	for (unsigned n = 0; !err && n < d->inflight; n++) {
		int rc = slot_result(d, &d->slots[(d->head + n) % d->nslots], NULL);

		if (rc < 0 && rc != -ECANCELED)
			err = rc;
	}
	if (!err)
		err = tp_err_set(-EIO, "rockusb %s: commands aborted", d->path);
	/* A stalled endpoint stays halted until cleared; leave the device
	 * in a state where a new session (or rockusb.ko) can talk to it. */
	if (err == -EPIPE) {
		libusb_clear_halt(d->h, d->ep_out);
		libusb_clear_halt(d->h, d->ep_in);
	}
	for (unsigned i = 0; i < d->nslots; i++)
		d->slots[i].busy = false;
	d->head = d->inflight = 0;
	d->failed = false;
	return tp_err_save(&d->sticky, err);
}

static int check_sticky(struct tp_rockusb *d)
{
	if (!d->h)
		return tp_err_set(-ENODEV, "rockusb %s: device not open", d->path);
	if (d->sticky.rc)
		return tp_err_restore(&d->sticky);
	if (d->mode != TP_ROCKUSB_LOADER)
		return tp_err_set(-EINVAL, "rockusb %s: in maskrom: download a loader first", d->path);
	return 0;
}

/* Wait for the oldest command and check it. */
static int collect(struct tp_rockusb *d, struct tp_rk_csw *csw_out)
{
	struct rk_slot *s = &d->slots[d->head];
	struct timespec t0, now;
	bool seen = false;
	int rc;

	while (s->pending && !d->failed) {
		/* A signal asked to stop: look between waits, or a module
		 * that stopped answering would hold the job (and the node
		 * in flash mode) until the transfer times out, 20 s with a
		 * full queue. The signal may have gone to another thread,
		 * so the waits are short. A module that is still answering
		 * gets CANCEL_GRACE_MS to finish what is queued, so that the
		 * handle stays usable for blanking the boot area again
		 * (common/cancel.h); aborting would leave it mid-command. */
		rc = tp_cancel_check();
		if (rc < 0 && !seen)
			seen = !clock_gettime(CLOCK_MONOTONIC, &t0);
		else if (rc < 0 && !clock_gettime(CLOCK_MONOTONIC, &now) &&
			 (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000 >
				 CANCEL_GRACE_MS)
			return abort_all(d, tp_err_prefix(rc, "rockusb %s: ", d->path));
		rc = handle_events(d, 200000);
		if (rc < 0)
			return abort_all(d, rc);
	}
	if (d->failed)
		return abort_all(d, 0);
	rc = slot_result(d, s, csw_out);
	if (rc < 0)
		return abort_all(d, rc);
	s->busy = false;
	d->head = (d->head + 1) % d->nslots;
	d->inflight--;
	return rc;
}

/* Queue one command in the next free slot; buf is the data buffer of cap
 * bytes (cap >= data_len; more for IN replies of unsure length). */
static int submit(struct tp_rockusb *d, const struct tp_rk_cbw *c, void *buf, uint32_t cap,
		  unsigned timeout_ms)
{
	struct rk_slot *s = &d->slots[(d->head + d->inflight) % d->nslots];
	unsigned t = timeout_ms * (1 + d->inflight);
	int rc = 0;

	s->cbw = *c;
	s->want = c->data_len;
	s->has_data = c->data_len > 0;
	s->submit_err = 0;
	tp_rk_cbw_encode(c, s->cbw_buf);
	libusb_fill_bulk_transfer(s->x[RK_X_CBW], d->h, d->ep_out, s->cbw_buf, TP_RK_CBW_LEN,
				  on_done, s, t);
	libusb_fill_bulk_transfer(s->x[RK_X_DATA], d->h,
				  c->flags & TP_RK_DIR_IN ? d->ep_in : d->ep_out, buf, (int)cap,
				  on_done, s, t);
	libusb_fill_bulk_transfer(s->x[RK_X_CSW], d->h, d->ep_in, s->csw_buf, RK_PACKET, on_done,
				  s, t);
	for (int k = 0; k < 3; k++) {
		s->x[k]->status = LIBUSB_TRANSFER_ERROR;
		s->x[k]->actual_length = 0;
	}
	s->busy = true;
	d->inflight++;
	for (int k = 0; k < 3 && !rc; k++) {
		if (k == RK_X_DATA && !s->has_data)
			continue;
		rc = libusb_submit_transfer(s->x[k]);
		if (rc == 0)
			s->pending++;
		else
			s->submit_stage = k;
	}
	if (rc < 0) {
		/* Part of a command is on the wire, or none of it: either way
		 * the stream is broken from here on. */
		s->submit_err = rc;
		d->failed = true;
		return abort_all(d, 0);
	}
	return 0;
}

/* Collect finished commands at the head without blocking, to free slots and
 * report failures early. */
static int reap(struct tp_rockusb *d)
{
	int rc = handle_events(d, 0);

	if (rc < 0)
		return abort_all(d, rc);
	if (d->failed)
		return abort_all(d, 0);
	while (d->inflight && !d->slots[d->head].pending) {
		rc = collect(d, NULL);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int tp_rockusb_flush(struct tp_rockusb *d)
{
	int rc = check_sticky(d);

	while (!rc && d->inflight)
		rc = collect(d, NULL);
	return rc;
}

/* One command start to finish, after the queue has drained. Returns 1 for a
 * CSW with status 1 when csw_out is given. */
static int run(struct tp_rockusb *d, const struct tp_rk_cbw *c, void *buf, uint32_t cap,
	       unsigned timeout_ms, struct tp_rk_csw *csw_out, uint32_t *got)
{
	int rc = tp_rockusb_flush(d);

	if (rc < 0)
		return rc;
	rc = submit(d, c, buf, cap, timeout_ms);
	if (rc < 0)
		return rc;
	rc = collect(d, csw_out);
	if (got)
		*got = (uint32_t)d->slots[(d->head + d->nslots - 1) % d->nslots].x[RK_X_DATA]->actual_length;
	return rc;
}

int tp_rockusb_write_lba(struct tp_rockusb *d, uint32_t lba, uint32_t count, const void *buf)
{
	struct tp_rk_cbw c;
	struct rk_slot *s;
	int rc = check_sticky(d);

	if (rc < 0)
		return rc;
	if (count == 0 || count > d->write_max)
		return tp_err_set(-EINVAL, "rockusb %s: WRITE_LBA of %u sectors at LBA %u: must be "
				  "1..%u", d->path, count, lba, d->write_max);
	rc = tp_rk_cbw_make(&c, TP_RK_WRITE_LBA, tp_rk_tag_next(&d->tag_state), lba, count, 0);
	if (rc < 0)
		return rc;
	rc = reap(d);
	while (!rc && d->inflight == d->nslots)
		rc = collect(d, NULL);
	if (rc < 0)
		return rc;
	s = &d->slots[(d->head + d->inflight) % d->nslots];
	memcpy(s->data, buf, c.data_len);
	return submit(d, &c, s->data, c.data_len, CMD_TIMEOUT_MS);
}

uint32_t tp_rockusb_write_max(const struct tp_rockusb *d)
{
	return d->write_max;
}

int tp_rockusb_set_sectors(struct tp_rockusb *d, uint32_t sectors)
{
	size_t bytes = (size_t)sectors * TP_RK_SECTOR;
	int rc;

	if (sectors < 1 || sectors > TP_ROCKUSB_SECTORS_TRY)
		return tp_err_set(-EINVAL, "rockusb %s: %u sectors per command: must be 1..%u",
				  d->path, sectors, TP_ROCKUSB_SECTORS_TRY);
	if (sectors == d->write_max)
		return 0;
	rc = tp_rockusb_flush(d);
	if (rc < 0)
		return rc;
	for (unsigned i = 0; i < d->nslots; i++) {
		uint8_t *p = realloc(d->slots[i].data, bytes);

		if (!p)
			return tp_err_set(-ENOMEM, "rockusb %s: out of memory for %u x %zu-byte "
					  "buffers", d->path, d->nslots, bytes);
		d->slots[i].data = p;
	}
	d->write_max = sectors;
	d->io_bytes = bytes;
	return 0;
}

/*
 * Reads are queued as writes are: up to nslots READ_LBA commands in the
 * kernel at once, so the bus never waits for the host between two of them
 * (the read-back was one command at a time, 1.23x the floor). The data of
 * each goes straight into its part of the caller's buffer: exactly n
 * sectors, so a longer answer is an overflow error. Commands still complete
 * in order (collect()), so the first failure is the lowest LBA's.
 */
int tp_rockusb_read_lba(struct tp_rockusb *d, uint32_t lba, uint32_t count, void *buf)
{
	uint8_t *p = buf;
	int rc = tp_rockusb_flush(d); /* writes queued before are done first */

	while (!rc && (count || d->inflight)) {
		uint32_t n = count < d->write_max ? count : d->write_max;
		struct tp_rk_cbw c;

		if (!count || d->inflight == d->nslots) {
			rc = collect(d, NULL);
			continue;
		}
		rc = tp_rk_cbw_make(&c, TP_RK_READ_LBA, tp_rk_tag_next(&d->tag_state), lba, n, 0);
		if (rc == 0)
			rc = submit(d, &c, p, c.data_len, CMD_TIMEOUT_MS);
		lba += n, count -= n, p += (size_t)n * TP_RK_SECTOR;
	}
	return rc;
}

/* A short-reply command into the first slot's buffer (a whole packet, as
 * rkdeveloptool accepts up to 512 bytes of flash info, §5.3). */
static int query(struct tp_rockusb *d, enum tp_rk_op op, uint8_t **reply, uint32_t *got)
{
	struct tp_rk_cbw c;
	int rc = check_sticky(d);

	if (rc == 0)
		rc = tp_rk_cbw_make(&c, op, tp_rk_tag_next(&d->tag_state), 0, 0, 0);
	if (rc == 0)
		rc = tp_rockusb_flush(d);
	if (rc < 0)
		return rc;
	*reply = d->slots[d->head].data;
	return run(d, &c, *reply, RK_PACKET, CMD_TIMEOUT_MS, NULL, got);
}

int tp_rockusb_read_flash_info(struct tp_rockusb *d, struct tp_rk_flash_info *fi)
{
	uint8_t *r;
	uint32_t n;
	int rc = query(d, TP_RK_READ_FLASH_INFO, &r, &n);

	if (rc == 0 && (rc = tp_rk_flash_info_parse(r, n, fi)) < 0)
		tp_err_prefix(rc, "rockusb %s: ", d->path);
	return rc;
}

int tp_rockusb_read_flash_id(struct tp_rockusb *d, char id[TP_RK_FLASH_ID_LEN + 1], bool *emmc)
{
	uint8_t *r;
	uint32_t n;
	int rc = query(d, TP_RK_READ_FLASH_ID, &r, &n);

	if (rc == 0 && (rc = tp_rk_flash_id_parse(r, n, id, emmc)) < 0)
		tp_err_prefix(rc, "rockusb %s: ", d->path);
	return rc;
}

int tp_rockusb_read_chip_info(struct tp_rockusb *d, char chip[5])
{
	uint8_t *r;
	uint32_t n;
	int rc = query(d, TP_RK_READ_CHIP_INFO, &r, &n);

	if (rc == 0 && (rc = tp_rk_chip_info_parse(r, n, chip)) < 0)
		tp_err_prefix(rc, "rockusb %s: ", d->path);
	return rc;
}

int tp_rockusb_test_unit_ready(struct tp_rockusb *d)
{
	struct tp_rk_csw csw;
	struct tp_rk_cbw c;
	uint16_t cur, total;
	int rc = check_sticky(d);

	if (rc == 0)
		rc = tp_rk_cbw_make(&c, TP_RK_TEST_UNIT_READY, tp_rk_tag_next(&d->tag_state), 0, 0, 0);
	if (rc == 0)
		rc = run(d, &c, NULL, 0, CMD_TIMEOUT_MS, &csw, NULL);
	if (rc != 1)
		return rc;
	/* Status 1 = not ready: an answer, not a failure (§5.4). */
	tp_rk_tur_progress(csw.residue, &cur, &total);
	return tp_err_set(-EAGAIN, "rockusb %s: loader not ready (progress %u/%u)", d->path, cur,
			  total);
}

int tp_rockusb_erase_lba(struct tp_rockusb *d, uint32_t lba, uint32_t count)
{
	while (count) {
		uint32_t n = count < ERASE_STEP ? count : ERASE_STEP;
		struct tp_rk_cbw c;
		int rc = check_sticky(d);

		if (rc == 0)
			rc = tp_rk_cbw_make(&c, TP_RK_ERASE_LBA, tp_rk_tag_next(&d->tag_state), lba, n, 0);
		if (rc == 0)
			rc = run(d, &c, NULL, 0, ERASE_TIMEOUT_MS, NULL, NULL);
		if (rc < 0)
			return rc;
		lba += n, count -= n;
	}
	return 0;
}

int tp_rockusb_reset(struct tp_rockusb *d, enum tp_rk_reset kind)
{
	struct tp_rk_cbw c;
	int rc = check_sticky(d);

	if (rc == 0)
		rc = tp_rk_cbw_make(&c, TP_RK_DEVICE_RESET, tp_rk_tag_next(&d->tag_state), 0, 0,
				    (uint8_t)kind);
	if (rc == 0)
		rc = run(d, &c, NULL, 0, CMD_TIMEOUT_MS, NULL, NULL);
	/* Resetting, the device may leave before its CSW. */
	if (rc == -ENODEV) {
		TP_DBG("rockusb %s: gone before the reset CSW", d->path);
		rc = 0;
	}
	if (rc == 0) {
		d->sticky.rc = -ENODEV;
		snprintf(d->sticky.msg, sizeof(d->sticky.msg), "rockusb %s: device was reset",
			 d->path);
	}
	return rc;
}

void rk_engine_free(struct tp_rockusb *d)
{
	if (d->slots && d->h && d->inflight && !d->sticky.rc) {
		int rc = tp_rockusb_flush(d);

		if (rc < 0)
			TP_WARN("%s", tp_err_msg());
	}
	if (d->slots) {
		if (d->inflight)
			abort_all(d, -ECANCELED);
		for (unsigned i = 0; i < d->nslots; i++) {
			for (int k = 0; k < 3; k++)
				libusb_free_transfer(d->slots[i].x[k]);
			free(d->slots[i].data);
		}
	}
	free(d->slots);
	d->slots = NULL;
	d->nslots = d->inflight = 0;
}
