// SPDX-License-Identifier: MIT
/*
 * Which Turing Pi 2 is this? (hardware.md §2.) The device tree is what the
 * running kernel uses, so it decides the GPIO layout; the EEPROM only tells
 * v2.5.1 from v2.5.2 (same DTB) and stands in when there is no DT model.
 */
#include "board.h"
#include "common/crc32.h"
#include "common/err.h"
#include "common/log.h"
#include "common/path.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>

#define EEPROM_DIR "/sys/bus/i2c/devices"

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void copy_field(char *dst, const uint8_t *src, size_t len)
{
	size_t i;

	for (i = 0; i < len && src[i] && src[i] != 0xFF; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7F) ? (char)src[i] : '?';
	dst[i] = '\0';
}

int tp_eeprom_parse(const uint8_t *buf, size_t len, struct tp_eeprom_info *out)
{
	memset(out, 0, sizeof(*out));
	if (len < TP_EEPROM_INFO_LEN)
		return tp_err_set(-EINVAL, "EEPROM board-info block is %zu bytes, expected %d",
				  len, TP_EEPROM_INFO_LEN);
	out->crc_stored = be32(buf + 0x02);
	out->hdr_version = le16(buf + 0x06);
	out->hw_version = le16(buf + 0x08);
	copy_field(out->serial, buf + 0x0C, 16);
	copy_field(out->product, buf + 0x1C, 16);
	memcpy(out->mac, buf + 0x2C, 6);
	/*
	 * Two writers disagree on what the CRC covers (§2.3): bmcd's board_info
	 * covers 0x06-0x31 (44 bytes), U-Boot's burn_eeprom 0x06-0x1F (26). A
	 * block that matches either was written by a known tool.
	 */
	out->crc_bmcd = tp_crc32(buf + 0x06, 44);
	if (out->crc_bmcd == out->crc_stored)
		out->crc_coverage = 44;
	else if (tp_crc32(buf + 0x06, 26) == out->crc_stored)
		out->crc_coverage = 26;
	out->valid = out->crc_coverage != 0;
	return 0;
}

enum tp_rev tp_rev_from_model(const char *model)
{
	if (!model || !strstr(model, "Turing Pi 2"))
		return TP_REV_UNKNOWN;
	/* Test the longer tag first: "v2.5.1" contains "v2.5" (§2.4). */
	if (strstr(model, "v2.5.1"))
		return TP_REV_2_5_1;
	if (strstr(model, "v2.5"))
		return TP_REV_2_5;
	if (strstr(model, "v2.4"))
		return TP_REV_2_4;
	return TP_REV_UNKNOWN;
}

enum tp_rev tp_rev_from_hw_code(uint16_t code)
{
	for (enum tp_rev r = TP_REV_2_4; r <= TP_REV_2_5_2; r++)
		if (tp_board_desc_get(r)->hw_code == code)
			return r;
	return TP_REV_UNKNOWN;
}

/* bmcd takes the first i2c device with an eeprom file; so do we, in name order
 * so that the choice does not depend on directory order. */
static int eeprom_find(char *rel, size_t size)
{
	char dir[TP_PATH_MAX], best[256] = "";
	struct dirent *de;
	DIR *d;
	int rc;

	rc = tp_path(dir, sizeof(dir), EEPROM_DIR);
	if (rc < 0)
		return rc;
	d = opendir(dir);
	if (!d)
		return -ENOENT;
	while ((de = readdir(d))) {
		char probe[TP_PATH_MAX];
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		if (best[0] && strcmp(de->d_name, best) >= 0)
			continue;
		snprintf(probe, sizeof(probe), "%s/%s/eeprom", dir, de->d_name);
		f = fopen(probe, "rb");
		if (!f)
			continue;
		fclose(f);
		snprintf(best, sizeof(best), "%s", de->d_name);
	}
	closedir(d);
	if (!best[0])
		return -ENOENT;
	snprintf(rel, size, EEPROM_DIR "/%s/eeprom", best);
	return 0;
}

static void read_eeprom(struct tp_board_id *id)
{
	uint8_t buf[257];
	ssize_t n;

	if (eeprom_find(id->eeprom_path, sizeof(id->eeprom_path)) < 0)
		return;
	n = tp_file_read(id->eeprom_path, buf, sizeof(buf));
	if (n < 0) {
		TP_DBG("%s", tp_err_msg());
		return;
	}
	if (tp_eeprom_parse(buf, (size_t)n, &id->eeprom) < 0) {
		TP_DBG("%s: %s", id->eeprom_path, tp_err_msg());
		return;
	}
	id->have_eeprom = true;
}

