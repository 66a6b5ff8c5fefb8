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

struct tp_image;
struct tp_flash_result;

struct tp_flash_opts {
	const char *image;         /* file, URL or "-" */
	const char *sha256;        /* expected, or NULL (discovered) */
	bool verify;
	const char *loader;        /* RK3588 LDR file, NULL for the Kconfig default */
	unsigned enum_timeout_ms;  /* boot ROM enumeration after power-on */
	unsigned loader_timeout_ms;/* loader re-enumeration after the download */
	const char *rpiboot_dir;   /* CM4: rpiboot files, NULL for the Kconfig default */
	unsigned disk_timeout_ms;  /* CM4: rpiboot's Done to its disk in /sys/block */
	bool force;                /* write even an image meant for the other module */
	tp_progress_fn progress;
	void *progress_cookie;
	/* Report a step ("power", "maskrom", ...) as it starts; may be NULL. */
	void (*step)(void *cookie, unsigned slot, const char *what);
	void *step_cookie;
	/* Set by tp_flash_slot when the slot may hold a CM4 as well: the RK1
	 * job polls for either boot ROM and hands a CM4 to cm4_write. */
	int (*probe)(const char *path, unsigned timeout_ms, bool *cm4);
	int (*cm4_write)(const struct tp_flash_opts *o, struct tp_flash_result *r,
			 const char *path, struct tp_image *img);
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

/* Flash a CM4 in slot of board b: rpiboot with the files of o->rpiboot_dir,
 * then the eMMC as a USB disk. Same guarantees as tp_flash_rk1_slot. */
int tp_flash_cm4_slot(struct tp_board *b, unsigned slot, const struct tp_flash_opts *o,
		      struct tp_flash_result *r);

/* Without board control: the CM4 boot ROM at usb_path (NULL: the first). */
int tp_flash_cm4_usb(const char *usb_path, const struct tp_flash_opts *o,
		     struct tp_flash_result *r);

/* From the boot ROM found at path (flash mode entered, strap released) to
 * the image written and read back; the CM4 half of a job (flash_cm4.c). */
int tp_flash_cm4_write(const struct tp_flash_opts *o, struct tp_flash_result *r,
		       const char *path, struct tp_image *img);

/* Poll for an RK3588 (2207:350b) or a Broadcom boot ROM at path; *cm4 says
 * which. -ETIMEDOUT with a message naming both. */
int tp_flash_probe(const char *path, unsigned timeout_ms, bool *cm4);

/*
 * Flash whatever module is in the slot: an RK1 or a CM4, told apart by what
 * enumerates at the slot's USB port in flash mode. The inputs for a module
 * whose files are not there (no loader, no rpiboot directory) are not
 * required; if neither is there, the RK1's error is given before the node
 * is touched.
 */
int tp_flash_slot(struct tp_board *b, unsigned slot, const struct tp_flash_opts *o,
		  struct tp_flash_result *r);

/* Record rc and the current message in r, as "slot N: step: message". */
void tp_flash_result_fail(struct tp_flash_result *r, int rc);

#endif
