// SPDX-License-Identifier: MIT
/*
 * The RK1's eMMC: one sparse backing file per slot, and what the module
 * does with it when it boots without the maskrom strap (docs/twin.md,
 * "Simulated RK1").
 *
 * The file is <--emmc-dir>/slotN.emmc, or <root>/emmc/slotN.emmc (removed
 * with a temporary root). An existing file keeps its content, so a test can
 * prepare an eMMC or look at one afterwards; its size is set to
 * --emmc-size. Sectors are 512 bytes (protocols.md §5.5).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "twin_usb.h"

#define TWIN_SECTOR	512u

int twin_emmc_open(struct twin *t, unsigned slot)
{
	/* Absolute: a CM4's /dev/sdX in the fake root links to the file. */
	char *dir = t->opt.emmc_dir ? g_canonicalize_filename(t->opt.emmc_dir, NULL) :
				      g_build_filename(t->root, "emmc", NULL);
	char name[16];
	struct stat st;
	int fd, rc = 0;

	snprintf(name, sizeof(name), "slot%u.emmc", slot);
	t->emmc_path[slot] = g_build_filename(dir, name, NULL);
	if (g_mkdir_with_parents(dir, 0755)) {
		rc = -errno;
		goto out;
	}
	fd = open(t->emmc_path[slot], O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	t->emmc_fd[slot] = fd;
	/* ftruncate makes a hole: 32 GiB cost nothing until written. */
	if (fstat(fd, &st) || ((uint64_t)st.st_size != t->opt.emmc_size &&
			       ftruncate(fd, (off_t)t->opt.emmc_size)))
		rc = -errno;
out:
	if (rc)
		fprintf(stderr, "tp-twin: eMMC %s: %s\n", t->emmc_path[slot],
			g_strerror(-rc));
	g_free(dir);
	return rc;
}

uint64_t twin_emmc_sectors(struct twin *t, unsigned slot)
{
	(void)slot;
	return t->opt.emmc_size / TWIN_SECTOR;
}

/* The caller has checked LBA and count against the capacity. */
int twin_emmc_rw(struct twin *t, unsigned slot, bool write, uint64_t lba,
		 void *buf, size_t sectors)
{
	size_t len = sectors * TWIN_SECTOR, done = 0;
	off_t off = (off_t)(lba * TWIN_SECTOR);

	while (done < len) {
		ssize_t n = write ?
			pwrite(t->emmc_fd[slot], (char *)buf + done, len - done, off + (off_t)done) :
			pread(t->emmc_fd[slot], (char *)buf + done, len - done, off + (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0) {		/* past the end of a short file: zeros */
			memset((char *)buf + done, 0, len - done);
			break;
		}
		done += (size_t)n;
	}
	return 0;
}

/* An erased eMMC range reads back as zeros here (ERASE_LBA, §5.3). */
int twin_emmc_erase(struct twin *t, unsigned slot, uint64_t lba,
		    uint64_t sectors)
{
	if (!sectors)
		return 0;
	if (fallocate(t->emmc_fd[slot], FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)(lba * TWIN_SECTOR), (off_t)(sectors * TWIN_SECTOR)) == 0)
		return 0;
	{
		static const char zero[TWIN_SECTOR * 64];

		for (uint64_t s = 0; s < sectors; s += 64) {
			size_t n = sectors - s < 64 ? (size_t)(sectors - s) : 64;
			int rc = twin_emmc_rw(t, slot, true, lba + s, (void *)zero, n);

			if (rc)
				return rc;
		}
	}
	return 0;
}

/* protocols.md §3.4: the cipher and key of the legacy ID block header.
 * The twin's own, not common/rkrc4.c: a twin that shared the client's code
 * would agree with its mistakes. */
static void twin_rc4(uint8_t *buf, size_t len)
{
	static const uint8_t key[16] = { 0x7c, 0x4e, 0x03, 0x04, 0x55, 0x05, 0x09, 0x07,
					 0x2d, 0x2c, 0x7b, 0x38, 0x17, 0x0d, 0x17, 0x11 };
	uint8_t st[256], x;
	unsigned i, j = 0;

	for (i = 0; i < 256; i++)
		st[i] = (uint8_t)i;
	for (i = 0; i < 256; i++) {
		j = (j + st[i] + key[i % sizeof(key)]) & 0xff;
		x = st[i], st[i] = st[j], st[j] = x;
	}
	i = j = 0;
	for (size_t n = 0; n < len; n++) {
		i = (i + 1) & 0xff;
		j = (j + st[i]) & 0xff;
		x = st[i], st[i] = st[j], st[j] = x;
		buf[n] ^= st[(st[i] + st[j]) & 0xff];
	}
}

/*
 * What the RK3588 boot ROM looks for on the eMMC before anything else
 * (docs/twin.md, "Simulated RK1"): an ID block header at sector 64, the
 * plain "RKNS" or "RRNS" tag, or the legacy header whose sector,
 * RC4-deciphered, starts with 0x0FF0AA55. The tag found, or NULL: then the
 * ROM has no loader to start.
 */
