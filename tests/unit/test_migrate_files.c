// SPDX-License-Identifier: MIT
/*
 * The migration's pure rewrites (docs/node-helper.md §15): the NVMe root's
 * fstab and /etc/default/u-boot byte for byte, GUID text back to its
 * on-disk bytes, the ext4 label read from a superblock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "common/err.h"
#include "common/parttable.h"
#include "node/migrate.h"

#define NEW "0f0e0d0c-0b0a-4908-8706-050403020100"

static void fstab_image(void **state)
{
	/* The RK1 test image's fstab (nodeimg.md §3) with two lines mounting
	 * the eMMC seed (commented out: it is blanked, the NVMe's is empty),
	 * a tmpfs and no final newline. */
	const char *in = "# <file system> <mount point>   <type>  <options>       <dump>  <pass>\n"
			 "UUID=0b5e0000-1111-4222-8333-444455556666\t/\text4\tdefaults,x-systemd.growfs\t0 1\n"
			 "\n"
			 "   PARTUUID=aaaaaaaa-0000-4000-8000-000000000001  /mnt/seed  vfat ro 0 0\n"
			 "/dev/mmcblk0p1 /boot/firmware vfat defaults 0 0\n"
			 "tmpfs /tmp tmpfs defaults 0 0";
	const char *names[] = { "/dev/mmcblk0p1", "PARTUUID=aaaaaaaa-0000-4000-8000-000000000001",
				NULL };
	char out[1024];

	(void)state;
	assert_int_equal(tp_migrate_fstab(in, NEW, names, out, sizeof(out)), 0);
	assert_string_equal(out,
			    "# <file system> <mount point>   <type>  <options>       <dump>  <pass>\n"
			    "UUID=" NEW "\t/\text4\tdefaults,x-systemd.growfs\t0 1\n"
			    "\n"
			    "# tpkit-node: the eMMC seed is blanked:    PARTUUID=aaaaaaaa-0000-4000-8000-000000000001  /mnt/seed  vfat ro 0 0\n"
			    "# tpkit-node: the eMMC seed is blanked: /dev/mmcblk0p1 /boot/firmware vfat defaults 0 0\n"
			    "tmpfs /tmp tmpfs defaults 0 0");
	/* Without seed names only the root line changes. */
	assert_int_equal(tp_migrate_fstab("LABEL=cloudimg-rootfs / ext4 defaults 0 1\n"
					  "/dev/mmcblk0p1 /boot/firmware vfat defaults 0 0\n",
					  NEW, NULL, out, sizeof(out)), 0);
	assert_string_equal(out, "UUID=" NEW " / ext4 defaults 0 1\n"
				 "/dev/mmcblk0p1 /boot/firmware vfat defaults 0 0\n");
}

static void fstab_refusals(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(tp_migrate_fstab("# / commented\ntmpfs /tmp tmpfs defaults 0 0\n", NEW,
					  NULL, out, sizeof(out)), -EINVAL);
	assert_string_equal(tp_err_msg(), "fstab has no line that mounts /");
	/* "/boot" is not "/" */
	assert_int_equal(tp_migrate_fstab("/dev/x /boot ext4 defaults 0 2\n", NEW, NULL, out,
					  sizeof(out)), -EINVAL);
	assert_int_equal(tp_migrate_fstab("UUID=x / ext4 defaults,x-systemd.growfs 0 1\n", NEW,
					  NULL, out, 40), -ENOSPC);
}

static void uboot_default(void **state)
{
	char out[512];

	(void)state;
	assert_int_equal(tp_migrate_uboot_default(
				 "## /etc/default/u-boot\n"
				 "U_BOOT_ROOT=\"root=UUID=0b5e0000-1111-4222-8333-444455556666\"\n"
				 "#U_BOOT_ROOT=\"root=/dev/sda1\"\n"
				 "U_BOOT_PARAMETERS=\"rootwait rw console=ttyS0,115200\"",
				 NEW, out, sizeof(out)), 0);
	assert_string_equal(out, "## /etc/default/u-boot\n"
				 "U_BOOT_ROOT=\"root=UUID=" NEW "\"\n"
				 "#U_BOOT_ROOT=\"root=/dev/sda1\"\n"
				 "U_BOOT_PARAMETERS=\"rootwait rw console=ttyS0,115200\"\n");
	/* None set (or no file): one is added, as u-boot-update would
	 * otherwise take the root from fstab or the running kernel's. */
	assert_int_equal(tp_migrate_uboot_default("", NEW, out, sizeof(out)), 0);
	assert_string_equal(out, "U_BOOT_ROOT=\"root=UUID=" NEW "\"\n");
	assert_int_equal(tp_migrate_uboot_default("  export U_BOOT_ROOT=root=/dev/mmcblk0p2\n", NEW,
						  out, sizeof(out)), 0);
	assert_string_equal(out, "U_BOOT_ROOT=\"root=UUID=" NEW "\"\n");
	assert_int_equal(tp_migrate_uboot_default("", NEW, out, 20), -ENOSPC);
}

static void guid_parse(void **state)
{
	const char *text = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B";
	const uint8_t bytes[16] = { 0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11,
				    0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b };
	uint8_t g[16];
	char back[37];

	(void)state;
	assert_int_equal(tp_guid_parse(text, g), 0);
	assert_memory_equal(g, bytes, 16);
	tp_guid_format(g, back);
	assert_string_equal(back, text);
	assert_int_equal(tp_guid_parse("c12a7328-f81f-11d2-ba4b-00a0c93ec93b", g), 0);
	assert_memory_equal(g, bytes, 16);
	assert_int_equal(tp_guid_parse("C12A7328-F81F-11D2-BA4B-00A0C93EC93", g), -EINVAL);
	assert_int_equal(tp_guid_parse("C12A7328F-81F-11D2-BA4B-00A0C93EC93B", g), -EINVAL);
	assert_int_equal(tp_guid_parse("C12A7328-F81F-11D2-BA4B-00A0C93EC9XB", g), -EINVAL);
}

static void ext4_label(void **state)
{
	uint8_t sb[1024] = { 0 };
	char label[17];

	(void)state;
	assert_int_equal(tp_ext4_label(sb, label), -EINVAL);
	sb[0x38] = 0x53;
	sb[0x39] = 0xef;
	memcpy(sb + 0x78, "cloudimg-rootfs", 15);
	assert_int_equal(tp_ext4_label(sb, label), 0);
	assert_string_equal(label, "cloudimg-rootfs");
	/* 16 bytes, no NUL on disk */
	memcpy(sb + 0x78, "0123456789abcdef", 16);
	assert_int_equal(tp_ext4_label(sb, label), 0);
	assert_string_equal(label, "0123456789abcdef");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fstab_image),
		cmocka_unit_test(fstab_refusals),
		cmocka_unit_test(uboot_default),
		cmocka_unit_test(guid_parse),
		cmocka_unit_test(ext4_label),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
