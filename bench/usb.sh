#!/bin/bash
# SPDX-License-Identifier: MIT
# USB benchmark on the board twin's timing model (docs/twin.md, "USB timing
# model"; docs/performance.md, "RK1 over USB"): simulated seconds to write
# 256 MiB to the twin's RK1, tpkit flash (queued WRITE_LBA commands) at 128
# sectors per command (what rkdeveloptool and rockchiprs send) and at 240
# (TP_ROCKUSB_SECTORS_MAX, the most the RK3588 usbplug is known to take,
# tpkit's default), against Debian's rkdeveloptool wl (one command at a
# time, 128 sectors). The model is deterministic, so one run of each is the
# answer.
#
#   bench/usb.sh [BUILD_DIR]      (default build/; run `make tests` first)
set -euo pipefail
BUILD=$(realpath "${1:-build}")
TPKIT=$BUILD/tpkit TWIN=$BUILD/tests/twin/tp-twin MKLDR=$BUILD/tests/tools/mkldr
SRC=$(cd "$(dirname "$0")/.." && pwd)
SIZE_MIB=${SIZE_MIB:-256}
LIMIT=53248000 # 13 x 512-byte packets per 125 us microframe (protocols.md §9.1)

for t in "$TPKIT" "$TWIN" "$MKLDR"; do
	[ -x "$t" ] || { echo "bench/usb.sh: no $t; run make tests first" >&2; exit 1; }
done
command -v rkdeveloptool >/dev/null || { echo "rkdeveloptool missing (scripts/install-deps.sh)" >&2; exit 1; }

work=$(mktemp -d /var/tmp/tpkit-usb.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
"$MKLDR" loader.bin >/dev/null
# A raw image with a partition table (tpkit refuses headerless data) and
# random content, so nothing can be skipped or compressed away.
truncate -s ${SIZE_MIB}M img.raw
printf 'label: dos\nstart=2048, type=83\n' | /sbin/sfdisk -q img.raw
head -c $(((SIZE_MIB - 2) << 20)) /dev/urandom | dd of=img.raw bs=1M seek=1 conv=notrunc status=none

# "tp-twin: usb node2 loader (1-1.2, dev 4): bulk 5.796000 s, 270660607 B out, ..."
session() { sed -n 's/^tp-twin: usb node2 loader .*: bulk \([0-9.]*\) s, \([0-9]*\) B out.*/\1 \2/p' "$1"; }

# tpkit SECTORS TAG: flash the image with --rk-sectors SECTORS
tpkit() {
	"$TWIN" -q --rev 2.5 --slot 2=rk1 --emmc-dir "e$2" --emmc-size 1G -- \
		"$TPKIT" flash -q --slot 2 --image img.raw --loader loader.bin --no-verify \
		--rk-sectors "$1" 2>"$2.err" || { cat "$2.err"; exit 1; }
	cmp -n $((SIZE_MIB << 20)) img.raw "e$2/slot2.emmc"
}
tpkit 128 t128
tpkit 240 t240

# rkdeveloptool sleeps in real time after the download: --peer-clock lets
# the twin's clock move on meanwhile (docs/twin.md, "Virtual time").
SLEEP="/usr/bin/python3 $SRC/tests/twin/selftest/client.py 'HELLO bench'"
"$TWIN" -q --rev 2.5 --slot 2=rk1 --emmc-dir e2 --emmc-size 1G --peer-clock -- sh -c "
	'$TPKIT' usb flash -q --slot 2 && '$TPKIT' power on -q --slot 2 &&
	$SLEEP 'SLEEP 300000000' >/dev/null && rkdeveloptool db loader.bin >/dev/null &&
	rkdeveloptool wl 0 img.raw >/dev/null" 2>rkdev.err ||
	{ cat rkdev.err; exit 1; }
cmp -n $((SIZE_MIB << 20)) img.raw e2/slot2.emmc

read -r a_s a_b <<<"$(session t128.err)"
read -r b_s b_b <<<"$(session t240.err)"
read -r r_s r_b <<<"$(session rkdev.err)"
awk -v as="$a_s" -v ab="$a_b" -v bs="$b_s" -v bb="$b_b" -v rs="$r_s" -v rb="$r_b" \
	-v lim=$LIMIT -v mib="$SIZE_MIB" 'BEGIN {
	ar = ab / as; br = bb / bs; rr = rb / rs
	printf "USB 2.0 HS twin, %d MiB random image\n", mib
	printf "%-34s %10s %14s %10s %14s\n", "client", "sim. s", "bytes out", "MB/s", "of bulk limit"
	printf "%-34s %10.3f %14d %10.2f %13.1f%%\n", "tpkit flash --rk-sectors 128", as, ab, ar / 1e6, 100 * ar / lim
	printf "%-34s %10.3f %14d %10.2f %13.1f%%\n", "tpkit flash --rk-sectors 240", bs, bb, br / 1e6, 100 * br / lim
	printf "%-34s %10.3f %14d %10.2f %13.1f%%\n", "rkdeveloptool wl (128 sectors)", rs, rb, rr / 1e6, 100 * rr / lim
	printf "tpkit at 128 / rkdeveloptool: %.2fx the throughput; tpkit 240 / 128: %.2fx\n", ar / rr, br / ar
	printf "target: tpkit (default, 240) >= 85%% of the bulk limit (%.2f MB/s): %s\n", lim / 1e6, (br >= 0.85 * lim) ? "met" : "MISSED"
	exit (br < 0.85 * lim)
}'
