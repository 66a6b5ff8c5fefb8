// SPDX-License-Identifier: MIT
/* rpiboot's file sets (bmc/rpiboot/rpifiles.c, docs/twin.md "CM4 firmware
 * sets"): usbboot's lookup order, members of bootfiles.bin, the set check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef CONFIG_TPKIT_CM4
#include <archive.h>
#include <archive_entry.h>

#include "bmc/rpiboot/rpifiles.h"
#include "common/err.h"

static char root[64];

static void put(const char *rel, const char *text)
{
	char p[256];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* DIR/bootfiles.bin: a ustar with members "name=content" */
static void tar(const char *rel, const char *const *members)
{
	struct archive *a = archive_write_new();
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	archive_write_set_format_ustar(a);
	assert_int_equal(archive_write_open_filename(a, p), ARCHIVE_OK);
	for (; *members; members++) {
		const char *eq = strchr(*members, '=');
		char name[64];
		struct archive_entry *e = archive_entry_new();

		snprintf(name, sizeof(name), "%.*s", (int)(eq - *members), *members);
		archive_entry_set_pathname(e, name);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_size(e, (la_int64_t)strlen(eq + 1));
		archive_write_header(a, e);
		archive_write_data(a, eq + 1, strlen(eq + 1));
		archive_entry_free(e);
	}
	archive_write_close(a);
	archive_write_free(a);
}

/* The content tp_rpi_files_open finds for name, or "" if none. */
static const char *got(const struct tp_rpi_files *f, const char *name)
{
	static char buf[256];
	struct tp_rpi_file rf;
	ssize_t n;

	buf[0] = '\0';
	if (tp_rpi_files_open(f, name, &rf) < 0)
		return buf;
	n = tp_rpi_file_read(&rf, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	tp_rpi_file_close(&rf);
	return buf;
}

static int setup(void **state)
{
	char p[128];

	(void)state;
	snprintf(root, sizeof(root), "/tmp/tpkit-rpifiles.XXXXXX");
	assert_non_null(mkdtemp(root));
	snprintf(p, sizeof(p), "%s/2711", root);
	mkdir(p, 0755);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

static void parse(void **state)
{
	enum tp_rpi_fw fw;

	(void)state;
	assert_int_equal(tp_rpi_fw_parse(NULL, &fw), 0);
	assert_int_equal(fw, TP_RPI_FW_AUTO);
	assert_int_equal(tp_rpi_fw_parse("gadget", &fw), 0);
	assert_int_equal(fw, TP_RPI_FW_GADGET);
	assert_int_equal(tp_rpi_fw_parse("msd", &fw), 0);
	assert_int_equal(fw, TP_RPI_FW_MSD);
	assert_int_equal(tp_rpi_fw_parse("MSD", &fw), -EINVAL);
}

/* usbboot's order: DIR/2711/NAME, 2711/NAME in the archive (any case),
 * DIR/NAME; nothing outside; start.elf for start4.elf only in msd. */
static void lookup(void **state)
{
	static const char *const members[] = {
		"2711/bootcode4.bin=arch-bc4", "2711/MCB.bin=arch-mcb", "2711/config.txt=arch-cfg",
		"2712/bootmain=other-chip", "boot.img=not-in-2711", NULL,
	};
	struct tp_rpi_files f;
	char p[128];

	(void)state;
	tar("bootfiles.bin", members);
	put("config.txt", "dir-cfg");
	put("boot.img", "dir-img");
	put("2711/mcb.bin", "override-mcb");
	put("start.elf", "legacy-start");
	assert_int_equal(tp_rpi_files_check(&f, root, TP_RPI_FW_AUTO, 0x2711), 0);
	assert_int_equal(f.fw, TP_RPI_FW_GADGET);
	assert_string_equal(got(&f, "bootcode4.bin"), "arch-bc4");
	assert_string_equal(got(&f, "mcb.bin"), "override-mcb");   /* DIR/2711 first */
	assert_string_equal(got(&f, "config.txt"), "arch-cfg");    /* archive before DIR */
	assert_string_equal(got(&f, "boot.img"), "dir-img");       /* not 2711/: DIR */
	assert_string_equal(got(&f, "bootmain"), "");              /* 2712's is not ours */
	assert_string_equal(got(&f, "start4.elf"), "");            /* no fallback: gadget */
	assert_string_equal(got(&f, "../etc/passwd"), "");
	/* case-insensitive member names, as usbboot's strcasecmp */
	snprintf(p, sizeof(p), "%s/2711/mcb.bin", root);
	assert_int_equal(unlink(p), 0);
	assert_string_equal(got(&f, "mcb.bin"), "arch-mcb");
}

static void sets(void **state)
{
	static const char *const members[] = { "2711/bootcode4.bin=bc4", NULL };
	struct tp_rpi_files f;

	(void)state;
	/* nothing at all: both sets named, with where they were looked for */
	assert_int_equal(tp_rpi_files_check(&f, root, TP_RPI_FW_AUTO, 0x2711), -ENOENT);
	assert_non_null(strstr(tp_err_msg(), "mass-storage-gadget64 lacks bootfiles.bin, "
				"bootcode4.bin, config.txt, boot.img (looked in"));
	assert_non_null(strstr(tp_err_msg(), "legacy msd lacks bootcode4.bin, start4.elf"));
	/* msd complete (start.elf as start4.elf) */
	put("bootcode4.bin", "legacy-bc4");
	put("start.elf", "legacy-start");
	assert_int_equal(tp_rpi_files_check(&f, root, TP_RPI_FW_AUTO, 0x2711), 0);
	assert_int_equal(f.fw, TP_RPI_FW_MSD);
	assert_string_equal(got(&f, "start4.elf"), "legacy-start");
	assert_string_equal(got(&f, "bootcode4.bin"), "legacy-bc4");
	/* gadget asked for but incomplete: only its files named */
	tar("bootfiles.bin", members);
	assert_int_equal(tp_rpi_files_check(&f, root, TP_RPI_FW_GADGET, 0x2711), -ENOENT);
	assert_non_null(strstr(tp_err_msg(), "lacks config.txt, boot.img (looked in"));
	assert_null(strstr(tp_err_msg(), "start4.elf"));
	/* complete: auto prefers it; msd can still be asked for */
	put("config.txt", "boot_ramdisk=1\n");
	put("boot.img", "img");
	assert_int_equal(tp_rpi_files_check(&f, root, TP_RPI_FW_AUTO, 0x2711), 0);
	assert_int_equal(f.fw, TP_RPI_FW_GADGET);
	assert_string_equal(got(&f, "bootcode4.bin"), "bc4");
	assert_int_equal(tp_rpi_files_check(&f, root, TP_RPI_FW_MSD, 0x2711), 0);
	assert_int_equal(f.fw, TP_RPI_FW_MSD);
	assert_string_equal(got(&f, "bootcode4.bin"), "legacy-bc4");
	/* an empty start4.elf is no firmware */
	put("start4.elf", "");
	assert_int_equal(tp_rpi_files_check(&f, root, TP_RPI_FW_MSD, 0x2711), -ENOENT);
	assert_non_null(strstr(tp_err_msg(), "lacks start4.elf (empty)"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse),
		cmocka_unit_test_setup_teardown(lookup, setup, teardown),
		cmocka_unit_test_setup_teardown(sets, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
#else
int main(void)
{
	return 0; /* CM4 support not configured */
}
#endif
