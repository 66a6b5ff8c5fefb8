#!/bin/bash
# SPDX-License-Identifier: MIT
# USB benchmark on the board twin's timing model (docs/twin.md, "USB timing
# model"; docs/performance.md, "RK1 over USB"): simulated seconds to write a
# 256 MiB image to the twin's RK1, and to write it and read it back, with
# tpkit flash (queued WRITE_LBA and READ_LBA commands) at 128 sectors per
# command (what rkdeveloptool and rockchiprs send), at 240
# (TP_ROCKUSB_SECTORS_MAX, the most the RK3588 usbplug is known to take,
# tpkit's default) and at 256 (against a twin whose loader is told to take
# it: what a loader that did would give), against Debian's rkdeveloptool wl and wl + rl (one
# command at a time, 128 sectors). Each figure is also given against the
# floor: every byte both ways at the bulk limit. The model is deterministic,
# so one run of each is the answer.
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

# "tp-twin: usb node2 loader (1-1.2, dev 4): bulk 5.796000 s, 270660607 B out, 1234 B in, ..."
session() { sed -n 's/^tp-twin: usb node2 loader .*: bulk \([0-9.]*\) s, \([0-9]*\) B out, \([0-9]*\) B in.*/\1 \2 \3/p' "$1"; }

# tpkit SECTORS TAG [--no-verify]: flash the image with --rk-sectors SECTORS;
# above 240 the twin's loader is told to take that many
tpkit() {
	"$TWIN" -q --rev 2.5 --slot 2=rk1 --emmc-dir "e$2" --emmc-size 1G \
		--rk-max-sectors $(($1 > 240 ? $1 : 240)) -- \
		"$TPKIT" flash -q --slot 2 --image img.raw --loader loader.bin ${3:-} \
		--rk-sectors "$1" 2>"$2.err" || { cat "$2.err"; exit 1; }
	cmp -n $((SIZE_MIB << 20)) img.raw "e$2/slot2.emmc"
}
tpkit 128 w128 --no-verify
tpkit 240 w240 --no-verify
tpkit 256 w256 --no-verify
tpkit 128 f128
tpkit 240 f240
tpkit 256 f256

# rkdeveloptool sleeps in real time after the download: --peer-clock lets
# the twin's clock move on meanwhile (docs/twin.md, "Virtual time").
SLEEP="/usr/bin/python3 $SRC/tests/twin/selftest/client.py 'HELLO bench'"
SECTORS=$((SIZE_MIB << 11))
# rkdev TAG COMMANDS: rkdeveloptool after its loader download
rkdev() {
	"$TWIN" -q --rev 2.5 --slot 2=rk1 --emmc-dir "e$1" --emmc-size 1G --peer-clock -- sh -c "
		'$TPKIT' usb flash -q --slot 2 && '$TPKIT' power on -q --slot 2 &&
		$SLEEP 'SLEEP 300000000' >/dev/null && rkdeveloptool db loader.bin >/dev/null &&
		$2" 2>"$1.err" || { cat "$1.err"; exit 1; }
	cmp -n $((SIZE_MIB << 20)) img.raw "e$1/slot2.emmc"
}
rkdev rw "rkdeveloptool wl 0 img.raw >/dev/null"
rkdev rf "rkdeveloptool wl 0 img.raw >/dev/null && rkdeveloptool rl 0 $SECTORS back.raw >/dev/null"
cmp -n $((SIZE_MIB << 20)) img.raw back.raw

for t in w128 w240 w256 f128 f240 f256 rw rf; do
	echo "$t $(session $t.err)"
done | awk -v lim=$LIMIT -v mib="$SIZE_MIB" '
	{ s[$1] = $2; o[$1] = $3; i[$1] = $4 }
	function row(name, sec, out, in_) {
		printf "%-40s %9.3f %12d %12d %8.2f %9.2fx\n", name, sec, out, in_,
			(out + in_) / sec / 1e6, sec / ((out + in_) / lim)
	}
	END {
		printf "USB 2.0 HS twin, %d MiB random image; floor: bytes both ways at %.2f MB/s\n", mib, lim / 1e6
		printf "%-40s %9s %12s %12s %8s %10s\n", "client", "sim. s", "bytes out", "bytes in", "MB/s", "vs floor"
		row("tpkit flash --no-verify --rk-sectors 128", s["w128"], o["w128"], i["w128"])
		row("tpkit flash --no-verify (240)", s["w240"], o["w240"], i["w240"])
		row("tpkit flash --no-verify --rk-sectors 256", s["w256"], o["w256"], i["w256"])
		row("tpkit flash --rk-sectors 128 (verify)", s["f128"], o["f128"], i["f128"])
		row("tpkit flash (240, verify)", s["f240"], o["f240"], i["f240"])
		row("tpkit flash --rk-sectors 256 (verify)", s["f256"], o["f256"], i["f256"])
		row("  its read-back alone (240)", s["f240"] - s["w240"], o["f240"] - o["w240"], i["f240"] - i["w240"])
		row("rkdeveloptool wl (128)", s["rw"], o["rw"], i["rw"])
		row("rkdeveloptool wl + rl (128)", s["rf"], o["rf"], i["rf"])
		row("  its rl alone", s["rf"] - s["rw"], o["rf"] - o["rw"], i["rf"] - i["rw"])
		w128 = o["w128"] / s["w128"]; wr = o["rw"] / s["rw"]; w240 = o["w240"] / s["w240"]
		full = s["f240"] / ((o["f240"] + i["f240"]) / lim)
		w256 = o["w256"] / s["w256"]
		printf "write: tpkit at 128 / rkdeveloptool: %.2fx the throughput; tpkit 240 / 128: %.2fx; 240: %.1f%% of the bulk limit\n", w128 / wr, w240 / w128, 100 * w240 / lim
		printf "write: tpkit 256 / 240: %.3fx the throughput (%.1f%% of the bulk limit); with verify 256 / 240: %.3fx the time\n", w256 / w240, 100 * w256 / lim, s["f256"] / s["f240"]
		printf "write and read back: tpkit (240) %.2fx the time of rkdeveloptool wl + rl\n", s["f240"] / s["rf"]
		printf "target: tpkit (default, 240) writes at >= 85%% of the bulk limit: %s\n", (w240 >= 0.85 * lim) ? "met" : "MISSED"
		printf "target: tpkit (default, 240) writes and reads back in <= 1.10x the floor (%.2fx): %s\n", full, full <= 1.10 ? "met" : "MISSED"
		exit (w240 < 0.85 * lim || full > 1.10)
	}'
