// SPDX-License-Identifier: MIT
/*
 * RK1 (RK3588) flashing: hardware.md §7.2 for entering and leaving flash
 * mode, protocols.md §4-§5 through bmc/rockchip, the image pipeline for the
 * bytes. Everything that can be checked before the node is touched (loader
 * file, image source and format) is checked first.
 */
#include "flash.h"
#include "board/turingpi2/flashmode.h"
#include "common/cache.h"
#include "common/cancel.h"
#include "common/clock.h"
#include "common/image.h"
#include "common/log.h"
#include "rockchip/ldr.h"
#include "rockchip/rockusb.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#ifndef CONFIG_TPKIT_RK1_LOADER
#define CONFIG_TPKIT_RK1_LOADER "/usr/share/tpkit/rk3588_spl_loader.bin"
#endif

struct job {
	const struct tp_flash_opts *o;
	struct tp_flash_result *r;
	struct tp_ldr *ldr;
	struct tp_image *img;
	struct tp_rockusb *dev;
	struct tp_sink *sink;
	struct tp_image_pick pick; /* --image NAME|auto: the catalogue's choice */
};

static void step(struct job *j, const char *what)
{
	snprintf(j->r->phase, sizeof(j->r->phase), "%s", what);
	if (j->o->step)
		j->o->step(j->o->step_cookie, j->r->slot, what);
}

/* Inputs first: a corrupt loader or an unreadable image never reaches a
 * node. Opening the image also finds its format and, where it can, its
 * size; a URL is connected to, so a 404 shows here too. */
static int prepare(struct job *j)
{
	const char *loader = j->o->loader ? j->o->loader : CONFIG_TPKIT_RK1_LOADER;
	struct tp_image_opts io;
	int rc;

	step(j, "prepare");
	rc = tp_ldr_open(loader, "3588", &j->ldr);
	if (rc < 0)
		return tp_err_prefix(rc, "RK3588 loader: ");
	tp_image_opts_init(&io);
	io.src = j->o->image;
	io.sha256 = j->o->sha256;
	io.verify = j->o->verify;
	io.progress = j->o->progress;
	io.progress_cookie = j->o->progress_cookie;
	/* A catalogue name or "auto": a cached copy is hashed whole here,
	 * before the node is touched, and refused if corrupt (cache.h). */
	rc = tp_catalogue_resolve(j->o->image, "rk1", &io, &j->pick);
	if (rc < 0)
		return rc;
	return tp_image_open(&j->img, &io);
}

/* The device is up in maskrom or loader mode: bring up the loader, look at
 * the eMMC, and write. */
static int write_image(struct job *j)
{
	struct tp_image_result res;
	struct tp_sink *raw;
	uint64_t need, start;
	int rc;

	snprintf(j->r->usb_path, sizeof(j->r->usb_path), "%s", tp_rockusb_path(j->dev));
	if (tp_rockusb_mode(j->dev) == TP_ROCKUSB_MASKROM) {
		step(j, "loader");
		rc = tp_rockusb_download(j->dev, j->ldr);
		if (rc == 0)
			rc = tp_rockusb_wait_loader(j->dev, j->o->loader_timeout_ms);
		if (rc < 0)
			return rc;
	}
	rc = tp_rockusb_sink_open(j->dev, &raw);
	if (rc < 0)
		return rc;
	j->dev = NULL; /* the sink owns it now */
	rc = tp_cancel_sink_wrap(raw, &j->sink);
	if (rc < 0) {
		tp_sink_close(raw);
		return rc;
	}
	j->r->capacity = j->sink->size;
	need = tp_image_raw_size(j->img);
	if (need && j->sink->size && need > j->sink->size) {
		/* The error belongs to the write, not to the loader step
		 * before it; no step event, as nothing is written. */
		snprintf(j->r->phase, sizeof(j->r->phase), "write");
		return tp_err_set(-EFBIG,
				  "the image is %" PRIu64 " bytes but the eMMC holds only %" PRIu64
				  "; nothing was written",
				  need, j->sink->size);
	}
	step(j, "write");
	/* Timed on tp_clock, not by the pipeline: on the board twin that is
	 * the simulated USB time, on a BMC the same as wall time. */
	start = tp_clock_now_ns();
	rc = tp_image_write(j->img, j->sink, &res);
	j->r->write_ns = tp_clock_now_ns() - start;
	j->r->bytes = res.raw_bytes;
	j->r->verified = res.verified;
	j->r->sum_checked = res.sum_checked;
	snprintf(j->r->sha256, sizeof(j->r->sha256), "%s", res.sha256);
	if (rc < 0 && res.fail_phase == TP_PHASE_VERIFY)
		step(j, "verify");
	return rc;
}

