#!/bin/bash
# SPDX-License-Identifier: MIT
# Make a set of synthetic rpiboot files for tests (docs/twin.md, "Simulated
# CM4"). The real ones are Raspberry Pi binaries that cannot be shipped; the
# twin's CM4 only checks sizes against what the host announces, and that
# config.txt says boot_ramdisk=1, so patterned files of the real sizes do.
#
# usage: mkrpiboot.sh DIR [msd|gadget|both]
#   msd:    DIR/bootcode4.bin (105,984 B, the size of usbboot's
#           msd/bootcode4.bin) + DIR/start4.elf (301,628 B)
#   gadget: what usbboot's mass-storage-gadget64/ holds: DIR/bootfiles.bin,
#           a tar whose 2711/ folder has the real archive's members in its
#           order and sizes (bootcode4.bin 73,120 B, mcb.bin, memsys00-08.bin,
#           bootmain, logo.bin, font.bin), DIR/config.txt (boot_ramdisk=1,
#           uart_2ndstage=1) and DIR/boot.img (4 MiB + 512 B: "more than
#           4 MiB", protocols.md §7.5); no top-level bootcode4.bin
#   both:   the two sets in one directory
set -eu
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	echo "usage: $0 DIR [msd|gadget|both]" >&2
	exit 2
fi
dir=$1
what=${2:-both}
case $what in msd|gadget|both) ;; *) echo "$0: msd, gadget or both" >&2; exit 2 ;; esac
mkdir -p "$dir"

pat() { # pat FILE SIZE
	python3 -c 'import sys, hashlib
n = int(sys.argv[2]); seed = hashlib.sha256(sys.argv[1].encode()).digest()
blk = hashlib.sha256(seed).digest() * 2048
out = (blk * (n // len(blk) + 1))[:n]
open(sys.argv[1], "wb").write(out)' "$1" "$2"
}

if [ "$what" != gadget ]; then
	pat "$dir/bootcode4.bin" 105984
	pat "$dir/start4.elf" 301628
fi
if [ "$what" != msd ]; then
	printf 'boot_ramdisk=1\nuart_2ndstage=1\n' >"$dir/config.txt"
	pat "$dir/boot.img" $((4 * 1024 * 1024 + 512))
	tmp=$(mktemp -d)
	mkdir "$tmp/2711"
	members=()
	# name:size, in the order of usbboot's bootfiles.bin (tar tv)
	for m in mcb.bin:11696 memsys01.bin:20492 memsys06.bin:20492 memsys08.bin:20492 \
		 bootmain:265712 logo.bin:12844 memsys07.bin:20492 memsys00.bin:20492 \
		 memsys03.bin:20492 memsys04.bin:20492 bootcode4.bin:73120 font.bin:27404 \
		 memsys05.bin:20492 memsys02.bin:20492; do
		pat "$tmp/2711/${m%%:*}" "${m#*:}"
		members+=("2711/${m%%:*}")
	done
	tar -C "$tmp" --no-recursion --format=ustar -cf "$dir/bootfiles.bin" 2711 "${members[@]}"
	rm -rf "$tmp"
fi
