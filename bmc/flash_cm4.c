// SPDX-License-Identifier: MIT
/*
 * CM4 (BCM2711) flashing: hardware.md §7.2 for flash mode, protocols.md §7
 * through bmc/rpiboot for bringing up the mass-storage payload, then the
 * image pipeline into the eMMC as a USB disk (the file sink). As for the
 * RK1, everything that can be checked before the node is touched (the
 * rpiboot files, the image) is checked first.
 */
#include "flash.h"
#include "board/turingpi2/flashmode.h"
#include "common/cache.h"
#include "common/cancel.h"
#include "common/clock.h"
#include "common/image.h"
#include "common/log.h"
#include "common/sink_file.h"
#include "rpiboot/msd.h"
#include "rpiboot/rpiboot.h"
#include "rpiboot/rpiboot_proto.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#ifndef CONFIG_TPKIT_RPIBOOT_DIR
#define CONFIG_TPKIT_RPIBOOT_DIR "/usr/share/tpkit/rpiboot"
#endif
/* The gadget payload takes "a few seconds longer" than msd (§7.5), then
 * usb-storage waits delay_use (1 s) before the disk: 30 s is generous. */
#define DISK_TIMEOUT_MS 30000

struct job {
	const struct tp_flash_opts *o;
	struct tp_flash_result *r;
	struct tp_image *img;
	struct tp_rpiboot *rpi;
	struct tp_image_pick pick;
};

static const char *rpi_dir(const struct tp_flash_opts *o)
{
	return o->rpiboot_dir ? o->rpiboot_dir : CONFIG_TPKIT_RPIBOOT_DIR;
}

static void step(const struct tp_flash_opts *o, struct tp_flash_result *r, const char *what)
{
	snprintf(r->phase, sizeof(r->phase), "%s", what);
	if (o->step)
		o->step(o->step_cookie, r->slot, what);
}

static int prepare(struct job *j)
{
	struct tp_image_opts io;
	int rc;

	step(j->o, j->r, "prepare");
	rc = tp_rpiboot_check_dir(rpi_dir(j->o), TP_RPI_PID_2711);
	if (rc < 0)
		return rc;
	tp_image_opts_init(&io);
	io.src = j->o->image;
	io.sha256 = j->o->sha256;
	io.verify = j->o->verify;
	io.progress = j->o->progress;
	io.progress_cookie = j->o->progress_cookie;
	rc = tp_catalogue_resolve(j->o->image, "cm4", &io, &j->pick);
	if (rc < 0)
		return rc;
	return tp_image_open(&j->img, &io);
}

int tp_flash_cm4_write(const struct tp_flash_opts *o, struct tp_flash_result *r,
		       const char *path, struct tp_image *img)
{
	struct tp_image_result res;
	struct tp_rpiboot *rpi = NULL;
	struct tp_sink *raw = NULL, *sink = NULL;
	struct tp_msd_disk disk;
	char missing[256] = "";
	unsigned tmo = o->loader_timeout_ms ? o->loader_timeout_ms : TP_RPIBOOT_STAGE2_TIMEOUT_MS;
	uint64_t need, start;
	int rc;

	step(o, r, "rpiboot");
	rc = tp_rpiboot_wait(path, o->enum_timeout_ms, &rpi);
	if (rc < 0)
		return rc;
	snprintf(r->usb_path, sizeof(r->usb_path), "%s", tp_rpiboot_path(rpi));
	rc = tp_rpiboot_boot(rpi, rpi_dir(o), tmo);
	snprintf(missing, sizeof(missing), "%s", tp_rpiboot_missing(rpi));
	tp_rpiboot_close(rpi);
	if (rc < 0)
		return rc;
	step(o, r, "disk");
	/* The disk is under the port the boot ROM was on (v2.4: the only
	 * one), so its exact path, not the pattern, is what to look for. */
	rc = tp_msd_wait(r->usb_path, o->disk_timeout_ms ? o->disk_timeout_ms : DISK_TIMEOUT_MS,
			 &disk);
	if (rc < 0 && missing[0])
		return tp_err_set(rc, "%s; the CM4's second stage asked for %s, which %s does "
				  "not have", tp_err_msg(), missing, rpi_dir(o));
	if (rc == 0)
		rc = tp_msd_check_unmounted(&disk);
	if (rc == 0)
		rc = tp_msd_open(&disk, &raw);
	if (rc < 0)
		return rc;
	snprintf(raw->desc, sizeof(raw->desc), "the CM4's eMMC (%s, %s at %s)", disk.dev,
		 disk.vendor, r->usb_path);
	rc = tp_cancel_sink_wrap(raw, &sink);
	if (rc < 0) {
		tp_sink_close(raw);
		return rc;
	}
	r->capacity = sink->size;
	need = tp_image_raw_size(img);
	if (need && sink->size && need > sink->size) {
		snprintf(r->phase, sizeof(r->phase), "write");
		tp_sink_close(sink);
		return tp_err_set(-EFBIG,
				  "the image is %" PRIu64 " bytes but the eMMC holds only %" PRIu64
				  "; nothing was written",
				  need, r->capacity);
	}
	step(o, r, "write");
	start = tp_clock_now_ns();
	rc = tp_image_write(img, sink, &res);
	r->write_ns = tp_clock_now_ns() - start;
	r->bytes = res.raw_bytes;
	r->verified = res.verified;
	r->sum_checked = res.sum_checked;
	snprintf(r->sha256, sizeof(r->sha256), "%s", res.sha256);
	if (rc < 0 && res.fail_phase == TP_PHASE_VERIFY)
		step(o, r, "verify");
	/* Closed here, before the node loses power under it. */
	tp_sink_close(sink);
	return rc;
}

