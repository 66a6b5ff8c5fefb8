/* SPDX-License-Identifier: MIT */
/*
 * tp-twin: a software stand-in for a Turing Pi 2 board (docs/twin.md).
 *
 * One struct twin holds everything; every module takes it as its first
 * argument, so the program has no other mutable global state. Functions
 * return 0 or a negative errno.
 */
#ifndef TPKIT_TWIN_H
#define TPKIT_TWIN_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#define TWIN_SLOTS		4
#define TWIN_SOC_LINES		224	/* banks A..G, 32 offsets each */
#define TWIN_MAX_CHIPS		3
#define TWIN_NS_PER_MS		UINT64_C(1000000)

/* Exit statuses besides the command's own (docs/twin.md, "Exit status"). */
#define TWIN_EXIT_USAGE		2
#define TWIN_EXIT_VIOLATION	90
#define TWIN_EXIT_INTERNAL	91
#define TWIN_EXIT_NOEXEC	127

enum twin_rev { TWIN_REV_2_4, TWIN_REV_2_5, TWIN_REV_2_5_1, TWIN_REV_2_5_2 };
enum twin_module { TWIN_MOD_EMPTY, TWIN_MOD_RK1, TWIN_MOD_CM4 };
enum twin_eeprom { TWIN_EEPROM_GOOD, TWIN_EEPROM_BAD_CRC, TWIN_EEPROM_NONE };

/* Simulated CM4 (docs/twin.md, "Simulated CM4"). */
/* AUTO: the second stage's size says (twin_bcm2711.c). */
enum twin_cm4_payload { TWIN_CM4_AUTO, TWIN_CM4_MSD, TWIN_CM4_GADGET };
/* --cm4-fault (docs/twin.md, "Simulated CM4", "Faults of a CM4"): bits. */
enum {
	TWIN_CM4_NO_STAGE2 = 1u << 0,	/* the second stage never enumerates */
	TWIN_CM4_NO_MSD = 1u << 1,	/* after Done, no mass-storage device */
	TWIN_CM4_NO_DISK = 1u << 2,	/* the device enumerates, no SCSI disk */
	TWIN_CM4_NO_EEPROM = 1u << 3,	/* no loader in the SPI EEPROM: USB boot */
};
struct twin_cm4_opts {
	enum twin_cm4_payload payload;	/* --cm4-payload */
	unsigned rom_ms;		/* power-on -> boot ROM on USB */
	unsigned rom_serial;		/* the ROM's iSerialNumber: 0 or 3 */
	unsigned stage2_ms;		/* return code read -> second stage */
	unsigned msd_ms;		/* Done -> mass storage on USB (0: per payload) */
	unsigned scsi_ms;		/* mass storage on USB -> block device */
	unsigned write_rate;		/* MB/s (0: per payload) */
	unsigned read_rate;		/* MB/s (0: per payload) */
	unsigned boot_ms;		/* power-on -> eMMC boot verdict */
	unsigned faults;		/* TWIN_CM4_* bits (--cm4-fault) */
	bool automount;			/* --cm4-automount: sdX1 mounted on add */
};

/* --otg-gadget: the BMC's own USB gadget g1 as S11bmc-otg left it
 * (docs/twin.md, "The BMC's USB gadget (configfs)"). */
enum twin_otg_gadget { TWIN_OTG_BOUND, TWIN_OTG_UNBOUND, TWIN_OTG_NONE };

