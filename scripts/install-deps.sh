#!/bin/bash
# SPDX-License-Identifier: MIT
# Install everything tpkit's build and tests need, from Debian 12 only.
# Idempotent: packages already present are skipped by apt, and a sysroot
# that a previous run completed (marked by .done) is reused.
#
# Cross sysroots are made with mmdebstrap --variant=extract, never with
# dpkg --add-architecture (docs/toolchain.md §4.1 says why: a broken foreign
# security index stops apt-get update, and Multi-Arch version skew).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

SYSROOT_BASE=${TPKIT_SYSROOT_BASE:-/opt}
ARCHES=${TPKIT_SYSROOT_ARCHES:-"armel armhf"}

PKGS=(
	build-essential pkg-config make
	libusb-1.0-0-dev libcurl4-openssl-dev libarchive-dev libgpiod-dev libssl-dev
	libcmocka-dev liblzma-dev zlib1g-dev libext2fs-dev
	# tpkit serve: the HTTP(S) server and the JSON reader (docs/serve.md)
	libcivetweb-dev libjson-c-dev
	libglib2.0-dev umockdev libumockdev-dev
	# the twin's configfs for the BMC's USB gadget (docs/twin.md)
	libfuse3-dev fuse3
	crossbuild-essential-armel crossbuild-essential-armhf
	# the node helper, static for the RK1 and CM4 (docs/node-helper.md §7)
	gcc-aarch64-linux-gnu libc6-dev-arm64-cross
	qemu-user mmdebstrap
	kconfig-frontends-nox python3-kconfiglib
	clang libclang-rt-14-dev valgrind
	xz-utils zstd openssl ca-certificates
	gpiod rkdeveloptool
	nginx-light bmap-tools time dosfstools e2fsprogs fdisk zip python3
	openssh-client
	xxd
	# the man pages' and install's test (015): groff reads every page,
	# col strips its overstrikes, strings lists the texts of the program
	groff-base bsdextrautils binutils
	# every --json line of the suite checked against docs/json.schema.json
	python3-jsonschema
	# the twin's nodes that boot (docs/twin.md, "Nodes that boot"), and
	# their test images (docs/nodeimg.md: eatmydata spares dpkg's fsyncs)
	qemu-system-x86 vde2 mtools eatmydata
	# the stock web UI driven against tpkit serve (test 172): Debian's
	# browser, headless, and Node for the puppeteer-core script that drives
	# it (the npm step at the end); the machine image's nodejs does as well
	chromium nodejs
)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "install-deps: installing ${missing[*]}" >&2
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The host's apt sources minus the security paragraph: its foreign-architecture
# index may be broken mid-sync, and mmdebstrap would fail on it.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
	src=$work/nosec.sources
	awk 'BEGIN{RS="";ORS="\n\n"} !/debian-security/' \
		/etc/apt/sources.list.d/debian.sources >"$src"
else
	src=$work/nosec.list
	grep -v -e '^#' -e security /etc/apt/sources.list >"$src"
fi

DEVPKGS=libc6-dev,libusb-1.0-0-dev,libcurl4-openssl-dev,libarchive-dev,libgpiod-dev,libssl-dev,libcmocka-dev,liblzma-dev,zlib1g-dev,libumockdev-dev,umockdev,libglib2.0-dev,libext2fs-dev,libcivetweb-dev,libjson-c-dev

for arch in $ARCHES; do
	sr=$SYSROOT_BASE/tpkit-sysroot-$arch
	# .done holds the package list it was made with: a list that grew
	# makes the sysroot again.
	[ "$(cat "$sr/.done" 2>/dev/null)" = "$DEVPKGS" ] && continue
	echo "install-deps: building $arch sysroot in $sr" >&2
	rm -rf "$sr"
	mmdebstrap --quiet --variant=extract --architectures="$arch" \
		--include="$DEVPKGS" bookworm "$sr" "$src"
	echo "$DEVPKGS" >"$sr/.done"
done

# The node helper's aarch64 sysroot: the C library, libssl-dev for the
# static libcrypto.a its signed report lines link (HMAC-SHA256,
# docs/node-helper.md §7), and cmocka for its unit tests under qemu-aarch64.
NODE_DEVPKGS=libc6-dev,libssl-dev,libcmocka-dev
sr=$SYSROOT_BASE/tpkit-sysroot-arm64
if [ "$(cat "$sr/.done" 2>/dev/null)" != "$NODE_DEVPKGS" ]; then
	echo "install-deps: building arm64 sysroot in $sr" >&2
	rm -rf "$sr"
	mmdebstrap --quiet --variant=extract --architectures=arm64 \
		--include="$NODE_DEVPKGS" bookworm "$sr" "$src"
	echo "$NODE_DEVPKGS" >"$sr/.done"
fi
# Test 172's driver of the web UI: puppeteer-core, an exact version, in a
# directory of its own outside the repository (the test finds it there
# through NODE_PATH). puppeteer-core never downloads a browser (172 uses
# Debian's chromium); PUPPETEER_SKIP_DOWNLOAD says so all the same. npm
# comes with the machine image's nodejs; Debian's nodejs needs Debian's npm.
NPM_PREFIX=${TPKIT_NPM_PREFIX:-/opt/tpkit-npm}
PUPPETEER_CORE=24.43.1
if [ "$(node -p "require('$NPM_PREFIX/node_modules/puppeteer-core/package.json').version" \
	2>/dev/null)" != "$PUPPETEER_CORE" ]; then
	command -v npm >/dev/null || apt-get install -y -q --no-install-recommends npm
	echo "install-deps: installing puppeteer-core $PUPPETEER_CORE in $NPM_PREFIX" >&2
	mkdir -p "$NPM_PREFIX"
	PUPPETEER_SKIP_DOWNLOAD=1 npm install --prefix "$NPM_PREFIX" --no-audit --no-fund \
		--save-exact "puppeteer-core@$PUPPETEER_CORE"
fi
echo "install-deps: done" >&2
