// SPDX-License-Identifier: MIT
/*
 * tp-twin's command line (docs/twin.md, "Options"): the usage text, and
 * every option parsed into struct twin_opts, checked as it is read.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "twin.h"
#include "twin_usb.h"

const char twin_usage[] =
	"usage: tp-twin [OPTIONS] -- COMMAND [ARGS...]\n"
	"  --rev 2.4|2.5|2.5.1|2.5.2     board revision (default 2.5.1)\n"
	"  --slot N=rk1|cm4|empty        module in slot N (repeatable)\n"
	"  --on N                        start with slot N powered\n"
	"  --hold LINE=CONSUMER          LINE is held by another process\n"
	"  --model STRING, --no-model    override / remove the DT model\n"
	"  --eeprom good|bad-crc|none|0xCODE\n"
	"  --missing-regulator N         no nodeN-power/state file\n"
	"  --fail-set LINE               the first SET changing LINE fails (EIO)\n"
	"  --root DIR                    build the fake root in DIR, keep it\n"
	"  --timeline FILE               write the timeline to FILE\n"
	"  --state FILE                  write the final board state to FILE\n"
	"  -q, --quiet                   do not print the timeline\n"
	"Simulated RK1 (docs/twin.md):\n"
	"  --emmc-size SIZE              eMMC size, bytes or K/M/G/T (default 32G)\n"
	"  --emmc-dir DIR                keep eMMC files DIR/slotN.emmc (default <root>/emmc)\n"
	"  --rk-maskrom-delay MS         power-on to maskrom on USB (default 300)\n"
	"  --rk-loader-delay MS          end of area 0x472 to loader on USB (default 400)\n"
	"  --rk-boot-time MS             power-on to eMMC boot verdict (default 2000)\n"
	"  --rk-max-sectors N            loader's largest READ/WRITE_LBA (default 240)\n"
	"  --rk-scsi-delay MS            rockusb.ko bound to the loader to its /dev/sdX\n"
	"                                (usb-storage's delay_use, default 1000)\n"
	"  --no-rockusb                  the BMC kernel has no rockusb.ko: the loader\n"
	"                                stays unbound (firmware before v2.1.0)\n"
	"  --rk-cmd-latency-us US        loader time per command, CBW to CSW (default 150)\n"
	"  --emmc-write-rate MBPS        eMMC write rate, MB/s (default 60)\n"
	"  --usb-turnaround-us US        host turnaround on an idle bus (default 125)\n"
	"  --peer-clock                  the clock moves on to the next event while a\n"
	"                                real-time peer (rkdeveloptool) is quiet\n"
	"  --real-clock                  the clock never runs behind real time (for\n"
	"                                programs that follow nodes in QEMU)\n"
	"Nodes that boot (docs/twin.md, \"Nodes that boot\"):\n"
	"  --node-vm                     a module booting from its disks runs them in QEMU\n"
	"  --nvme-dir DIR                an RK1's NVMe drive is DIR/slotN.nvme, if present\n"
	"  --qemu PATH                   the QEMU to run (default qemu-system-x86_64)\n"
	"Faults of a real RK1 (docs/twin.md, \"Faults\"):\n"
	"  --rk-vanish-after BYTES       the loader disconnects after BYTES of WRITE_LBA data\n"
	"  --rk-fail-lba LBA             READ/WRITE_LBA covering LBA fail (CSW status 1)\n"
	"  --rk-fail-read-lba LBA        only READ_LBA covering LBA fails: a sector written\n"
	"                                but unreadable, found by the read-back\n"
	"  --rk-hang-lba LBA             the loader stops answering at the WRITE_LBA covering LBA\n"
	"  --rk-corrupt-read LBA         READ_LBA returns LBA's first byte inverted\n"
	"  --rk-fault-slot N             the --rk-* faults above only in slot N (default: all)\n"
	"Simulated CM4 (docs/twin.md, \"Simulated CM4\"):\n"
	"  --cm4-payload auto|msd|gadget the firmware the second stage runs (default auto:\n"
	"                                by its size, 73120 B gadget, else legacy msd)\n"
	"  --cm4-rom-delay MS            power-on to boot ROM on USB (default 500)\n"
	"  --cm4-rom-serial 0|3          the boot ROM's iSerialNumber (default 0)\n"
	"  --cm4-stage2-delay MS         return code read to second stage on USB (default 300)\n"
	"  --cm4-msd-delay MS            Done to mass storage on USB (default 1000; gadget 5000)\n"
	"  --cm4-scsi-delay MS           mass storage on USB to /dev/sdX (default 1000)\n"
	"  --cm4-write-rate MBPS         disk write rate, MB/s (default 10; gadget 35)\n"
	"  --cm4-read-rate MBPS          disk read rate, MB/s (default 11; gadget 35)\n"
	"  --cm4-boot-time MS            power-on to eMMC boot verdict (default 3000)\n"
	"  --cm4-automount               an automounter mounts /dev/sdX1 when the disk appears\n"
	"Faults of a real CM4 (docs/twin.md, \"Simulated CM4\"; repeatable):\n"
	"  --cm4-fault no-stage2         the second stage never enumerates after stage 1\n"
	"  --cm4-fault no-msd            no mass-storage device on USB after Done\n"
	"  --cm4-fault no-disk           the mass-storage device enumerates, no /dev/sdX follows\n"
	"  --cm4-fault no-eeprom         no boot loader in the SPI EEPROM: the ROM goes to USB at every power-on\n"
	"Interrupting the client (docs/twin.md, \"Signals to the client\"):\n"
	"  --signal SIG@event:TEXT       send SIG (INT TERM HUP KILL PIPE) at the first event containing TEXT\n"
	"  --signal SIG@write:LBA[#K]    ... when the K-th WRITE_LBA covering LBA arrives (default K 1)\n"
	"  --signal SIG@read:LBA[#K]     ... the same for READ_LBA\n"
	"  --signal-slot N               count write:/read: commands of slot N only (default: all)\n"
	"  --die event:TEXT              the twin itself is killed (-9) at the first event containing\n"
	"                                TEXT, its client left running without a board\n"
	"The BMC's USB gadget (docs/twin.md, \"The BMC's USB gadget (configfs)\"):\n"
	"  --otg-gadget bound|unbound|none  g1 as S11bmc-otg left it: bound to the UDC,\n"
	"                                made but unbound, or absent (default bound)\n"
	"Exit: the command's status, 90 on any violation, 2 bad usage,\n"
	"127 command not run, 91 twin failure.\n";

enum {
	OPT_REV = 256, OPT_SLOT, OPT_ON, OPT_HOLD, OPT_MODEL, OPT_NO_MODEL,
	OPT_EEPROM, OPT_MISSING_REG, OPT_FAIL_SET, OPT_ROOT, OPT_TIMELINE,
	OPT_STATE, OPT_HELP, OPT_EMMC_SIZE, OPT_EMMC_DIR, OPT_RK_MASKROM,
	OPT_RK_LOADER, OPT_RK_BOOT, OPT_RK_MAX, OPT_RK_SCSI, OPT_NO_ROCKUSB, OPT_RK_LAT,
	OPT_EMMC_RATE,
	OPT_USB_TURN, OPT_RK_VANISH, OPT_RK_FAIL_LBA, OPT_RK_FAIL_READ, OPT_RK_HANG_LBA,
	OPT_RK_CORRUPT, OPT_RK_FAULT_SLOT, OPT_CM4_PAYLOAD, OPT_CM4_ROM, OPT_CM4_SERIAL, OPT_CM4_S2,
	OPT_CM4_MSD, OPT_CM4_SCSI, OPT_CM4_RATE, OPT_CM4_BOOT, OPT_CM4_FAULT,
	OPT_CM4_AUTOMOUNT, OPT_SIGNAL, OPT_CM4_READ_RATE, OPT_PEER_CLOCK, OPT_REAL_CLOCK,
	OPT_NODE_VM, OPT_NVME_DIR, OPT_QEMU, OPT_DIE, OPT_OTG_GADGET, OPT_SIGNAL_SLOT,
};

static const struct option twin_long_opts[] = {
	{ "rev", required_argument, NULL, OPT_REV },
	{ "slot", required_argument, NULL, OPT_SLOT },
	{ "on", required_argument, NULL, OPT_ON },
	{ "hold", required_argument, NULL, OPT_HOLD },
	{ "model", required_argument, NULL, OPT_MODEL },
	{ "no-model", no_argument, NULL, OPT_NO_MODEL },
	{ "eeprom", required_argument, NULL, OPT_EEPROM },
	{ "missing-regulator", required_argument, NULL, OPT_MISSING_REG },
	{ "fail-set", required_argument, NULL, OPT_FAIL_SET },
	{ "root", required_argument, NULL, OPT_ROOT },
	{ "timeline", required_argument, NULL, OPT_TIMELINE },
	{ "state", required_argument, NULL, OPT_STATE },
	{ "quiet", no_argument, NULL, 'q' },
	{ "emmc-size", required_argument, NULL, OPT_EMMC_SIZE },
	{ "emmc-dir", required_argument, NULL, OPT_EMMC_DIR },
	{ "rk-maskrom-delay", required_argument, NULL, OPT_RK_MASKROM },
	{ "rk-loader-delay", required_argument, NULL, OPT_RK_LOADER },
	{ "rk-boot-time", required_argument, NULL, OPT_RK_BOOT },
	{ "rk-max-sectors", required_argument, NULL, OPT_RK_MAX },
	{ "rk-scsi-delay", required_argument, NULL, OPT_RK_SCSI },
	{ "no-rockusb", no_argument, NULL, OPT_NO_ROCKUSB },
	{ "rk-cmd-latency-us", required_argument, NULL, OPT_RK_LAT },
	{ "emmc-write-rate", required_argument, NULL, OPT_EMMC_RATE },
	{ "usb-turnaround-us", required_argument, NULL, OPT_USB_TURN },
	{ "rk-vanish-after", required_argument, NULL, OPT_RK_VANISH },
	{ "rk-fail-lba", required_argument, NULL, OPT_RK_FAIL_LBA },
	{ "rk-fail-read-lba", required_argument, NULL, OPT_RK_FAIL_READ },
	{ "rk-hang-lba", required_argument, NULL, OPT_RK_HANG_LBA },
	{ "rk-corrupt-read", required_argument, NULL, OPT_RK_CORRUPT },
	{ "rk-fault-slot", required_argument, NULL, OPT_RK_FAULT_SLOT },
	{ "cm4-payload", required_argument, NULL, OPT_CM4_PAYLOAD },
	{ "cm4-rom-delay", required_argument, NULL, OPT_CM4_ROM },
	{ "cm4-rom-serial", required_argument, NULL, OPT_CM4_SERIAL },
	{ "cm4-stage2-delay", required_argument, NULL, OPT_CM4_S2 },
	{ "cm4-msd-delay", required_argument, NULL, OPT_CM4_MSD },
	{ "cm4-scsi-delay", required_argument, NULL, OPT_CM4_SCSI },
	{ "cm4-write-rate", required_argument, NULL, OPT_CM4_RATE },
	{ "cm4-boot-time", required_argument, NULL, OPT_CM4_BOOT },
	{ "cm4-fault", required_argument, NULL, OPT_CM4_FAULT },
	{ "cm4-automount", no_argument, NULL, OPT_CM4_AUTOMOUNT },
	{ "signal", required_argument, NULL, OPT_SIGNAL },
	{ "signal-slot", required_argument, NULL, OPT_SIGNAL_SLOT },
	{ "die", required_argument, NULL, OPT_DIE },
	{ "otg-gadget", required_argument, NULL, OPT_OTG_GADGET },
	{ "cm4-read-rate", required_argument, NULL, OPT_CM4_READ_RATE },
	{ "peer-clock", no_argument, NULL, OPT_PEER_CLOCK },
	{ "real-clock", no_argument, NULL, OPT_REAL_CLOCK },
	{ "node-vm", no_argument, NULL, OPT_NODE_VM },
	{ "nvme-dir", required_argument, NULL, OPT_NVME_DIR },
	{ "qemu", required_argument, NULL, OPT_QEMU },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

/* "1".."4"; returns 0 if S is not a slot number. */
static unsigned twin_opts_slot(const char *s, size_t len)
{
	if (len != 1 || s[0] < '1' || s[0] > '0' + TWIN_SLOTS)
		return 0;
	return (unsigned)(s[0] - '0');
}

