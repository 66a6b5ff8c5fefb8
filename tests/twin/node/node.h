/* SPDX-License-Identifier: MIT */
/*
 * Nodes that boot (docs/twin.md, "Nodes that boot"): with --node-vm a
 * powered module without its strap runs a real kernel from its disks under
 * QEMU, its console wired to the slot's UART on the BMC side.
 */
#ifndef TPKIT_TWIN_NODE_H
#define TPKIT_TWIN_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../twin.h"

#define TWIN_NODE_MAX_PARTS	16

/* One slot's node: its UART on the BMC side and its VM. */
struct twin_node {
	int log_fd;			/* <root>/console/slotN.log, appended */
	int pty;			/* master; dev/ttyS<N> links to the slave */
	int pty_slave;			/* held open: no EIO/HUP without a reader */
	guint pty_src;
	int to_node;			/* QEMU's stdin, -1 without a VM */
	GPid pid;			/* 0: no VM */
	int pidfd;
	guint pid_src;
	int from_node;			/* QEMU's stdout */
	guint from_src;
	char *scratch;			/* extracted kernel and initrd */
	char tail[128];			/* the console's last bytes: a reboot? */
	size_t tail_len;
};

struct twin_nodes {
	struct twin_node slot[TWIN_SLOTS + 1];
	GPid sw_pid;
	int sw_in;
	char *sw_dir;
};

/* disk.c: partition tables and files inside partitions. */
struct twin_part {
	unsigned num;			/* 1-based, as the kernel names it */
	uint64_t start, size;		/* bytes */
	bool bootable;			/* MBR 0x80, GPT "legacy BIOS bootable" */
};

enum twin_fs { TWIN_FS_NONE, TWIN_FS_EXT, TWIN_FS_FAT };

int twin_disk_parts(const char *img, struct twin_part *p, unsigned max,
		    unsigned *n, const char **table);
enum twin_fs twin_disk_fs(const char *img, const struct twin_part *p);
int twin_disk_copy(const char *img, const struct twin_part *p,
		   const char *path, const char *dest, char *err, size_t len);

/* What a boot loader found: what QEMU is to run, and how it was found. */
struct twin_boot {
	char *kernel;			/* extracted files, in the scratch dir */
	char *initrd;			/* NULL: none */
	char *append;
	const char *dev;		/* the boot target it came from */
	char note[128];			/* for the timeline and the console */
};

void twin_boot_clear(struct twin_boot *b);

/* uboot.c: the RK1's U-Boot distro boot (extlinux). */
struct twin_extlinux {
	char *kernel, *initrd, *append;	/* of the default label */
	char *label;
};

int twin_extlinux_parse(const char *text, struct twin_extlinux *x,
			char *err, size_t len);
void twin_extlinux_clear(struct twin_extlinux *x);
int twin_uboot_scan(const char *const *devs, const char *const *names,
		    const char *scratch, struct twin_boot *b);

/* rpi.c: the CM4's EEPROM boot (config.txt, cmdline.txt). */
int twin_rpi_config(const char *text, char **kernel, char **initramfs);
int twin_rpi_scan(const char *img, const char *scratch, struct twin_boot *b);

/* switch.c: the board's Ethernet switch (a vde_switch). */
int twin_switch_start(struct twin *t);
void twin_switch_stop(struct twin *t);
const char *twin_switch_sock(struct twin *t);

/* console.c: the slot's UART on the BMC side (pty, log). */
int twin_console_open(struct twin *t, unsigned slot);
void twin_console_write(struct twin *t, unsigned slot, const char *buf,
			size_t len);
void twin_console_attach(struct twin *t, unsigned slot, int to_node);
void twin_console_close(struct twin *t, unsigned slot);

#endif /* TPKIT_TWIN_NODE_H */
