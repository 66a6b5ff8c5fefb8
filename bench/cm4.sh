#!/bin/bash
# SPDX-License-Identifier: MIT
# CM4 benchmark on the board twin (docs/twin.md, "Simulated CM4"): tpkit
# flash of one raw SIZE_MIB image to a CM4 (v2.5, slot 2) with the legacy
# msd firmware and with mass-storage-gadget64, read-back on as a user runs
# it. For each: the simulated time from the boot ROM on USB to the disk in
# /sys/block (bring-up: rpiboot, the second stage's files, the payload
# starting), from the disk to the node off (writing and reading back), the
# whole job (tpkit's "ms"), the image's MB/s over writing and reading back,
# and tpkit's real wall time. Every eMMC is checked against the image.
#
#   bench/cm4.sh [BUILD_DIR]      (default build/; run `make tests` first)
#   env: SIZE_MIB=512  CACHE=/var/tmp/tpkit-cm4bench  EMMC_BASE=/dev/shm
#
# Target: gadget at least 2x msd in image MB/s (exit 1 if missed).
set -euo pipefail
BUILD=$(realpath "${1:-build}")
TPKIT=$BUILD/tpkit TWIN=$BUILD/tests/twin/tp-twin
SRC=$(cd "$(dirname "$0")/.." && pwd)
SIZE_MIB=${SIZE_MIB:-512}
CACHE=${CACHE:-/var/tmp/tpkit-cm4bench}
EMMC_BASE=${EMMC_BASE:-/dev/shm}
for t in "$TPKIT" "$TWIN"; do
	[ -x "$t" ] || { echo "bench/cm4.sh: no $t; run make tests first" >&2; exit 1; }
done
export PATH=$PATH:/usr/sbin:/sbin
for t in openssl sfdisk sha256sum python3; do
	command -v $t >/dev/null || { echo "missing $t (scripts/install-deps.sh)" >&2; exit 1; }
done

work=$(mktemp -d /var/tmp/tpkit-cm4bench-run.XXXXXX)
emmc=$(mktemp -d "$EMMC_BASE/tpkit-cm4bench-emmc.XXXXXX")
trap 'rm -rf "$work" "$emmc"' EXIT
cd "$work"
mkdir -p "$CACHE"
IMG=$CACHE/cm4-${SIZE_MIB}m.raw
# A CM4 image: an MBR with a FAT partition at 2048 (tpkit takes it for a
# Raspberry Pi's), the rest random bytes (AES-CTR keystream, fixed key).
if [ ! -s "$IMG" ]; then
	head -c $((SIZE_MIB << 20)) /dev/zero | openssl enc -aes-128-ctr -nosalt -K 4d -iv 0 2>/dev/null >"$IMG.tmp"
	dd if=/dev/zero of="$IMG.tmp" bs=512 count=2048 conv=notrunc status=none
	printf 'label: dos\nstart=2048, size=131072, type=c, bootable\nstart=133120, type=83\n' |
		sfdisk -q "$IMG.tmp"
	mv "$IMG.tmp" "$IMG"
fi
SUM=$(sha256sum <"$IMG" | cut -d' ' -f1)
"$SRC/tests/twin/selftest/mkrpiboot.sh" msd msd >/dev/null
"$SRC/tests/twin/selftest/mkrpiboot.sh" gadget gadget >/dev/null
NOW="/usr/bin/python3 $SRC/tests/twin/selftest/client.py 'HELLO bench' NOW"

# at TEXT: the virtual time (ms) of the first timeline event containing TEXT
at() { awk -v e="$1" 'index($0, e) { print $1; exit }' "$fw.tl"; }

printf '%-8s %10s %12s %10s %10s %10s\n' firmware bring-up write+verify "job" "MB/s" "wall"
for fw in msd gadget; do
	rm -rf "${emmc:?}"/*
	start=$(date +%s.%N)
	"$TWIN" -q --rev 2.5 --slot 2=cm4 --emmc-dir "$emmc" --emmc-size $((SIZE_MIB * 2))M \
		--timeline $fw.tl -- sh -c "$NOW >$fw.now && '$TPKIT' flash --slot 2 --image '$IMG' \
		--rpiboot-dir $fw --cm4-firmware $fw --json >$fw.json 2>$fw.err; rc=\$?; $NOW >>$fw.now; exit \$rc" \
		2>$fw.twin || { echo "bench: $fw failed:" >&2; cat $fw.err $fw.twin >&2; exit 1; }
	end=$(date +%s.%N)
	[ "$(head -c $((SIZE_MIB << 20)) "$emmc/slot2.emmc" | sha256sum | cut -d' ' -f1)" = "$SUM" ] ||
		{ echo "bench: $fw: the eMMC differs from the image" >&2; exit 1; }
	rom=$(at "none -> bootrom") disk=$(at "block  node2        none -> sd") off=$(at "slot  2            on -> off")
	job=$(grep -F '"event":"result"' $fw.json | python3 -c 'import json, sys
print(json.loads(sys.stdin.read())["slots"][0]["ms"] / 1000)')
	python3 - "$fw" "$rom" "$disk" "$off" "$job" "$SIZE_MIB" "$start" "$end" <<'X' | tee -a figures
import sys
fw, rom, disk, off, job, mib, t0, t1 = sys.argv[1:]
rom, disk, off, job, mib = float(rom), float(disk), float(off), float(job), int(mib)
wv = (off - disk) / 1000
print("%-8s %9.1fs %11.1fs %9.1fs %10.1f %9.1fs" % (fw, (disk - rom) / 1000, wv, job,
      mib * 1048576 / 1e6 / wv, float(t1) - float(t0)))
X
done
python3 - figures <<'X'
import sys
r = {l.split()[0]: float(l.split()[4]) for l in open(sys.argv[1])}
ratio = r["gadget"] / r["msd"]
print("gadget / msd (image MB/s): %.2fx" % ratio)
sys.exit(0 if ratio >= 2 else 1)
X