static int twin_opts_module(const char *s, enum twin_module *m)
{
	for (int i = TWIN_MOD_EMPTY; i <= TWIN_MOD_CM4; i++) {
		if (!strcmp(s, twin_board_module_name(i))) {
			*m = i;
			return 0;
		}
	}
	return -EINVAL;
}

static int twin_opts_eeprom(struct twin_opts *o, const char *arg)
{
	char *end;
	unsigned long code;

	if (!strcmp(arg, "good"))
		o->eeprom = TWIN_EEPROM_GOOD;
	else if (!strcmp(arg, "bad-crc"))
		o->eeprom = TWIN_EEPROM_BAD_CRC;
	else if (!strcmp(arg, "none"))
		o->eeprom = TWIN_EEPROM_NONE;
	else if ((arg[0] == '0' && (arg[1] == 'x' || arg[1] == 'X')) &&
		 g_ascii_isxdigit(arg[2])) {
		errno = 0;
		code = strtoul(arg + 2, &end, 16);
		if (*end || errno || code > 0xffff)
			return -EINVAL;
		o->eeprom = TWIN_EEPROM_GOOD;
		o->eeprom_code = (int)code;
	} else {
		return -EINVAL;
	}
	return 0;
}

/* A plain decimal number from MIN to MAX. */
static int twin_opts_uint(const char *arg, unsigned min, unsigned max,
			  unsigned *out)
{
	char *end;
	unsigned long v;

	if (!g_ascii_isdigit(arg[0]))
		return -EINVAL;
	errno = 0;
	v = strtoul(arg, &end, 10);
	if (*end || errno || v < min || v > max)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

/* A plain decimal number below TWIN_NO_FAULT (an LBA, a byte count). */
static int twin_opts_u64(const char *arg, uint64_t *out)
{
	char *end;
	uint64_t v;

	if (!g_ascii_isdigit(arg[0]))
		return -EINVAL;
	errno = 0;
	v = g_ascii_strtoull(arg, &end, 10);
	if (*end || errno || v == TWIN_NO_FAULT)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Bytes, or K/M/G/T (powers of 1024); a whole number of 512-byte sectors
 * that READ_FLASH_INFO's 32-bit sector count can carry (protocols.md §5.4). */
static int twin_opts_size(const char *arg, uint64_t *out)
{
	char *end;
	uint64_t v;
	unsigned shift = 0;

	if (!g_ascii_isdigit(arg[0]))
		return -EINVAL;
	errno = 0;
	v = g_ascii_strtoull(arg, &end, 10);
	if (errno)
		return -EINVAL;
	if (*end && !end[1])
		switch (*end) {
		case 'K': shift = 10; break;
		case 'M': shift = 20; break;
		case 'G': shift = 30; break;
		case 'T': shift = 40; break;
		default: return -EINVAL;
		}
	else if (*end)
		return -EINVAL;
	if (v > (UINT64_MAX >> shift))
		return -EINVAL;
	v <<= shift;
	if (!v || v % 512 || v / 512 > UINT32_MAX)
		return -EINVAL;
	*out = v;
	return 0;
}

static int twin_opts_one(struct twin_opts *o, int opt, const char *arg)
{
	static const char *const revs[] = { "2.4", "2.5", "2.5.1", "2.5.2" };
	const char *eq;
	unsigned n;

	switch (opt) {
	case OPT_REV:
		for (size_t i = 0; i < G_N_ELEMENTS(revs); i++)
			if (!strcmp(arg, revs[i])) {
				o->rev = (enum twin_rev)i;
				return 0;
			}
		return -EINVAL;
	case OPT_SLOT:
		eq = strchr(arg, '=');
		n = eq ? twin_opts_slot(arg, (size_t)(eq - arg)) : 0;
		if (!n)
			return -EINVAL;
		return twin_opts_module(eq + 1, &o->module[n]);
	case OPT_ON:
	case OPT_MISSING_REG:
		n = twin_opts_slot(arg, strlen(arg));
		if (!n)
			return -EINVAL;
		if (opt == OPT_ON)
			o->on[n] = true;
		else
			o->missing_reg[n] = true;
		return 0;
	case OPT_HOLD:
		g_ptr_array_add(o->holds, g_strdup(arg));
		return 0;
	case OPT_FAIL_SET:
		g_ptr_array_add(o->fail_sets, g_strdup(arg));
		return 0;
	case OPT_MODEL:
		g_free(o->model);
		o->model = g_strdup(arg);
		return 0;
	case OPT_NO_MODEL:
		o->no_model = true;
		return 0;
	case OPT_EEPROM:
		return twin_opts_eeprom(o, arg);
	case OPT_ROOT:
		g_free(o->root_dir);
		o->root_dir = g_strdup(arg);
		return 0;
	case OPT_TIMELINE:
		g_free(o->timeline_file);
		o->timeline_file = g_strdup(arg);
		return 0;
	case OPT_STATE:
		g_free(o->state_file);
		o->state_file = g_strdup(arg);
		return 0;
	case 'q':
		o->quiet = true;
		return 0;
	case OPT_EMMC_SIZE:
		return twin_opts_size(arg, &o->emmc_size);
	case OPT_NODE_VM:
		o->node_vm = true;
		return 0;
	case OPT_NVME_DIR:
		g_free(o->nvme_dir);
		o->nvme_dir = g_strdup(arg);
		return 0;
	case OPT_QEMU:
		g_free(o->qemu);
		o->qemu = g_strdup(arg);
		return 0;
	case OPT_EMMC_DIR:
		g_free(o->emmc_dir);
		o->emmc_dir = g_strdup(arg);
		return 0;
	case OPT_RK_MASKROM:
		return twin_opts_uint(arg, 0, 600000, &o->rk_maskrom_ms);
	case OPT_RK_LOADER:
		return twin_opts_uint(arg, 0, 600000, &o->rk_loader_ms);
	case OPT_RK_BOOT:
		return twin_opts_uint(arg, 0, 600000, &o->rk_boot_ms);
	case OPT_RK_MAX:
		return twin_opts_uint(arg, 1, 65535, &o->rk_max_sectors);
	case OPT_RK_SCSI:
		return twin_opts_uint(arg, 0, 600000, &o->rk_scsi_ms);
	case OPT_NO_ROCKUSB:
		o->no_rockusb = true;
		return 0;
	case OPT_RK_LAT:
		return twin_opts_uint(arg, 0, 1000000, &o->rk_cmd_latency_us);
	case OPT_EMMC_RATE:
		return twin_opts_uint(arg, 1, 100000, &o->emmc_write_rate);
	case OPT_USB_TURN:
		return twin_opts_uint(arg, 0, 1000000, &o->usb_turnaround_us);
	case OPT_RK_VANISH:
		return twin_opts_u64(arg, &o->rk_vanish_after);
	case OPT_RK_FAIL_LBA:
		return twin_opts_u64(arg, &o->rk_fail_lba);
	case OPT_RK_FAIL_READ:
		return twin_opts_u64(arg, &o->rk_fail_read_lba);
	case OPT_RK_HANG_LBA:
		return twin_opts_u64(arg, &o->rk_hang_lba);
	case OPT_RK_FAULT_SLOT:
		return twin_opts_uint(arg, 1, 4, &o->rk_fault_slot);
	case OPT_RK_CORRUPT:
		return twin_opts_u64(arg, &o->rk_corrupt_lba);
	case OPT_CM4_PAYLOAD:
		if (strcmp(arg, "msd") && strcmp(arg, "gadget") && strcmp(arg, "auto"))
			return -EINVAL;
		o->cm4.payload = !strcmp(arg, "msd") ? TWIN_CM4_MSD :
				 !strcmp(arg, "gadget") ? TWIN_CM4_GADGET : TWIN_CM4_AUTO;
		return 0;
	case OPT_CM4_SERIAL:
		if (strcmp(arg, "0") && strcmp(arg, "3"))
			return -EINVAL;
		o->cm4.rom_serial = (unsigned)(arg[0] - '0');
		return 0;
	case OPT_CM4_ROM:
		return twin_opts_uint(arg, 0, 600000, &o->cm4.rom_ms);
	case OPT_CM4_S2:
		return twin_opts_uint(arg, 0, 600000, &o->cm4.stage2_ms);
	case OPT_CM4_MSD:
		return twin_opts_uint(arg, 1, 600000, &o->cm4.msd_ms);
	case OPT_CM4_SCSI:
		return twin_opts_uint(arg, 0, 600000, &o->cm4.scsi_ms);
	case OPT_CM4_RATE:
		return twin_opts_uint(arg, 1, 100000, &o->cm4.write_rate);
	case OPT_CM4_BOOT:
		return twin_opts_uint(arg, 0, 600000, &o->cm4.boot_ms);
	case OPT_CM4_FAULT:
		if (!strcmp(arg, "no-stage2"))
			o->cm4.faults |= TWIN_CM4_NO_STAGE2;
		else if (!strcmp(arg, "no-msd"))
			o->cm4.faults |= TWIN_CM4_NO_MSD;
		else if (!strcmp(arg, "no-disk"))
			o->cm4.faults |= TWIN_CM4_NO_DISK;
		else if (!strcmp(arg, "no-eeprom"))
			o->cm4.faults |= TWIN_CM4_NO_EEPROM;
		else
			return -EINVAL;
		return 0;
	case OPT_CM4_AUTOMOUNT:
		o->cm4.automount = true;
		return 0;
	case OPT_SIGNAL:
		return twin_signal_parse(o, arg);
	case OPT_SIGNAL_SLOT:
		return twin_opts_uint(arg, 1, 4, &o->sig.slot);
	case OPT_DIE:
		if (strncmp(arg, "event:", 6) || !arg[6])
			return -EINVAL;
		g_free(o->die_event);
		o->die_event = g_strdup(arg + 6);
		return 0;
	case OPT_CM4_READ_RATE:
		return twin_opts_uint(arg, 1, 100000, &o->cm4.read_rate);
	case OPT_OTG_GADGET:
		if (!strcmp(arg, "bound"))
			o->otg_gadget = TWIN_OTG_BOUND;
		else if (!strcmp(arg, "unbound"))
			o->otg_gadget = TWIN_OTG_UNBOUND;
		else if (!strcmp(arg, "none"))
			o->otg_gadget = TWIN_OTG_NONE;
		else
			return -EINVAL;
		return 0;
	case OPT_PEER_CLOCK:
		o->peer_clock = true;
		return 0;
	case OPT_REAL_CLOCK:
		o->real_clock = true;
		return 0;
	}
	return -EINVAL;
}

/* Returns 0, 1 for --help, or -EINVAL after printing why. */
int twin_opts_parse(struct twin_opts *o, int argc, char **argv)
{
	int opt;

	o->rev = TWIN_REV_2_5_1;
	o->eeprom_code = -1;
	o->emmc_size = UINT64_C(32) << 30;
	o->rk_maskrom_ms = 300;
	o->rk_loader_ms = 400;
	o->rk_boot_ms = 2000;
	o->rk_max_sectors = 240;
	o->rk_scsi_ms = 1000;	/* usb-storage's delay_use */
	o->rk_cmd_latency_us = 150;
	o->emmc_write_rate = 60;
	o->usb_turnaround_us = 125;
	o->rk_vanish_after = o->rk_fail_lba = o->rk_fail_read_lba = TWIN_NO_FAULT;
	o->rk_hang_lba = o->rk_corrupt_lba = TWIN_NO_FAULT;
	o->cm4.rom_ms = 500;
	o->cm4.stage2_ms = 300;
	o->cm4.scsi_ms = 1000;	/* usb-storage's delay_use */
	o->cm4.boot_ms = 3000;
	o->holds = g_ptr_array_new_with_free_func(g_free);
	o->fail_sets = g_ptr_array_new_with_free_func(g_free);

	/* "+": stop at the command, whose own options are not ours. */
	while ((opt = getopt_long(argc, argv, "+q", twin_long_opts, NULL)) != -1) {
		if (opt == OPT_HELP)
			return 1;
		if (opt == '?')
			return -EINVAL;	/* getopt has said why */
		if (twin_opts_one(o, opt, optarg)) {
			const struct option *lo = twin_long_opts;

			while (lo->name && lo->val != opt)
				lo++;
			fprintf(stderr, "tp-twin: invalid --%s '%s'\n",
				lo->name ? lo->name : "?", optarg ? optarg : "");
			return -EINVAL;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "tp-twin: no command given\n");
		return -EINVAL;
	}
	if (o->model && o->no_model) {
		fprintf(stderr, "tp-twin: --model and --no-model exclude each other\n");
		return -EINVAL;
	}
	for (unsigned n = 1; n <= TWIN_SLOTS; n++) {
		if (o->on[n] && o->missing_reg[n]) {
			fprintf(stderr, "tp-twin: --on %u needs the regulator that --missing-regulator %u removes\n",
				n, n);
			return -EINVAL;
		}
	}
	/* QEMU's sd-card wants a power of two; its CSD holds at most 2 TiB
	 * (docs/twin.md, "Nodes that boot"). */
	if (o->node_vm && (o->emmc_size & (o->emmc_size - 1) ||
			   o->emmc_size > UINT64_C(2) << 40)) {
		fprintf(stderr, "tp-twin: --node-vm needs an --emmc-size that is a power of two, at most 2T (QEMU's SD card): %" PRIu64 " is not\n",
			o->emmc_size);
		return -EINVAL;
	}
	if (!o->qemu)
		o->qemu = g_strdup("qemu-system-x86_64");
	o->command = argv + optind;
	return 0;
}

void twin_opts_free(struct twin_opts *o)
{
	if (o->holds)
		g_ptr_array_free(o->holds, TRUE);
	if (o->fail_sets)
		g_ptr_array_free(o->fail_sets, TRUE);
	g_free(o->model);
	g_free(o->root_dir);
	g_free(o->timeline_file);
	g_free(o->state_file);
	g_free(o->emmc_dir);
	g_free(o->nvme_dir);
	g_free(o->qemu);
	g_free(o->sig.event);
}

