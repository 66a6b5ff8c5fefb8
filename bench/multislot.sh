#!/bin/bash
# SPDX-License-Identifier: MIT
# Multi-slot benchmark on the board twin (docs/twin.md): tpkit flash of ONE
# xz image to four slots against the same image to one slot, in the same
# run, for four RK1 modules and for four CM4 modules on a v2.5 twin. For each
# flash: real wall time and peak RSS of tpkit (/usr/bin/time -v), the
# simulated time of the whole command on the twin's virtual clock (NOW before
# and after), each slot's simulated time (the "ms" of tpkit flash --json),
# and the twin's bus figures (RK1: the loader sessions' bulk time and bytes;
# CM4: the disks' charged time and bytes written). The default read-back is on, as a
# user runs it. Every eMMC is checked against the raw image's SHA-256.
#
#   bench/multislot.sh [BUILD_DIR]      (default build/; run `make tests` first)
#   env: SIZE_MIB=512 (a multiple of 16)  RUNS=1 (median of interleaved runs)
#        MODULES="rk1 cm4"
#        CACHE=/var/tmp/tpkit-multislot   EMMC_BASE=/dev/shm (the eMMC files)
#        TWIN_OPTS="--cm4-write-rate 35 --cm4-read-rate 35" (more twin options)
#
# Targets: CM4, four-slot wall / one-slot wall <= 1.3; RK1, four slots in
# <= 1.05x the floor the shared USB link sets (all their bytes at its bulk
# ceiling: one RK1 already fills most of it); peak RSS <= 48 MiB. The exit
# status is 1 if a target is missed, as bench/usb.sh does.
set -euo pipefail
BUILD=$(realpath "${1:-build}")
TPKIT=$BUILD/tpkit TWIN=$BUILD/tests/twin/tp-twin MKLDR=$BUILD/tests/tools/mkldr
SRC=$(cd "$(dirname "$0")/.." && pwd)
SIZE_MIB=${SIZE_MIB:-512}
RUNS=${RUNS:-1}
MODULES=${MODULES:-rk1 cm4}
CACHE=${CACHE:-/var/tmp/tpkit-multislot}
EMMC_BASE=${EMMC_BASE:-/dev/shm}
WALL_TARGET=1.3 RSS_TARGET_MIB=48 FLOOR_TARGET=1.05

for t in "$TPKIT" "$TWIN" "$MKLDR"; do
	[ -x "$t" ] || { echo "bench/multislot.sh: no $t; run make tests first" >&2; exit 1; }
done
export PATH=$PATH:/usr/sbin:/sbin
for t in /usr/bin/time xz openssl sha256sum sfdisk mkfs.vfat python3; do
	command -v $t >/dev/null || { echo "missing $t (scripts/install-deps.sh)" >&2; exit 1; }
done
[ $((SIZE_MIB % 16)) = 0 ] && [ "$SIZE_MIB" -ge 128 ] ||
	{ echo "bench/multislot.sh: SIZE_MIB must be a multiple of 16, at least 128" >&2; exit 2; }

work=$(mktemp -d /var/tmp/tpkit-multislot-run.XXXXXX)
emmc=$(mktemp -d "$EMMC_BASE/tpkit-multislot-emmc.XXXXXX")
trap 'rm -rf "$work" "$emmc"' EXIT
cd "$work"
mkdir -p "$CACHE"
"$MKLDR" loader.bin >/dev/null
"$SRC/tests/twin/selftest/mkrpiboot.sh" rpiboot msd >/dev/null

