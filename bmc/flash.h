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
 * another. Each module kind is a struct tp_flash_module in its own
 * flash_NAME.c, listed in modules.def (flash_table.c collects them);
 * flash.c drives them.
 */
#ifndef TP_FLASH_H
#define TP_FLASH_H

#include <stdbool.h>
#include <stdint.h>

#include "board/turingpi2/board.h"
#include "common/err.h"
#include "common/family.h"
#include "common/image.h"
#include "common/sink.h"

/* Where a flash job is (flash_phases.def has the table). */
enum tp_flash_phase {
#define PHASE(id, name, text, cause) TP_FLASH_PHASE_##id,
#include "flash_phases.def"
#undef PHASE
};

/* The phase's name in --json and in messages: "prepare", "write", ... */
const char *tp_flash_phase_name(enum tp_flash_phase p);
/* What a person reads as the phase starts, NULL if it is not shown. */
const char *tp_flash_phase_text(enum tp_flash_phase p);

/* An option of one module kind (--loader, --cm4-firmware, ...). */
struct tp_flash_mopt {
	const char *name;          /* the long option, without "--" */
	/* Giving it names the module's files (--loader, --rpiboot-dir):
	 * then they must be ready, whatever the slots hold. */
	bool names_files;
};

/* An option given for a module: its value as typed, checked by the
 * module's check_opt when it was given. */
struct tp_flash_mopt_val {
	const struct tp_flash_mopt *opt;
	const char *val;
};

#define TP_FLASH_MOPTS_MAX 16

struct tp_flash_opts {
	const char *image;         /* file, URL, "-", catalogue name or "auto" */
	/* The pipeline's options (tp_image_opts_init(), then --sha256,
	 * --format, --xz-memlimit, ...): each image of the run starts from
	 * them; src and progress are the run's. */
	struct tp_image_opts io;
	const char *catalogue;     /* --catalogue FILE, or NULL */
	const char *cache_dir;     /* --cache-dir DIR, or NULL */
	unsigned enum_timeout_ms;  /* boot ROM enumeration after power-on */
	/* The modules' own options that were given (tp_flash_opt_set());
	 * each module reads its own, the rest take its Kconfig defaults. */
	struct tp_flash_mopt_val mopt[TP_FLASH_MOPTS_MAX];
	size_t nmopt;
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
	/* Write nothing: bring the node up to its eMMC as the BMC kernel's
	 * own USB disk and leave it on, handed over (tpkit usb msd, the
	 * API's node_to_msd); the result's disk names it. One slot. */
	bool msd;
	const char *node_helper;   /* --node-helper FILE, NULL: the installed one */
	bool wipe_nvme;            /* seed wipe_nvme=yes (docs/commission.md §11) */
	/* The download's progress (target 0, every image's summed) and
	 * each slot's write and verify (target = the slot; with --board
	 * none, target 0 is the one module's). Never called concurrently. */
	tp_progress_fn progress;
	void *progress_cookie;
	/* Report a step (a phase) of a slot as it starts; may be NULL.
	 * Never called concurrently. */
	void (*step)(void *cookie, unsigned slot, enum tp_flash_phase what);
	void *step_cookie;
};

struct tp_flash_result {
	unsigned slot;          /* 0 for --board none */
	int rc;
	enum tp_flash_phase phase; /* where it stopped, or TP_FLASH_PHASE_DONE */
	char msg[TP_ERR_MAX];
	char module[8];         /* "rk1", "cm4", "" if none was found */
	char image[256];        /* the catalogue entry, else the path or URL; "stdin" */
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
	bool empty;             /* no module answered at its port: nothing there */
	/* The eMMC's boot area may hold part of the image and could not be
	 * blanked again: the node may boot a half-written image. */
	bool head_blank_failed;
	bool seeded;            /* the first-boot files are in the image */
	char root_uuid[37];     /* the seeded root filesystem's UUID */
	char instance_id[80];   /* cloud-init's instance-id of this seeding */
	bool boot_blank;        /* seed only: failed with the boot block blank */
	char disk[48];          /* msd: the eMMC's disk on the BMC, "/dev/sda" */
};

