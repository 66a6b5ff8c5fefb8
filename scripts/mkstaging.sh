#!/bin/sh
# SPDX-License-Identifier: MIT
# A Buildroot-style staging directory made from a Debian multiarch sysroot,
# so the Makefile's Buildroot path (board/turingpi2/buildroot/) is built in
# CI without Buildroot: libraries in /lib and /usr/lib (no <multiarch>/),
# pkg-config files in /usr/lib/pkgconfig with libdir=${prefix}/lib, linker
# scripts naming those places, and library links that resolve on the build
# machine (to the sysroot's files, as Buildroot's relative links do inside
# its staging directory). Headers are the sysroot's (linked, not copied).
#   scripts/mkstaging.sh SYSROOT MULTIARCH OUT
set -eu
sysroot=$1 ma=$2 out=$3
rm -rf "$out"
mkdir -p "$out/lib" "$out/usr/lib/pkgconfig" "$out/usr/share"
ln -s "$sysroot/usr/include" "$out/usr/include"
[ ! -d "$sysroot/usr/share/pkgconfig" ] || ln -s "$sysroot/usr/share/pkgconfig" "$out/usr/share/pkgconfig"

# place DIR TO: every file of DIR into TO. A link is made to what it points
# at inside the sysroot (Debian's .so links are absolute, meaning the
# target's /lib; a linker given --sysroot would not follow them there);
# a linker script gets the flat paths.
place() {
	for f in "$1"/*; do
		n=${f##*/}
		[ "$n" != pkgconfig ] || continue
		[ ! -d "$f" ] || [ -L "$f" ] || continue
		if [ -L "$f" ]; then
			t=$(readlink "$f")
			case $t in /*) t=$sysroot$t ;; *) t=$1/$t ;; esac
			ln -sf "$t" "$2/$n"
		elif head -c 64 "$f" | grep -q "GNU ld script"; then
			sed "s|/$ma/|/|g" "$f" >"$2/$n"
		else
			ln -s "$f" "$2/$n"
		fi
	done
}
place "$sysroot/lib/$ma" "$out/lib"
place "$sysroot/usr/lib/$ma" "$out/usr/lib"
for pc in "$sysroot/usr/lib/$ma/pkgconfig"/*.pc; do
	sed "s|/lib/$ma|/lib|g" "$pc" >"$out/usr/lib/pkgconfig/${pc##*/}"
done
