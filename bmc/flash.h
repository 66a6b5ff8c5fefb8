/* SPDX-License-Identifier: MIT */
/*
 * Flashing the slots, start to end: check the inputs, put the nodes into
 * flash mode, tell from what enumerates which module each slot holds, bring
 * each module up to a sink for its eMMC (an RK1 through its loader and
 * rockusb, a CM4 through rpiboot and a USB disk), stream the image through
 * the pipeline — one decoded stream fanned out to every slot that gets the
 * same image — and, on success and on every failure, leave the straps
 * released, the nodes off and the USB routing as it was.
 *
 * On a board whose nodes sit on a USB hub (v2.5+) every slot is flashed at
 * once; on v2.4 the mux reaches one node at a time, so slots go one after
 * another. The module-specific steps live behind struct tp_flash_module
 * (flash_rk1.c, flash_cm4.c); flash.c drives them.
 */
#ifndef TP_FLASH_H
#define TP_FLASH_H

#include <stdbool.h>
#include <stdint.h>

#include "board/turingpi2/board.h"
#include "common/err.h"
#include "common/family.h"
#include "common/sink.h"

struct tp_flash_opts {
	const char *image;         /* file, URL, "-", catalogue name or "auto" */
	const char *sha256;        /* expected, or NULL (discovered) */
	bool verify;
	const char *loader;        /* RK3588 LDR file, NULL for the Kconfig default */
	unsigned rk_sectors;       /* RK1: sectors per READ/WRITE_LBA, 0 for the Kconfig default */
	unsigned enum_timeout_ms;  /* boot ROM enumeration after power-on */
	unsigned loader_timeout_ms;/* loader / second stage; 0: the Kconfig default */
	const char *rpiboot_dir;   /* CM4: rpiboot files, NULL for the Kconfig default */
	const char *cm4_firmware;  /* CM4: "msd", "gadget", "auto" or NULL (auto) */
	unsigned disk_timeout_ms;  /* CM4: to its USB disk; 0: the Kconfig default */
	bool force;                /* write even an image meant for the other module */
	/* The module the user says the slots hold (--module), NULL if not
	 * said: its files must be ready before any node is touched, and a
	 * slot that turns out to hold another is not flashed. */
	const struct tp_flash_module *module;
	/* Write the first-boot files into the image before its head goes
	 * out (docs/seeding.md §4); with seed_only, write no image and seed
	 * the one on the eMMC (tpkit seed). */
	bool seed;
	bool seed_only;
	tp_progress_fn progress;   /* every slot's progress, summed; never concurrent */
	void *progress_cookie;
	/* Report a step ("power", "enumerate", "write", ...) of a slot as it
	 * starts; may be NULL. Never called concurrently. */
	void (*step)(void *cookie, unsigned slot, const char *what);
	void *step_cookie;
};

struct tp_flash_result {
	unsigned slot;          /* 0 for --board none */
	int rc;
	char phase[16];         /* where it stopped, or "done" */
	char msg[TP_ERR_MAX];
	char module[8];         /* "rk1", "cm4", "" if none was found */
	char image[64];         /* the catalogue entry written, "" for a file */
	char usb_path[32];
	uint64_t capacity;      /* eMMC bytes */
	uint64_t bytes;         /* image bytes written */
	uint64_t ns;            /* whole job */
	uint64_t write_ns;      /* writing and reading back, on tp_clock */
	bool verified;
	bool sum_checked;
	bool shared;            /* the decoded stream was shared with other slots */
	char sha256[65];
	bool restored;          /* strap off, node off, routing as before */
	bool cancelled;         /* stopped by a signal or a closed output */
	/* The eMMC's boot area may hold part of the image and could not be
	 * blanked again: the node may boot a half-written image. */
	bool head_blank_failed;
	bool seeded;            /* the first-boot files are in the image */
	char root_uuid[37];     /* the seeded root filesystem's UUID */
	char instance_id[80];   /* cloud-init's instance-id of this seeding */
	bool boot_blank;        /* seed only: failed with the boot block blank */
};

/* What the driver needs of a module kind. */
struct tp_flash_module {
	const char *name;          /* the catalogue's module name: "rk1", "cm4" */
	const char *title;         /* "RK1", "CM4" */
	const char *a_title;       /* "an RK1", "a CM4": for messages */
	const char *usb_id;        /* its boot ROM on USB, for messages */
	enum tp_family family;     /* the images it boots */
	/* Did the command line name this module's files (--loader,
	 * --rpiboot-dir)? Then they must be ready, whatever the slots hold. */
	bool (*files_named)(const struct tp_flash_opts *o);
	/* Before any node is touched: are the module's own files (loader,
	 * rpiboot directory) there and sound? 0, or -errno with a message.
	 * *ctx is the module's to keep until release. */
	int (*ready)(const struct tp_flash_opts *o, void **ctx);
	/*
	 * Bring-up, from the boot ROM on the bus at path (flash mode entered,
	 * strap released) to a sink for the eMMC, in two halves so that the
	 * slots of a run overlap their waits: start does what needs the host
	 * (the RK1's loader download, the CM4's rpiboot and its file serving)
	 * and leaves *state; finish waits for the module to come back (the
	 * loader, the USB disk), opens the sink, and frees state whatever
	 * happens. Steps are reported through step(); start sets r->usb_path.
	 */
	int (*start)(void *ctx, const struct tp_flash_opts *o, struct tp_flash_result *r,
		     const char *path, void (*step)(void *c, const char *what),
		     void *step_cookie, void **state);
	int (*finish)(void *ctx, const struct tp_flash_opts *o, struct tp_flash_result *r,
		      void *state, void (*step)(void *c, const char *what), void *step_cookie,
		      struct tp_sink **sink);
	void (*release)(void *ctx);
};

#ifdef CONFIG_TPKIT_RK1
extern const struct tp_flash_module tp_flash_rk1;
#endif
#ifdef CONFIG_TPKIT_CM4
extern const struct tp_flash_module tp_flash_cm4;
#endif

/* The module called name ("rk1", "cm4"), NULL if this tpkit has none. */
const struct tp_flash_module *tp_flash_module_find(const char *name);

/* The names of the modules this tpkit can flash, "rk1, cm4", for messages. */
const char *tp_flash_module_names(void);

/*
 * Flash the slots in mask (TP_SLOT_BIT()s) of board b. res gets one result
 * per slot, in slot order; returns how many. An empty or failed slot does
 * not stop the others; a cancel (SIGINT/SIGTERM) does, after restoring.
 */
size_t tp_flash_slots(struct tp_board *b, unsigned mask, const struct tp_flash_opts *o,
		      struct tp_flash_result *res);

/* Without board control: the module at usb_path ("1-1.2", NULL for the
 * first found), already in maskrom, loader or boot ROM mode. */
int tp_flash_usb(const char *usb_path, const struct tp_flash_opts *o,
		 struct tp_flash_result *r);

/*
 * Poll until every path in paths[0..n) shows an RK3588 (2207:350b) or a
 * Broadcom boot ROM, or timeout_ms passes; which[i] gets the module found
 * there or NULL. A NULL path means "any device". found, if not NULL, is
 * called as soon as a path's module is seen (to release its strap then).
 * Returns 0 if all were found, -ETIMEDOUT if not (which[] says which were),
 * other -errno on failure.
 */
int tp_flash_probe(const char *const *paths, size_t n, unsigned timeout_ms,
		   const struct tp_flash_module **which,
		   void (*found)(void *cookie, size_t i), void *cookie);

#endif