struct twin_opts {
	enum twin_rev rev;
	enum twin_module module[TWIN_SLOTS + 1];	/* index 1..4 */
	bool on[TWIN_SLOTS + 1];
	bool missing_reg[TWIN_SLOTS + 1];
	GPtrArray *holds;		/* "LINE=CONSUMER" strings */
	GPtrArray *fail_sets;		/* line names or SoC pins */
	char *model;			/* NULL: the revision's own */
	bool no_model;
	enum twin_eeprom eeprom;
	int eeprom_code;		/* -1: the revision's hw_version */
	char *root_dir;
	char *timeline_file;
	char *state_file;
	bool quiet;
	char **command;			/* points into argv, not owned */
	/* Simulated USB devices and eMMC (docs/twin.md, "Simulated RK1"). */
	uint64_t emmc_size;		/* bytes */
	char *emmc_dir;			/* NULL: <root>/emmc */
	unsigned rk_maskrom_ms;		/* nodeN-en -> maskrom on USB */
	unsigned rk_loader_ms;		/* end of 0x472 -> loader on USB */
	unsigned rk_boot_ms;		/* nodeN-en -> eMMC boot verdict */
	unsigned rk_max_sectors;	/* per READ/WRITE_LBA */
	unsigned rk_scsi_ms;		/* rockusb.ko bound -> block device */
	bool no_rockusb;		/* --no-rockusb: the BMC kernel has no
					 * rockusb.ko, the loader stays unbound */
	unsigned rk_cmd_latency_us;
	unsigned usb_turnaround_us;
	unsigned emmc_write_rate;	/* MB/s (10^6 bytes) */
	bool peer_clock;		/* --peer-clock: the clock moves on while
					 * a real-time peer is quiet (twin_usb.c) */
	bool real_clock;		/* --real-clock: never behind real time
					 * (twin_sched.c) */
	/* Faults of a real loader or link (docs/twin.md, "Faults");
	 * TWIN_NO_FAULT when not given. */
	uint64_t rk_vanish_after;	/* WRITE_LBA bytes, then disconnect */
	unsigned rk_fault_slot;		/* the rk faults only in this slot, 0: all */
	uint64_t rk_fail_lba;		/* READ/WRITE_LBA covering it fail */
	uint64_t rk_fail_read_lba;	/* READ_LBA covering it fail */
	uint64_t rk_hang_lba;		/* WRITE_LBA covering it never ends */
	uint64_t rk_corrupt_lba;	/* READ_LBA flips a byte of it */
	struct twin_cm4_opts cm4;
	/* Nodes that boot (docs/twin.md, "Nodes that boot"). */
	bool node_vm;			/* --node-vm */
	char *nvme_dir;			/* --nvme-dir: slotN.nvme files */
	char *qemu;			/* --qemu (default qemu-system-x86_64) */
	/* --signal SIG@WHEN (twin_signal.c); sig 0: none. */
	struct {
		int sig;
		char *event;		/* event:TEXT */
		bool on_write;		/* write:LBA#NTH or read:LBA#NTH */
		uint8_t op;		/* rockusb WRITE_LBA or READ_LBA */
		uint64_t lba;
		unsigned slot;		/* --signal-slot: count only its commands, 0: all */
		unsigned nth, seen;
		bool fired;
	} sig;
	char *die_event;		/* --die event:TEXT (twin_signal.c) */
	enum twin_otg_gadget otg_gadget; /* --otg-gadget (twin_gadget.c) */
};

#define TWIN_NO_FAULT	UINT64_MAX

struct twin_conn;

struct twin_line {
	unsigned chip;
	unsigned offset;
	char subject[20];		/* DT line name, or SoC pin ("PG5") */
	bool named;			/* has a DT name, so FIND sees it */
	int value;			/* logical value */
	bool output;
	char *holder;			/* consumer label, NULL when free */
	struct twin_conn *owner;	/* NULL for kernel and --hold holders */
	bool fail_next_set;		/* --fail-set armed */
	bool driven;			/* SET at least once during the run */
};

struct twin_chip {
	char name[16];
	unsigned nlines;
	struct twin_line *lines;
};

/* A regulator-output consumer with a sysfs state file (hardware.md §4). */
struct twin_reg {
	char name[16];			/* "node2-power", "usb-port-power" */
	unsigned slot;			/* 1..4, 0 for usb-port-power */
	bool exists;			/* in this revision's DT */
	bool present;			/* the state file exists (--missing-regulator) */
	bool enabled;
	char *dir;
	char *path;
	int wd;				/* inotify watch on dir, -1 if none */
	unsigned own_moves;		/* our renames not yet seen by inotify */
};

struct twin_board {
	struct twin_chip chips[TWIN_MAX_CHIPS];
	unsigned nchips;
	struct twin_reg regs[TWIN_SLOTS + 1];	/* [0] usb-port-power, [N] slot N */
	bool atx;
	struct twin_line *en[TWIN_SLOTS + 1];
	struct twin_line *rpiboot[TWIN_SLOTS + 1];
	struct twin_line *usbotg[TWIN_SLOTS + 1];	/* NULL where absent */
	bool slot_on[TWIN_SLOTS + 1];		/* last reported, for events */
	char usb[TWIN_SLOTS + 1][24];		/* last reported "link/role" */
	uint64_t now_ns;			/* the virtual clock */
};

struct twin;
struct twin_usb;

/* A pending event on the virtual clock (twin_sched.c). */
typedef void (*twin_sched_fn)(struct twin *t, void *obj, uint64_t arg);

struct twin {
	struct twin_opts opt;
	struct twin_board board;
	GPtrArray *timeline;		/* formatted event lines */
	unsigned violations;

	char *root;
	bool root_temp;

	int inotify_fd;
	guint inotify_src;
	int ro_wd[4];			/* watches on read-only directories */
	char *ro_dir[4];

	char *sock_dir;
	char *sock_path;
	int listen_fd;
	guint listen_src;
	GList *conns;
	unsigned conn_seq;