static void finish(struct job *j, int rc, uint64_t start)
{
	tp_sink_close(j->sink);
	tp_rockusb_close(j->dev);
	tp_image_close(j->img);
	tp_ldr_free(j->ldr);
	j->r->ns = tp_clock_now_ns() - start;
	j->r->rc = rc;
	if (rc == 0)
		step(j, "done");
}

int tp_flash_rk1_slot(struct tp_board *b, unsigned slot, const struct tp_flash_opts *o,
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
		goto out;
	}
	step(&j, "power");
	rc = tp_flashmode_enter(b, slot, &fm);
	if (rc < 0) {
		r->restored = true; /* enter undoes itself */
		goto out;
	}
	step(&j, "enumerate");
	path = tp_board_usb_path(b->desc, slot, pattern, sizeof(pattern));
	/* A CM4 may be in the slot instead (tp_flash_slot): poll for either
	 * boot ROM, and hand a CM4 over with the image already open. */
	rc = o->probe ? o->probe(path, o->enum_timeout_ms, &cm4) : 0;
	if (rc == 0 && !cm4)
		rc = tp_rockusb_wait_device(path, o->enum_timeout_ms, &j.dev);
	/* The boot ROM has made its decision once it is on the bus: release
	 * the strap before the loader runs (hardware.md §7.2, item 5). */
	if (rc == 0)
		rc = tp_flashmode_release_strap(&fm);
	if (rc == 0)
		rc = cm4 ? o->cm4_write(o, r, path, j.img) : write_image(&j);
	if (rc < 0)
		tp_flash_result_fail(r, rc);
	/* Close the device before the node loses power under it. */
	tp_sink_close(j.sink);
	j.sink = NULL;
	tp_rockusb_close(j.dev);
	j.dev = NULL;
	rc2 = tp_flashmode_leave(&fm);
	r->restored = rc2 == 0;
	if (rc2 < 0 && rc == 0) {
		step(&j, "restore");
		rc = rc2;
	} else if (rc2 < 0) {
		TP_ERR("%s", tp_err_msg());
	}
	if (rc < 0 && !r->msg[0])
		tp_flash_result_fail(r, rc);
	else if (rc < 0)
		tp_err_set(rc, "%s", r->msg);
	finish(&j, rc, start);
	return rc;
out:
	tp_flash_result_fail(r, rc);
	finish(&j, rc, start);
	return rc;
}

int tp_flash_rk1_usb(const char *usb_path, const struct tp_flash_opts *o,
		     struct tp_flash_result *r)
{
	struct job j = { .o = o, .r = r };
	uint64_t start = tp_clock_now_ns();
	int rc;

	memset(r, 0, sizeof(*r));
	r->restored = true; /* no board state to restore */
	rc = prepare(&j);
	if (rc == 0) {
		step(&j, "enumerate");
		rc = tp_rockusb_wait_device(usb_path, o->enum_timeout_ms, &j.dev);
	}
	if (rc == 0)
		rc = write_image(&j);
	if (rc < 0)
		tp_flash_result_fail(r, rc);
	finish(&j, rc, start);
	return rc;
}