static void read_model(struct tp_board_id *id)
{
	ssize_t n = tp_file_read("/proc/device-tree/model", id->model, sizeof(id->model));

	/* The property is NUL-terminated; tp_file_read stops nowhere, so the
	 * string simply ends at the first NUL. */
	if (n < 0)
		id->model[0] = '\0';
}

/* Do two revisions drive their lines differently? One device tree, one
 * set of lines (v2.5.2 boots v2.5.1's; v2.5.1 swaps slots 2 and 3 of
 * v2.5's, hardware.md §1). */
static bool lines_differ(enum tp_rev a, enum tp_rev b)
{
	const char *ma = tp_board_desc_get(a)->dt_model, *mb = tp_board_desc_get(b)->dt_model;

	return ma && mb && strcmp(ma, mb);
}

int tp_board_detect(const char *override, struct tp_board_id *id)
{
	enum tp_rev dt, ee = TP_REV_UNKNOWN, seen;

	memset(id, 0, sizeof(*id));
	read_model(id);
	read_eeprom(id);
	if (id->have_eeprom && id->eeprom.valid)
		ee = tp_rev_from_hw_code(id->eeprom.hw_version);
	dt = tp_rev_from_model(id->model);

	if (override) {
		id->rev = tp_rev_parse(override);
		if (id->rev == TP_REV_UNKNOWN)
			return tp_err_set(-EINVAL,
					  "unknown board revision \"%s\"; use 2.4, 2.5, 2.5.1 or 2.5.2",
					  override);
		id->source = "override";
		/* Insisting is allowed (a board whose device tree lies), but a
		 * revision whose lines differ from what the kernel runs would
		 * drive the wrong pins: say so. */
		seen = dt != TP_REV_UNKNOWN ? dt : ee;
		if (seen != TP_REV_UNKNOWN && lines_differ(seen, id->rev))
			snprintf(id->warning, sizeof(id->warning),
				 "--board-rev %s, but the %s says %s: using %s's lines as asked; "
				 "on the wrong board they switch the wrong nodes",
				 override, dt != TP_REV_UNKNOWN ? "device tree" : "EEPROM",
				 tp_board_desc_get(seen)->name, tp_board_desc_get(id->rev)->name);
		return 0;
	}

	if (dt != TP_REV_UNKNOWN) {
		id->rev = dt;
		id->source = "device-tree";
		if (dt == TP_REV_2_5_1 && ee == TP_REV_2_5_2)
			id->rev = TP_REV_2_5_2;
		else if (ee != TP_REV_UNKNOWN && lines_differ(ee, dt))
			snprintf(id->warning, sizeof(id->warning),
				 "device tree says %s but the EEPROM says %s (hw_version 0x%04x); "
				 "using the device tree, which the kernel runs",
				 tp_board_desc_get(dt)->name, tp_board_desc_get(ee)->name,
				 id->eeprom.hw_version);
		return 0;
	}

	if (ee != TP_REV_UNKNOWN) {
		id->rev = ee;
		id->source = "eeprom";
		return 0;
	}

	if (id->have_eeprom && !id->eeprom.valid)
		return tp_err_set(-ENODEV,
				  "unknown board: %s is \"%s\" and the EEPROM board-info block at %s "
				  "fails its CRC (stored 0x%08x); if this is a Turing Pi 2, pass "
				  "--board-rev 2.4|2.5|2.5.1|2.5.2",
				  "/proc/device-tree/model", id->model[0] ? id->model : "(missing)",
				  id->eeprom_path, id->eeprom.crc_stored);
	if (id->have_eeprom)
		return tp_err_set(-ENODEV,
				  "unknown board: %s is \"%s\" and the EEPROM at %s has hw_version "
				  "0x%04x, which is no known Turing Pi 2 revision; pass --board-rev "
				  "2.4|2.5|2.5.1|2.5.2 if this is one",
				  "/proc/device-tree/model", id->model[0] ? id->model : "(missing)",
				  id->eeprom_path, id->eeprom.hw_version);
	return tp_err_set(-ENODEV,
			  "unknown board: %s is \"%s\" and no EEPROM was found under %s; tpkit "
			  "runs on a Turing Pi 2 BMC (pass --board-rev 2.4|2.5|2.5.1|2.5.2 to "
			  "insist)",
			  "/proc/device-tree/model", id->model[0] ? id->model : "(missing)",
			  EEPROM_DIR);
}