const char *twin_emmc_idblock(struct twin *t, unsigned slot)
{
	uint8_t s[TWIN_SECTOR];

	if (twin_emmc_rw(t, slot, false, 64, s, 1))
		return NULL;
	if (!memcmp(s, "RKNS", 4))
		return "RKNS";
	if (!memcmp(s, "RRNS", 4))
		return "RRNS";
	twin_rc4(s, sizeof(s));
	if (s[0] == 0x55 && s[1] == 0xaa && s[2] == 0xf0 && s[3] == 0x0f)
		return "legacy";
	return NULL;
}

/* What U-Boot needs to go on: an MBR with the 0x55AA signature and a
 * non-empty partition entry, or a GPT header at LBA 1. */
static const char *twin_emmc_table(struct twin *t, unsigned slot)
{
	uint8_t s[2 * TWIN_SECTOR];

	if (twin_emmc_rw(t, slot, false, 0, s, 2))
		return NULL;
	if (!memcmp(s + TWIN_SECTOR, "EFI PART", 8))
		return "GPT";
	if (s[510] != 0x55 || s[511] != 0xaa)
		return NULL;
	for (unsigned i = 0; i < 4; i++) {
		const uint8_t *e = s + 446 + 16 * i;
		uint32_t count = e[12] | e[13] << 8 | e[14] << 16 | (uint32_t)e[15] << 24;

		if (e[4] && count)
			return "MBR";
	}
	return NULL;
}

static int twin_emmc_uart(struct twin *t, unsigned slot, const char *text)
{
	char rel[32];
	char *path;
	FILE *f;
	int rc = 0;

	snprintf(rel, sizeof(rel), "dev/ttyS%u", slot);
	path = g_build_filename(t->root, rel, NULL);
	f = fopen(path, "a");
	if (!f || fputs(text, f) < 0)
		rc = -errno;
	if (f && fclose(f))
		rc = -errno;
	g_free(path);
	return rc;
}

/*
 * The boot ROM found no strap and went on to the eMMC: the verdict comes
 * on the node's UART (dev/ttyS<N> in the fake root, appended) and as a
 * `boot` timeline event.
 */
int twin_emmc_boot(struct twin *t, unsigned slot)
{
	const char *table = twin_emmc_table(t, slot);
	char subject[16], note[64];
	char *text, *greet = NULL;
	int rc;

	if (t->opt.node_vm)	/* a real boot (docs/twin.md, "Nodes that boot") */
		return twin_node_boot(t, slot);
	snprintf(subject, sizeof(subject), "slot%u", slot);
	if (t->opt.module[slot] == TWIN_MOD_CM4) {	/* BCM2711 EEPROM bootloader */
		greet = table ? twin_getty_greeting(t, slot, "ttyS0") : NULL;
		text = g_strdup_printf(
			"\nRPi: BOOTLOADER release (tp-twin BCM2711)\n"
			"Boot mode: SD (01) order f41\n%s%s", table ?
			"Partition table found\nStarting start4.elf ...\n\n" :
			"Failed to open device: 'sdcard' (no valid partition table)\n"
			"Boot mode: RESTART (0f)\n", greet ? greet : "");
		snprintf(note, sizeof(note), "%s", table ? table : "no partition table");
	} else if (table) {
		greet = twin_getty_greeting(t, slot, "ttyS9");
		text = g_strdup_printf(
			"\nU-Boot 2017.09 (tp-twin RK3588)\n"
			"Model: Turing Machines RK1\n"
			"MMC:   mmc@fe2e0000: 0\n"
			"Booting from eMMC: %s partition table found\n"
			"Starting kernel ...\n\n%s", table, greet);
		snprintf(note, sizeof(note), "%s", table);
	} else {
		text = g_strdup(
			"\nU-Boot 2017.09 (tp-twin RK3588)\n"
			"Model: Turing Machines RK1\n"
			"MMC:   mmc@fe2e0000: 0\n"
			"Booting from eMMC: no valid partition table\n"
			"## Boot failed: no bootable device\n"
			"=> ");
		snprintf(note, sizeof(note), "no partition table");
	}
	twin_timeline_add(t, "boot", subject, "emmc", table ? "ok" : "fail", note);
	rc = twin_emmc_uart(t, slot, text);
	g_free(text);
	g_free(greet);
	if (rc)
		fprintf(stderr, "tp-twin: UART of slot %u: %s\n", slot, g_strerror(-rc));
	return rc;
}

void twin_emmc_close(struct twin *t)
{
	for (unsigned n = 1; n <= TWIN_SLOTS; n++) {
		if (t->emmc_fd[n] >= 0)
			close(t->emmc_fd[n]);
		t->emmc_fd[n] = -1;
		g_free(t->emmc_path[n]);
		t->emmc_path[n] = NULL;
	}
}
