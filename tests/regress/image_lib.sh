# SPDX-License-Identifier: MIT
# Test images for the tpkit write tests: a small but realistic disk image.
. "$SRCDIR/tests/regress/lib.sh"

for t in sfdisk mkfs.vfat mkfs.ext4 xz zstd bzip2 gzip zip tar cmp; do
	command -v $t >/dev/null || fail "missing tool $t (scripts/install-deps.sh installs it)"
done

# make_disk FILE: 8 MiB: an MBR partition table, a FAT partition with a
# boot-ish file, an ext4 partition filled from a directory, zeros, and a
# stretch of random bytes (from a fixed seed) after the partitions.
make_disk() {
	out=$1
	rm -rf disk.d && mkdir -p disk.d/root/etc disk.d/root/usr/bin
	echo tpkit-test >disk.d/root/etc/hostname
	head -c 400000 /bin/sh >disk.d/root/usr/bin/sh.copy
	seq 1 20000 >disk.d/root/etc/numbers
	truncate -s 8M "$out"
	printf 'label: dos\nstart=2048, size=4096, type=c, bootable\nstart=6144, size=8192, type=83\n' |
		sfdisk -q "$out" || fail "sfdisk"
	mkfs.vfat -C disk.d/fat.img 2048 >/dev/null || fail "mkfs.vfat"
	mkfs.ext4 -q -F -d disk.d/root disk.d/ext.img 4M >/dev/null 2>&1 || fail "mkfs.ext4"
	dd if=disk.d/fat.img of="$out" bs=512 seek=2048 conv=notrunc status=none
	dd if=disk.d/ext.img of="$out" bs=512 seek=6144 conv=notrunc status=none
	# random tail: openssl's keystream from a fixed key is reproducible
	head -c 1048576 /dev/zero | openssl enc -aes-128-ctr -nosalt -K 00 -iv 00 2>/dev/null |
		dd of="$out" bs=512 seek=14336 conv=notrunc status=none
	rm -rf disk.d
}

# first_mib_blank FILE: FILE's first MiB is zeros (or FILE is shorter / absent).
first_mib_blank() {
	[ ! -e "$1" ] && return 0
	head -c 1048576 "$1" | tr -d '\0' | head -c 1 | grep -q . && return 1
	return 0
}
