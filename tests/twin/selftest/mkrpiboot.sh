#!/bin/bash
# SPDX-License-Identifier: MIT
# Make a set of synthetic rpiboot files for tests (docs/twin.md, "Simulated
# CM4"). The real ones are Raspberry Pi binaries that cannot be shipped; the
# twin's CM4 only checks sizes against what the host announces, and that
# config.txt says boot_ramdisk=1, so patterned files of the real sizes do.
#
# usage: mkrpiboot.sh DIR [msd|gadget|both]
#   msd:    DIR/bootcode4.bin (105,984 B) + DIR/start4.elf (301,628 B),
#           the sizes rustpiboot embeds (protocols.md §7.5)
#   gadget: DIR/bootcode4.bin, DIR/config.txt (boot_ramdisk=1,
#           uart_2ndstage=1), DIR/boot.img (4 MiB + 512 B: "more than
#           4 MiB", §7.5), DIR/bootfiles.bin (a tar with 2711/bootcode4.bin,
#           as usbboot's archive holds it)
# Every file's content is a pattern seeded by its name, so a byte delivered
# from the wrong file or offset would show in a checksum.
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

pat "$dir/bootcode4.bin" 105984
if [ "$what" != gadget ]; then
	pat "$dir/start4.elf" 301628
fi
if [ "$what" != msd ]; then
	printf 'boot_ramdisk=1\nuart_2ndstage=1\n' >"$dir/config.txt"
	pat "$dir/boot.img" $((4 * 1024 * 1024 + 512))
	tmp=$(mktemp -d)
	mkdir "$tmp/2711"
	cp "$dir/bootcode4.bin" "$tmp/2711/"
	tar -C "$tmp" -cf "$dir/bootfiles.bin" 2711
	rm -rf "$tmp"
fi