/* A USB id a module shows while tpkit can take it over: its boot ROM,
 * and for some its loader or second stage under the same id. */
struct tp_usbdisk;

struct tp_flash_usb_id {
	uint16_t vid, pid;
	const char *stage;         /* "boot ROM", "loader", ...: for messages */
};

/*
 * A module kind: everything tpkit knows of it, in its own flash_NAME.c,
 * listed in modules.def. The driver (flash.c), the probe, prepare, the
 * image sources and tpkit flash's options and --help walk that table.
 */
struct tp_flash_module {
	const char *name;          /* the catalogue's module name: "rk1", "cm4" */
	const char *title;         /* "RK1", "CM4" */
	const char *a_title;       /* "an RK1", "a CM4": for messages */
	const char *usb_id;        /* its boot ROM on USB, for messages */
	/* Its boot ROM on USB after a power-on without the strap, as a
	 * silent node's look finds it (docs/commission.md §5): why it is
	 * there, for the verdict, and whether a flash of the eMMC mends it
	 * (else the slot fails at once: no retry can). */
	const char *rom_why;
	bool rom_flash_mends;
	const struct tp_flash_usb_id *ids; /* what the probe looks for */
	size_t nids;
	enum tp_family family;     /* the images it boots */
	const struct tp_flash_mopt *opts; /* its own options */
	size_t nopts;
	/* The --help lines of its options, defaults included, into buf. */
	void (*help)(char *buf, size_t size);
	/* Is val a valid value for its option opt? 0, or -EINVAL with the
	 * message a usage error shows. NULL: any value is. */
	int (*check_opt)(const struct tp_flash_mopt *opt, const char *val);
	/* Before any node is touched: are the module's own files (loader,
	 * rpiboot directory) there and sound? Its options are read here.
	 * 0, or -errno with a message. *ctx is the module's to keep until
	 * release. */
	int (*ready)(const struct tp_flash_opts *o, void **ctx);
	/*
	 * Bring-up, from the boot ROM on the bus at path (flash mode entered,
	 * strap released) to a sink for the eMMC, in steps so that the slots
	 * of a run overlap their waits: start does what needs the host first
	 * (the RK1's loader download, the CM4's second stage) and leaves
	 * *state; the mid steps below go on; finish waits for the module to
	 * come back (the loader, the USB disk), opens the sink, and frees
	 * state whatever happens. Steps are reported through step(); start
	 * sets r->usb_path.
	 */
	int (*start)(void *ctx, const struct tp_flash_opts *o, struct tp_flash_result *r,
		     const char *path, void (*step)(void *c, enum tp_flash_phase what),
		     void *step_cookie, void **state);
	int (*finish)(void *ctx, const struct tp_flash_opts *o, struct tp_flash_result *r,
		      void *state, void (*step)(void *c, enum tp_flash_phase what),
		      void *step_cookie, struct tp_sink **sink);
	/* For msd (tp_flash_opts.msd), in finish's place: wait for the
	 * module's eMMC to come up as the BMC kernel's own USB disk (the
	 * CM4's payload, the RK1's loader bound by rockusb.ko) and fill
	 * *disk, never opening it; frees state whatever happens. */
	int (*disk)(void *ctx, const struct tp_flash_opts *o, struct tp_flash_result *r,
		    void *state, void (*step)(void *c, enum tp_flash_phase what),
		    void *step_cookie, struct tp_usbdisk *disk);
	/* Steps between start and finish, for a module that waits on its
	 * device more than once on the way (the CM4: its boot ROM's answer a
	 * second after the second stage, then the second stage): the run
	 * takes every slot's step k before any slot's step k + 1, so the
	 * slots' waits overlap instead of adding up. 0, or -errno with a
	 * message, *state freed and NULL. */
	int (*const *mid)(void *ctx, const struct tp_flash_opts *o, struct tp_flash_result *r,
			  void **state);
	size_t nmid;
	void (*release)(void *ctx);
};

