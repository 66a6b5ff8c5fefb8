#!/bin/bash
# SPDX-License-Identifier: MIT
# Prove a test node image boots, without the twin (nodeimg.md §7):
# take the kernel, initrd and kernel arguments out of the image the way its
# boot loader would find them (extlinux.conf on the RK1 root; cmdline.txt on
# the CM4 boot partition) without mounting anything, boot it under QEMU (TCG)
# from an emulated SD card, wait on the serial console for cloud-init's
# "finished" line and a login prompt, then log in as ubuntu/ubuntu and expect
# the "password expired" demand the default seed asks for.
#
#   boot-check.sh [--layout rk1|cm4|all] [--dir CACHE_DIR] [--timeout SECONDS]
#                 [--keep]
#
# Without --dir, build.sh --print-dir finds (or builds) the images. Exit 0
# only if every asked layout passed; the serial logs are kept on failure or
# with --keep.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
layout=all dir= timeout=900 keep=0
usage() {
	echo "usage: $0 [--layout rk1|cm4|all] [--dir CACHE_DIR] [--timeout SECONDS] [--keep]" >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case $1 in
	--layout) [ $# -ge 2 ] || usage; layout=$2; shift 2 ;;
	--dir) [ $# -ge 2 ] || usage; dir=$2; shift 2 ;;
	--timeout) [ $# -ge 2 ] || usage; timeout=$2; shift 2 ;;
	--keep) keep=1; shift ;;
	*) usage ;;
	esac
done
case $layout in
rk1 | cm4) layouts=$layout ;;
all) layouts="rk1 cm4" ;;
*) usage ;;
esac
for t in qemu-system-x86_64 debugfs mcopy sfdisk xz; do
	command -v "$t" >/dev/null || { echo "boot-check: $t missing" >&2; exit 1; }
done
[ -n "$dir" ] || dir=$("$HERE/build.sh" --layout "$layout" --print-dir)

W=$(mktemp -d "${TMPDIR:-/tmp}/nodeimg-boot.XXXXXX")
cleanup() {
	if [ $keep = 1 ]; then echo "boot-check: logs kept in $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT

say() { echo "boot-check: $*" >&2; }
fail() {
	say "FAIL: $*"
	keep=1
	exit 1
}

# part_start DISK N: byte offset of partition N, read from the table.
part_start() {
	local s
	s=$(sfdisk -d "$1" 2>/dev/null | sed -n "s|^$1$2 *: *start= *\([0-9]*\),.*|\1|p")
	[ -n "$s" ] || fail "no partition $2 in $1"
	echo $((s * 512))
}

check() {
	local l=$1 img=$dir/$1.img.xz disk=$W/$1.disk k=$W/$1.vmlinuz i=$W/$1.initrd cmdline
	[ -f "$img" ] || fail "$img missing"
	(cd "$dir" && sha256sum -c --quiet "$l.img.xz.sha256") || fail "$img: sha256 mismatch"
	xz -dc "$img" | dd of="$disk" bs=1M conv=sparse status=none
	local raw
	raw=$(stat -c %s "$disk")
	# QEMU's sd-card wants a power-of-two size, as the twin's eMMC file is.
	truncate -s 4G "$disk"
	case $l in
	rk1)
		local off conf
		off=$(part_start "$disk" 2)
		conf=$(debugfs -R 'cat /boot/extlinux/extlinux.conf' "$disk?offset=$off" 2>/dev/null)
		# the first entry is the default one u-boot-update writes
		local kpath ipath
		kpath=$(awk '$1 == "linux" { print $2; exit }' <<<"$conf")
		ipath=$(awk '$1 == "initrd" { print $2; exit }' <<<"$conf")
		cmdline=$(awk '$1 == "append" { $1 = ""; sub(/^ /, ""); print; exit }' <<<"$conf")
		[ -n "$kpath" ] && [ -n "$ipath" ] && [ -n "$cmdline" ] ||
			fail "rk1: no linux/initrd/append in extlinux.conf: $conf"
		debugfs -R "dump $kpath $k" "$disk?offset=$off" 2>/dev/null
		debugfs -R "dump $ipath $i" "$disk?offset=$off" 2>/dev/null
		;;
	cm4)
		local off
		off=$(part_start "$disk" 1)
		MTOOLS_SKIP_CHECK=1 mcopy -n -i "$disk@@$off" ::vmlinuz "$k"
		MTOOLS_SKIP_CHECK=1 mcopy -n -i "$disk@@$off" ::initrd.img "$i"
		MTOOLS_SKIP_CHECK=1 mcopy -n -i "$disk@@$off" ::cmdline.txt "$W/cmdline.txt"
		cmdline=$(head -n 1 "$W/cmdline.txt")
		;;
	esac
	[ -s "$k" ] && [ -s "$i" ] || fail "$l: kernel or initrd not found in the image"
	say "$l: raw $raw bytes; booting with: $cmdline"

	rm -f "$W/ser.in" "$W/ser.out"
	mkfifo "$W/ser.in" "$W/ser.out"
	python3 "$HERE/serial_login.py" --log "$W/$l.serial.log" --timeout "$timeout" --layout "$l" \
		--fifo "$W/ser" -- qemu-system-x86_64 -machine q35 -accel tcg -m 1024 -smp 1 \
		-nodefaults -display none -no-reboot -serial "pipe:$W/ser" \
		-kernel "$k" -initrd "$i" -append "$cmdline" \
		-device sdhci-pci -device sd-card,drive=sd \
		-drive if=none,id=sd,file="$disk",format=raw \
		-netdev user,id=n0 -device virtio-net-pci,netdev=n0 ||
		fail "$l: see $W/$l.serial.log"
	rm -f "$disk"
}

for l in $layouts; do
	check "$l"
done
