# SPDX-License-Identifier: MIT
# Shared by the tpkit commission tests (16N_*.test) and bench/commission.sh:
# tiny images the twin's boot loaders start, so that a flash takes little
# time. Needs image_lib.sh (flash_lib.sh) sourced first.

# make_tiny_rk1 OUT.xz: an RK1 image laid out as make_rk1_disk's (GPT, the
# Rockchip ID block at sector 64, p1 CIDATA, p2 the ext4 root) but 10 MiB;
# its extlinux.conf names a kernel that is there, so that the twin's boot
# loader starts the node.
make_tiny_rk1() {
	make_rk1_disk tiny-big.img
	rm -f tiny.img && truncate -s 10M tiny.img
	sfdisk -q tiny.img <<-'SF' || fail "sfdisk"
	label: gpt
	start=2048, size=4096, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7
	start=6144, size=14200, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B
	SF
	dd if=tiny-big.img of=tiny.img bs=512 skip=64 seek=64 count=1984 conv=notrunc status=none
	dd if=tiny-big.img of=tiny.img bs=512 skip=32768 seek=2048 count=4096 conv=notrunc status=none
	rm -rf tiny.d && mkdir -p tiny.d/etc tiny.d/boot/extlinux
	echo KERNEL >tiny.d/boot/vmlinuz
	echo tpkit-rk1 >tiny.d/etc/hostname
	printf 'label l0\n\tkernel /boot/vmlinuz\n\tappend root=LABEL=cloudimg-rootfs\n' \
		>tiny.d/boot/extlinux/extlinux.conf
	# 4 KiB blocks and few inodes: seeding reads and writes the file system
	# through the USB path a block run at a time (seeding.md §2), so fewer,
	# larger blocks make a shorter test.
	mkfs.ext4 -q -F -b 4096 -N 128 -L cloudimg-rootfs -d tiny.d tiny-p2.img 7100K >/dev/null 2>&1 || fail "mkfs.ext4"
	dd if=tiny-p2.img of=tiny.img bs=512 seek=6144 conv=notrunc status=none
	xz -3 -c tiny.img >"$1"
	rm -rf tiny-big.img tiny-p2.img tiny.img tiny.d
}

# make_tiny_cm4 OUT.xz: a CM4 image as make_cm4_disk's (MBR, p1 FAT32
# "system-boot" with config.txt, cmdline.txt and the seed, p2 ext4
# "writable"), 44 MiB (FAT32 needs 65525 clusters), with the kernel and
# initrd its config.txt names, so that the twin's boot loader starts it.
make_tiny_cm4() {
	family_tools
	rm -rf tiny.d && mkdir -p tiny.d/boot tiny.d/root/etc
	rm -f tiny.img && truncate -s 44M tiny.img
	sfdisk -q tiny.img <<-'SF' || fail "sfdisk cm4"
	label: dos
	label-id: 0x4ec8ea38
	start=2048, size=73728, type=c, bootable
	start=75776, size=14336, type=83
	SF
	printf '[all]\nkernel=vmlinuz\ncmdline=cmdline.txt\ninitramfs initrd.img followkernel\n' \
		>tiny.d/boot/config.txt
	echo 'console=serial0,115200 root=LABEL=writable rootfstype=ext4 rootwait' >tiny.d/boot/cmdline.txt
	echo KERNEL-CM4 >tiny.d/boot/vmlinuz
	echo INITRD-CM4 >tiny.d/boot/initrd.img
	family_seed tiny.d/boot
	family_fat tiny.d/fat.img 36864 system-boot 4ec8ea38 tiny.d/boot/config.txt \
		tiny.d/boot/cmdline.txt tiny.d/boot/vmlinuz tiny.d/boot/initrd.img \
		tiny.d/boot/meta-data tiny.d/boot/user-data tiny.d/boot/network-config
	printf 'LABEL=writable\t/\text4\tdefaults\t0 1\n' >tiny.d/root/etc/fstab
	echo tpkit-cm4 >tiny.d/root/etc/hostname
	family_ext4 tiny.d/ext.img 7M writable 5ee0c0de-0002-4a11-8b1d-000000000002 tiny.d/root
	dd if=tiny.d/fat.img of=tiny.img bs=512 seek=2048 conv=notrunc status=none
	dd if=tiny.d/ext.img of=tiny.img bs=512 seek=75776 conv=notrunc status=none
	xz -3 -c tiny.img >"$1"
	rm -rf tiny.img tiny.d
}

# make_stub_helper FILE: an ELF header that passes for a node helper (an
# x86-64 executable, what tpkit checks before seeding it: seeding.md §8).
# Stand-in nodes never run it, and at 64 bytes it takes seeding a few
# blocks where the sanitizer build's helper takes over a MiB.
make_stub_helper() {
	{ printf '\177ELF\002\001\001'; head -c 9 /dev/zero; printf '\002\000\076\000'; head -c 44 /dev/zero; } >"$1"
}