static void finish(struct job *j, int rc, uint64_t start)
{
	tp_image_close(j->img);
	j->r->ns = tp_clock_now_ns() - start;
	j->r->rc = rc;
	if (rc == 0)
		step(j->o, j->r, "done");
}

int tp_flash_cm4_slot(struct tp_board *b, unsigned slot, const struct tp_flash_opts *o,
		      struct tp_flash_result *r)
{
	struct job j = { .o = o, .r = r };
	struct tp_flashmode fm;
	uint64_t start = tp_clock_now_ns();
	char pattern[32];
	const char *path;
	bool cm4 = false;
	int rc, rc2;

	memset(r, 0, sizeof(*r));
	r->slot = slot;
	rc = prepare(&j);
	if (rc < 0) {
		r->restored = true; /* nothing was touched */
		tp_flash_result_fail(r, rc);
		finish(&j, rc, start);
		return rc;
	}
	step(o, r, "power");
	rc = tp_flashmode_enter(b, slot, &fm);
	if (rc < 0) {
		r->restored = true; /* enter undoes itself */
		tp_flash_result_fail(r, rc);
		finish(&j, rc, start);
		return rc;
	}
	step(o, r, "enumerate");
	path = tp_board_usb_path(b->desc, slot, pattern, sizeof(pattern));
	rc = tp_flash_probe(path, o->enum_timeout_ms, &cm4);
	if (rc == 0 && !cm4)
		rc = tp_err_set(-ENODEV, "slot %u holds an RK1 (2207:350b), but the RK3588 loader "
				"is not usable; see --loader", slot);
	/* The boot ROM is on the bus: it has made its boot decision. */
	if (rc == 0)
		rc = tp_flashmode_release_strap(&fm);
	if (rc == 0)
		rc = tp_flash_cm4_write(o, r, path, j.img);
	if (rc < 0)
		tp_flash_result_fail(r, rc);
	rc2 = tp_flashmode_leave(&fm);
	r->restored = rc2 == 0;
	if (rc2 < 0 && rc == 0) {
		step(o, r, "restore");
		rc = rc2;
		tp_flash_result_fail(r, rc);
	} else if (rc2 < 0) {
		TP_ERR("%s", tp_err_msg());
		tp_err_set(rc, "%s", r->msg);
	}
	finish(&j, rc, start);
	return rc;
}

int tp_flash_cm4_usb(const char *usb_path, const struct tp_flash_opts *o,
		     struct tp_flash_result *r)
{
	struct job j = { .o = o, .r = r };
	uint64_t start = tp_clock_now_ns();
	int rc;

	memset(r, 0, sizeof(*r));
	r->restored = true; /* no board state to restore */
	rc = prepare(&j);
	if (rc == 0) {
		step(o, r, "enumerate");
		rc = tp_flash_cm4_write(o, r, usb_path, j.img);
	}
	if (rc < 0)
		tp_flash_result_fail(r, rc);
	finish(&j, rc, start);
	return rc;
}
