/* SPDX-License-Identifier: MIT */
/*
 * One slot's flash job, start to end: check the inputs, put the node into
 * flash mode, find its USB device, bring up the loader, stream the image
 * through the pipeline, and — on success and on every failure — leave the
 * strap released, the node off and the USB routing as it was.
 */
#ifndef TP_FLASH_H
#define TP_FLASH_H

#include <stdbool.h>
#include <stdint.h>

#include "board/turingpi2/board.h"
#include "common/err.h"
#include "common/sink.h"

struct tp_flash_opts {
	const char *image;         /* file, URL or "-" */
	const char *sha256;        /* expected, or NULL (discovered) */
	bool verify;
	const char *loader;        /* RK3588 LDR file, NULL for the Kconfig default */
	unsigned enum_timeout_ms;  /* boot ROM enumeration after power-on */
	unsigned loader_timeout_ms;/* loader re-enumeration after the download */
	tp_progress_fn progress;
	void *progress_cookie;
	/* Report a step ("power", "maskrom", ...) as it starts; may be NULL. */
	void (*step)(void *cookie, unsigned slot, const char *what);
	void *step_cookie;
};

struct tp_flash_result {
	unsigned slot;          /* 0 for --board none */
	int rc;
	char phase[16];         /* where it stopped, or "done" */
	char msg[TP_ERR_MAX];
	char usb_path[32];
	uint64_t capacity;      /* eMMC bytes */
	uint64_t bytes;         /* image bytes written */
	uint64_t ns;            /* whole job */
	uint64_t write_ns;      /* writing and reading back, on tp_clock */
	bool verified;
	bool sum_checked;
	char sha256[65];
	bool restored;          /* strap off, node off, routing as before */
};

/* Flash an RK1 in slot of board b. */
int tp_flash_rk1_slot(struct tp_board *b, unsigned slot, const struct tp_flash_opts *o,
		      struct tp_flash_result *r);

/* Without board control: the RK3588 at usb_path ("1-1.2", or NULL for the
 * first found), already in maskrom or loader mode. */
int tp_flash_rk1_usb(const char *usb_path, const struct tp_flash_opts *o,
		     struct tp_flash_result *r);

#endif
