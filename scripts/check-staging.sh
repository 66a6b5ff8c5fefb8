#!/bin/sh
# SPDX-License-Identifier: MIT
# The Buildroot path, without Buildroot (which no reachable archive has):
# tpkit built for the BMC against a staging directory laid out as
# Buildroot's (scripts/mkstaging.sh, from the armel sysroot), with the
# options board/turingpi2/buildroot/package/tpkit/tpkit.mk passes, then
# installed into a target directory as that package installs it, and run
# under qemu-user. Run by .ci/run.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
sysroot=${TPKIT_SYSROOT_BASE:-/opt}/tpkit-sysroot-armel
work=${TMPDIR:-/tmp}/tpkit-staging
fail() { echo "check-staging: FAIL: $*" >&2; exit 1; }

"$src/scripts/mkstaging.sh" "$sysroot" arm-linux-gnueabi "$work/staging"
[ ! -d "$work/staging/usr/lib/arm-linux-gnueabi" ] || fail "the staging directory has multiarch directories"
make --no-print-directory -C "$src" CROSS_COMPILE=arm-linux-gnueabi- SYSROOT="$work/staging" \
	O="$work/build" MAN_PAGES= -j2 all
rm -rf "$work/target"
make --no-print-directory -C "$src" CROSS_COMPILE=arm-linux-gnueabi- SYSROOT="$work/staging" \
	O="$work/build" MAN_PAGES= DESTDIR="$work/target" PREFIX=/usr install >"$work/install.log"

t=$work/target
for f in usr/bin/tpkit usr/share/tpkit/images.conf usr/share/doc/tpkit/recovery.md \
	etc/init.d/S95tpkit usr/share/bash-completion/completions/tpkit; do
	[ -e "$t/$f" ] || fail "not installed: /$f"
done
# Linked against the staging directory's shared libraries, as on the BMC:
# liblzma and zlib too (the Debian sysroot's absolute .so links made them
# static there by accident; Buildroot's links are relative).
arm-linux-gnueabi-readelf -d "$t/usr/bin/tpkit" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' >"$work/needed"
for l in liblzma.so.5 libz.so.1 libcrypto.so.3 libusb-1.0.so.0 libgpiod.so.2 libarchive.so.13; do
	grep -qx "$l" "$work/needed" || fail "not linked against $l: $(tr '\n' ' ' <"$work/needed")"
done
run() {
	qemu-arm -cpu cortex-a7 "$work/staging/lib/ld-linux.so.3" \
		--library-path "$work/staging/lib:$work/staging/usr/lib" "${BIN:-$t/usr/bin/tpkit}" "$@"
}
run --version | grep -q "^tpkit " || fail "tpkit --version under qemu-arm"
run flash --help | grep -q -- "--xz-memlimit" || fail "tpkit flash --help under qemu-arm"

# The stock-image build (configs/bmc_stock_defconfig): only the libraries
# a stock BMC image has stay shared; liblzma, zlib and libext2fs are in the
# binary, libarchive is not used at all.
make --no-print-directory -C "$src" CROSS_COMPILE=arm-linux-gnueabi- SYSROOT="$work/staging" \
	O="$work/build-stock" DEFCONFIG=bmc_stock_defconfig defconfig >/dev/null
make --no-print-directory -C "$src" CROSS_COMPILE=arm-linux-gnueabi- SYSROOT="$work/staging" \
	O="$work/build-stock" -j2 "$work/build-stock/tpkit"
arm-linux-gnueabi-readelf -d "$work/build-stock/tpkit" |
	sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' >"$work/needed-stock"
for l in libarchive.so.13 liblzma.so.5 libz.so.1 libext2fs.so.2 libcom_err.so.2; do
	! grep -qx "$l" "$work/needed-stock" || fail "the stock-image build needs $l, which that image lacks"
done
for l in libcrypto.so.3 libcurl.so.4 libusb-1.0.so.0 libgpiod.so.2; do
	grep -qx "$l" "$work/needed-stock" || fail "the stock-image build does not use the image's $l"
done
BIN=$work/build-stock/tpkit run --version >/dev/null || fail "stock-image build under qemu-arm"
for b in build build-stock; do
	arm-linux-gnueabi-strip -o "$work/$b.stripped" "$work/$b/tpkit"
done
echo "check-staging: stripped armel sizes: bmc_defconfig (all shared) $(stat -c %s "$work/build.stripped") bytes;" \
	"bmc_stock_defconfig (liblzma, zlib, libext2fs static; no libarchive)" \
	"$(stat -c %s "$work/build-stock.stripped") bytes; shared: $(tr '\n' ' ' <"$work/needed-stock")"

# The BR2_EXTERNAL tree Buildroot would read.
br=$src/board/turingpi2/buildroot
grep -qx "name: TPKIT" "$br/external.desc" || fail "external.desc"
grep -q 'package/tpkit/Config.in' "$br/Config.in" || fail "Config.in does not source the package"
grep -q '^config BR2_PACKAGE_TPKIT$' "$br/package/tpkit/Config.in" || fail "no BR2_PACKAGE_TPKIT"
grep -q '^$(eval $(generic-package))$' "$br/package/tpkit/tpkit.mk" || fail "tpkit.mk is no generic-package"
echo "check-staging: built, installed and ran against a Buildroot-style staging directory ($(stat -c %s "$t/usr/bin/tpkit") bytes unstripped)"