#define MODULE(name) extern const struct tp_flash_module tp_flash_##name;
#include "modules.def"
#undef MODULE

/* How many module kinds this tpkit has (modules.def). */
enum {
#define MODULE(name) TP_FLASH_MODULE_##name,
#include "modules.def"
#undef MODULE
	TP_FLASH_MODULES
};

/* The table: tp_flash_modules[0..TP_FLASH_MODULES), in modules.def order. */
extern const struct tp_flash_module *const tp_flash_modules[];

/* The module called name ("rk1", "cm4"), NULL if this tpkit has none. */
const struct tp_flash_module *tp_flash_module_find(const char *name);

/* The names of the modules this tpkit can flash, "rk1, cm4", for messages. */
const char *tp_flash_module_names(void);

/* The module whose boot ROM (or loader) has this USB id, NULL if none. */
const struct tp_flash_module *tp_flash_module_by_id(uint16_t vid, uint16_t pid);

/* The module that boots images of family f, NULL if none is built. */
const struct tp_flash_module *tp_flash_module_for(enum tp_family f);

/* Give module option opt the value val (checked by its module first):
 * 0, or -EINVAL with a message. A later value replaces an earlier one. */
int tp_flash_opt_set(struct tp_flash_opts *o, const struct tp_flash_module *m,
		     const struct tp_flash_mopt *opt, const char *val);

/* "NAME=VALUE" (--flash-opt of tpkit serve and tpkit usb msd): the
 * option NAME of whichever module has it. 0, or -EINVAL with a message. */
int tp_flash_opt_parse(struct tp_flash_opts *o, const char *nv);

/* The module options of from (--flash-opt, parsed once when the command
 * started) into o, in place of o's. */
void tp_flash_mopts_copy(struct tp_flash_opts *o, const struct tp_flash_opts *from);

/* The value given for module option opt, NULL if none (its default). */
const char *tp_flash_opt(const struct tp_flash_opts *o, const struct tp_flash_mopt *opt);

/* Did the options name module m's files (an option with names_files)?
 * Then they must be ready, whatever the slots hold. */
bool tp_flash_files_named(const struct tp_flash_opts *o, const struct tp_flash_module *m);

/*
 * tpkit usb msd and the API's node_to_msd: slot brought up to its eMMC as
 * the BMC kernel's own disk (o->msd set here) and handed over, then that
 * disk made LUN 0 of the BMC's USB gadget. res is the slot's result. 0, or
 * -errno with a message: res->rc < 0 when the bring-up failed (the node put
 * back off, as after a failed flash), else the export failed, the node on.
 */
int tp_flash_msd(struct tp_board *b, unsigned slot, struct tp_flash_opts *o,
		 struct tp_flash_result *res);

/* How many slots one tp_flash_slots() call on board b flashes at the same
 * time: every slot behind a hub (v2.5+), one through the v2.4 mux
 * (hardware.md §6). */
unsigned tp_flash_at_once(const struct tp_board *b);

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
 * Poll until every path in paths[0..n) shows one of the modules' USB ids
 * (tp_flash_module_by_id()), or timeout_ms passes; which[i] gets the module found
 * there or NULL. A NULL path means "any device". found, if not NULL, is
 * called as soon as a path's module is seen (to release its strap then).
 * Returns 0 if all were found, -ETIMEDOUT if not (which[] says which were),
 * other -errno on failure.
 */
int tp_flash_probe(const char *const *paths, size_t n, unsigned timeout_ms,
		   const struct tp_flash_module **which,
		   void (*found)(void *cookie, size_t i), void *cookie);

#endif