	GList *sched;			/* struct twin_event, by (time, seq) */
	uint64_t sched_seq;
	bool sched_running;
	int64_t real_start_us;		/* --real-clock: g_get_monotonic_time() at start */
	guint real_src;

	struct twin_usb *usb;		/* twin_usb.h */
	int emmc_fd[TWIN_SLOTS + 1];
	char *emmc_path[TWIN_SLOTS + 1];

	struct twin_nodes *nodes;	/* --node-vm, node/node.h */
	struct twin_cfs *cfs;		/* configfs over FUSE, twin_configfs.h */

	GPid child;
	bool child_done;
	int child_status;		/* exit status as a shell reports it */
	GMainLoop *loop;
};

/* twin_board.c: the board model. */
int twin_board_init(struct twin *t);
void twin_board_free(struct twin *t);
const char *twin_board_rev_name(enum twin_rev rev);
const char *twin_board_module_name(enum twin_module m);
struct twin_line *twin_board_line_find(struct twin *t, const char *name);
struct twin_line *twin_board_line_parse(struct twin *t, const char *spec);
int twin_board_line_get(struct twin *t, const char *chip, uint64_t offset,
			struct twin_line **out);
int twin_board_line_set(struct twin *t, struct twin_line *l, int value);
int twin_board_reg_set(struct twin *t, struct twin_reg *r, bool enabled);
int twin_board_clock_advance(struct twin *t, uint64_t ns);
int twin_board_state_write(struct twin *t, const char *path);

/* twin_root.c: the fake root filesystem. */
int twin_root_build(struct twin *t);
int twin_root_remove(struct twin *t);
/* The DT model the root shows (also the BMC gadget's product string). */
const char *twin_root_model(struct twin *t);

/* twin_sysfs.c: regulator state files and read-only files, via inotify. */
int twin_sysfs_reg_store(struct twin *t, struct twin_reg *r);
int twin_sysfs_watch(struct twin *t);
void twin_sysfs_drain(struct twin *t);
void twin_sysfs_stop(struct twin *t);

/* twin_gpio.c: the Unix-socket GPIO server. */
int twin_gpio_start(struct twin *t);
void twin_gpio_flush(struct twin *t);
void twin_gpio_stop(struct twin *t);

/* The pids of the processes connected to the GPIO socket; at most max. */
int twin_gpio_peers(struct twin *t, int *pids, int max);

/* twin_signal.c: --signal SIG@WHEN. */
int twin_signal_parse(struct twin_opts *o, const char *arg);

/* twin_opts.c: the usage text; the options parsed into o (0, 1 for
 * --help, -EINVAL after printing why); what parsing allocated, freed. */
extern const char twin_usage[];
int twin_opts_parse(struct twin_opts *o, int argc, char **argv);
void twin_opts_free(struct twin_opts *o);
void twin_signal_event(struct twin *t, const char *line);
void twin_signal_cmd(struct twin *t, unsigned slot, uint8_t op, uint64_t lba, uint32_t count);

/* twin_sched.c: events on the virtual clock. */
void twin_sched_add(struct twin *t, uint64_t at_ns, twin_sched_fn fn,
		    void *obj, uint64_t arg);
void twin_sched_cancel(struct twin *t, void *obj);
int twin_sched_run_until(struct twin *t, uint64_t target_ns);
bool twin_sched_next(struct twin *t, uint64_t *at_ns);
void twin_sched_free(struct twin *t);
/* --real-clock: the tick's period, and the catch-up NOW and SLEEP do first. */
#define TWIN_REAL_TICK_MS 50
void twin_sched_real_start(struct twin *t);
int twin_sched_real_catch_up(struct twin *t);

/* node/vm.c: nodes that boot (--node-vm); a no-op without it. */
int twin_node_init(struct twin *t);
int twin_node_boot(struct twin *t, unsigned slot);
void twin_node_power_off(struct twin *t, unsigned slot);
void twin_node_stop_all(struct twin *t);

/* twin_configfs.c: the BMC's configfs, mounted at <root>/sys/kernel/config
 * (docs/twin.md, "The BMC's USB gadget (configfs)"). Stop unmounts it, and
 * must come before the root is removed. */
int twin_configfs_start(struct twin *t);
void twin_configfs_stop(struct twin *t);

/* twin_timeline.c: events with their virtual time. */
void twin_timeline_add(struct twin *t, const char *kind, const char *subject,
		       const char *from, const char *to, const char *note);
void twin_timeline_violation(struct twin *t, const char *what,
			     const char *fmt, ...) G_GNUC_PRINTF(3, 4);
int twin_timeline_write(struct twin *t, const char *path);

#endif /* TPKIT_TWIN_H */