# ---- the images: one body, an RK1 head and a CM4 head ---------------------
# The body is bench/pipeline.sh's mix at this size: stretches of SIZE/16 MiB
# of binaries (/usr/bin files), text (licences and numbers), zeros, and
# random bytes (AES-CTR keystream, fixed key), four rounds. The heads are
# the published images' layouts, so that tpkit takes each for its module:
# RK1: GPT, first 16 MiB blank but for the idblock ("RKNS", sector 64) and
# U-Boot's FIT (sector 16384), root partition from 16 MiB; CM4: MBR, a
# FAT32 system-boot at sector 2048, the rest a Linux partition.
# stream N KEY [IV]: N bytes of AES-CTR keystream (random, reproducible)
stream() { head -c "$1" /dev/zero | openssl enc -aes-128-ctr -nosalt -K "$2" -iv "${3:-0}" 2>/dev/null; }
put() { dd of="$1" bs=512 seek="$2" conv=notrunc status=none; } # put FILE SECTOR <data
make_images() {
	local body=$CACHE/body.raw st=$((SIZE_MIB << 16)) m raw
	set +o pipefail # head closes its pipe early on purpose
	echo "bench: building $SIZE_MIB MiB images in $CACHE (xz -6 -T2)..." >&2
	: >"$body"
	for round in 0 1 2 3; do
		find /usr/bin -maxdepth 1 -type f -size +16k | LC_ALL=C sort | xargs cat 2>/dev/null |
			tail -c +$((round * st + 1)) | head -c $st >>"$body"
		{ cat /usr/share/common-licenses/*; seq $((round * 10000000)) $((round * 10000000 + 9000000)); } |
			head -c $st >>"$body"
		head -c $st /dev/zero >>"$body"
		stream $st 7470 $round >>"$body"
	done
	set -o pipefail
	[ "$(stat -c %s "$body")" = $((SIZE_MIB << 20)) ] || { echo "bench: body has the wrong size" >&2; exit 1; }
	for m in rk1 cm4; do
		raw=$CACHE/$m.raw
		cp "$body" "$raw"
		if [ $m = rk1 ]; then
			head -c $((16 << 20)) /dev/zero | put "$raw" 0
			printf 'label: gpt\nstart=32768, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=rootfs\n' |
				sfdisk -q "$raw"
			{ printf 'RKNS'; stream $((192 * 1024 - 4)) 01; } | put "$raw" 64
			{ printf '\xd0\x0d\xfe\xed'; stream $((1024 * 1024 - 4)) 02; } | put "$raw" 16384
		else
			head -c $((1 << 20)) /dev/zero | put "$raw" 0
			printf 'label: dos\nstart=2048, size=131072, type=c, bootable\nstart=133120, type=83\n' |
				sfdisk -q "$raw"
			rm -f "$CACHE/boot.fat"
			mkfs.vfat -F 32 -n system-boot -C "$CACHE/boot.fat" 65536 >/dev/null 2>&1
			put "$raw" 2048 <"$CACHE/boot.fat"
			rm -f "$CACHE/boot.fat"
		fi
		sha256sum <"$raw" | cut -d' ' -f1 >"$CACHE/$m-${SIZE_MIB}m.sha256raw"
		xz -6 -T2 -c "$raw" >"$CACHE/$m-${SIZE_MIB}m.img.xz.tmp"
		mv "$CACHE/$m-${SIZE_MIB}m.img.xz.tmp" "$CACHE/$m-${SIZE_MIB}m.img.xz"
		rm -f "$raw"
	done
	rm -f "$body"
}
[ -s "$CACHE/rk1-${SIZE_MIB}m.img.xz" ] && [ -s "$CACHE/cm4-${SIZE_MIB}m.img.xz" ] || make_images

# ---- one flash ----------------------------------------------------------------
NOW="/usr/bin/python3 $SRC/tests/twin/selftest/client.py 'HELLO bench' NOW"
# flash MODULE LIST TAG: on a v2.5 twin with MODULE in all four slots, fresh
# eMMC files; leaves TAG.time (time -v), TAG.json, TAG.err, TAG.twin, TAG.now
flash() {
	local m=$1 list=$2 tag=$3 img=$CACHE/$1-${SIZE_MIB}m.img.xz s n
	rm -rf "${emmc:?}"/*
	/usr/bin/time -f '%U %S' -o $tag.all "$TWIN" -q --rev 2.5 --slot 1=$m --slot 2=$m --slot 3=$m --slot 4=$m \
		--emmc-dir "$emmc" --emmc-size $((SIZE_MIB * 2))M ${TWIN_OPTS:-} -- sh -c "
		$NOW >$tag.now && /usr/bin/time -v -o $tag.time '$TPKIT' flash --slot $list \
			--image '$img' --loader loader.bin --rpiboot-dir rpiboot --json >$tag.json 2>$tag.err
		rc=\$?; $NOW >>$tag.now; exit \$rc" 2>$tag.twin || {
		echo "bench: $m --slot $list failed (exit $?); tpkit and the twin said:" >&2
		grep -v -e '^slot [0-9]: ' -e '^tp-twin: \(usb\|block\) ' $tag.err $tag.twin | grep . >&2
		return 1
	}
	n=$(case $list in 1) echo 1 ;; *) echo 1 2 3 4 ;; esac)
	for s in $n; do
		[ "$(head -c $((SIZE_MIB << 20)) "$emmc/slot$s.emmc" | sha256sum | cut -d' ' -f1)" = \
		  "$(cat "$CACHE/$m-${SIZE_MIB}m.sha256raw")" ] ||
			{ echo "bench: $m slot $s: the eMMC is not the image" >&2; return 1; }
	done
}

# wall seconds, peak RSS KiB from time -v
wall_of() { awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0;
	for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s }' "$1"; }
rss_of() { awk -F': ' '/Maximum resident set size/ { print $2 }' "$1"; }
# simulated seconds of the whole command: NOW after - NOW before
sim_of() { awk '/^NOW => OK / { t[++n] = $NF } END { printf "%.3f", (t[2] - t[1]) / 1e9 }' "$1"; }
# the twin's CPU seconds: the whole run's (twin and its command) less tpkit's
twincpu_of() { awk -v t="$(cpu_of "$1.time")" '{ printf "%.1f", $1 + $2 - t }' "$1.all"; }
# tpkit's CPU seconds, user + system
cpu_of() { awk -F': ' '/User time|System time/ { s += $2 } END { printf "%.1f", s }' "$1"; }
# per-slot simulated seconds from the JSON result: "7.1 7.1 ..."
slots_of() { grep -F '"event":"result"' "$1" | python3 -c 'import json, sys
d = json.loads(sys.stdin.read())
print(",".join("%.1f" % (s["ms"] / 1000) for s in d["slots"]))'; }
# the twin's figures: seconds and bytes, summed over devices
# RK1: "tp-twin: usb node2 loader (1-1.2, dev 4): bulk 5.796000 s, 270660607 B out, ..."
# CM4: "tp-twin: block node2 sda (1-1.2): 10485760 B written, 10485760 B read, 2.001826 s at 10/11 MB/s"
bus_of() { awk '/^tp-twin: usb node[0-9] loader / { for (i = 1; i <= NF; i++) {
		if ($i == "bulk") s += $(i + 1); if ($i == "out,") b += $(i - 2) } }
	/^tp-twin: block node[0-9] / { for (i = 1; i <= NF; i++) {
		if ($i == "written,") b += $(i - 2); if ($i == "read,") s += $(i + 1) } }
	END { printf "%.3f %.0f", s, b }' "$1"; }
# usb_bytes FILE: bytes both ways over the RK1s' loader sessions and the
# CM4s' disks (the read-back shares the one link with the writes).
usb_bytes() { awk '/^tp-twin: usb node[0-9] loader / { for (i = 1; i <= NF; i++) {
		if ($i == "out," || $i == "in,") b += $(i - 2) } }
	/^tp-twin: block node[0-9] / { for (i = 1; i <= NF; i++) {
		if ($i == "written," || $i == "read,") b += $(i - 2) } }
	END { printf "%.0f", b }' "$1"; }

declare -A WALLS FAILED W S R
for ((r = 1; r <= RUNS; r++)); do
	for m in $MODULES; do
		for list in 1 1-4; do
			tag=$m-$list-$r
			[ -z "${FAILED[$m-$list]:-}" ] || continue
			if flash $m $list $tag; then
				WALLS[$m-$list]+="$(wall_of $tag.time) "
			else
				FAILED[$m-$list]=1
			fi
		done
	done
	echo "bench: round $r of $RUNS done" >&2
done
med() { tr ' ' '\n' | grep . | sort -g | sed -n "$(((RUNS + 1) / 2))p"; }

printf 'v2.5 twin, one %d MiB image (xz -6: rk1 %d bytes, cm4 %d), tpkit flash with read-back, four slots vs one\n' \
	"$SIZE_MIB" "$(stat -c %s "$CACHE/rk1-${SIZE_MIB}m.img.xz")" "$(stat -c %s "$CACHE/cm4-${SIZE_MIB}m.img.xz")"
printf '%-6s %5s %8s %8s %8s %9s %23s %8s %9s %12s\n' module slots "wall s" "CPU s" "twin CPU" \
	"sim. s" "per-slot sim. s" "RSS MiB" "bus s" "bytes out"
fail=0
for m in $MODULES; do
	for list in 1 1-4; do
		if [ -n "${FAILED[$m-$list]:-}" ]; then
			printf '%-6s %5s %8s   (the flash failed: see above)\n' $m "$([ $list = 1 ] && echo 1 || echo 4)" FAILED
			fail=1
			continue
		fi
		t=$m-$list-1 # figures of the first round; wall is the median over rounds
		w=$(echo "${WALLS[$m-$list]}" | med)
		read -r bs bb <<<"$(bus_of $t.twin)"
		maxrss=0
		for ((r = 1; r <= RUNS; r++)); do
			k=$(rss_of $m-$list-$r.time); [ "$k" -gt $maxrss ] && maxrss=$k
		done
		printf '%-6s %5s %8.2f %8s %8s %9s %23s %8.1f %9s %12s\n' $m \
			"$([ $list = 1 ] && echo 1 || echo 4)" "$w" "$(cpu_of $t.time)" "$(twincpu_of $t)" "$(sim_of $t.now)" \
			"$(slots_of $t.json)" "$(awk -v k=$maxrss 'BEGIN { print k / 1024 }')" "$bs" "$bb"
		W[$m-$list]=$w S[$m-$list]=$(sim_of $t.now) R[$m-$list]=$maxrss
	done
done
for m in $MODULES; do
	if [ -n "${FAILED[$m-1]:-}${FAILED[$m-1-4]:-}" ]; then
		echo "$m: four slots / one slot: not measured (a flash failed)"
		continue
	fi
	# The nodes of a v2.5 board share one USB 2.0 link (the hub's upstream
	# port), RK1s and CM4s alike: no client can take less simulated time
	# than all their bytes at the link's bulk ceiling, so the simulated ratio
	# has a floor. An RK1 alone fills most of the link, so its target is
	# against that floor; four CM4 disks do not, so theirs is the wall ratio.
	awk -v m=$m -v w1="${W[$m-1]}" -v w4="${W[$m-1-4]}" -v s1="${S[$m-1]}" -v s4="${S[$m-1-4]}" \
		-v r1="${R[$m-1]}" -v r4="${R[$m-1-4]}" -v b="$(usb_bytes $m-1-4-1.twin)" \
		-v wt=$WALL_TARGET -v rt=$RSS_TARGET_MIB -v ft=$FLOOR_TARGET 'BEGIN {
		r = (r1 > r4 ? r1 : r4) / 1024
		f = b / 53248000
		printf "%s: four slots / one slot: wall %.2fx, simulated %.2fx; peak RSS %.1f MiB (one slot %.1f)\n",
			m, w4 / w1, s4 / s1, r, r1 / 1024
		printf "%s: the shared USB 2.0 link: four slots move %.0f bytes, %.1f s at the 53.248 MB/s bulk\n", m, b, f
		printf "%s: ceiling, so four slots take at least %.2fx one slot'"'"'s simulated time; tpkit: %.2fx (%.0f%% of the link)\n",
			m, f / s1, s4 / s1, 100 * f / s4
		printf "%s: four slots against that floor: %.3fx\n", m, s4 / f
		if (m == "rk1") {
			miss = s4 / f > ft
			printf "%s: target: four slots <= %.2fx the floor: %s", m, ft, miss ? "MISSED" : "met"
		} else {
			miss = w4 / w1 > wt
			printf "%s: target: wall ratio <= %.1f: %s", m, wt, miss ? "MISSED" : "met"
		}
		printf "; peak RSS <= %d MiB: %s\n", rt, (r <= rt) ? "met" : "MISSED"
		exit (miss || r > rt)
	}' || fail=1
done
echo "runs: $RUNS (wall: median); wall, CPU (user + system) and RSS (maximum resident set, largest"
echo "of the runs) are tpkit's own; twin CPU is the twin's (and the clock probes'), which simulates"
echo "the USB devices beside tpkit on the same CPUs. sim. s: the command on the twin's virtual clock;"
echo "bus s: RK1 loader sessions' bulk time, CM4 disks' charged time (writes and reads), summed over slots"
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs, $(uname -r); eMMC files in $EMMC_BASE"
exit $fail
