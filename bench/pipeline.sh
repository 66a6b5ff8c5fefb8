#!/bin/bash
# SPDX-License-Identifier: MIT
# Benchmark of the image pipeline (docs/performance.md, "Image pipeline"):
# tpkit write of a 1 GiB xz image of many blocks (xz -T) against the bare
# decompressor (one thread, and xz's own threaded decoder), the decompressor
# plus sha256sum, and Debian's bmaptool copy; tpkit with its decoder held to
# one thread (--xz-threads 1), with its default (threads as far as the 48 MiB
# decoder budget allows) and with a 100 MiB budget. Wall time and peak RSS
# from /usr/bin/time -v; median and best of $RUNS interleaved runs.
#
#   bench/pipeline.sh [BUILD_DIR]      (default build/)
#   env: RUNS=5  CACHE=/var/tmp/tpkit-bench  OUT=/dev/shm/tpkit-bench.out
#        XZ_OPTS="-6 -T2" (how the image is compressed: "-3 -T0" is how
#        ubuntu-rockchip's RK1 images are, docs/pipeline.md §7)
#
# The output goes to tmpfs by default so that the disk's write speed does
# not hide the pipeline's own cost; OUT=/var/tmp/x measures a real disk.
set -euo pipefail
BUILD=${1:-build}
TPKIT=$(realpath "$BUILD/tpkit")
RUNS=${RUNS:-5}
CACHE=${CACHE:-/var/tmp/tpkit-bench}
OUT=${OUT:-/dev/shm/tpkit-bench.out}
XZ_OPTS=${XZ_OPTS:--6 -T2}
IMG=$CACHE/bench-1g$(echo "$XZ_OPTS" | tr -d ' ').img.xz
mkdir -p "$CACHE"

for t in /usr/bin/time xz sha256sum bmaptool openssl; do
	command -v $t >/dev/null || { echo "missing $t (scripts/install-deps.sh)" >&2; exit 1; }
done

# ---- the image: 1 GiB in 64 MiB stretches of four kinds, repeated --------
# binaries (copies of /usr/bin files, sorted by name), text (numbers and
# licence texts), zeros, and random bytes from a seeded generator (AES-CTR
# keystream with a fixed key). Reproducible on a given machine; cached.
make_image() {
	local raw=$CACHE/bench-1g.img
	set +o pipefail # head closes its pipe early on purpose
	echo "bench: building $raw (1 GiB) and $IMG (xz $XZ_OPTS)..." >&2
	: >"$raw"
	for round in 0 1 2 3; do
		find /usr/bin -maxdepth 1 -type f -size +16k | LC_ALL=C sort | xargs cat 2>/dev/null |
			tail -c +$((round * 67108864 + 1)) | head -c 67108864 >>"$raw"
		{ cat /usr/share/common-licenses/*; seq $((round * 10000000)) $((round * 10000000 + 9000000)); } |
			head -c 67108864 >>"$raw"
		head -c 67108864 /dev/zero >>"$raw"
		head -c 67108864 /dev/zero |
			openssl enc -aes-128-ctr -nosalt -K 7470 -iv $round 2>/dev/null >>"$raw"
	done
	[ "$(stat -c %s "$raw")" = 1073741824 ] || { echo "bench: image has the wrong size" >&2; exit 1; }
	# shellcheck disable=SC2086 # options, split on purpose
	xz $XZ_OPTS -c "$raw" >"$IMG.tmp" && mv "$IMG.tmp" "$IMG"
	sha256sum "$raw" | cut -d' ' -f1 >"$CACHE/bench-1g.img.sha256raw"
	rm -f "$raw"
	set -o pipefail
}
[ -s "$IMG" ] || make_image

# The commands, run in interleaved rounds (one of each per round) so that
# drift in the machine's load (a shared VM) hits them all alike.
NAMES=("xz -dc >/dev/null" "xz -dc -T2 >/dev/null" "xz -dc | sha256sum"
	"tpkit write --no-verify --xz-threads 1" "tpkit write --no-verify"
	"tpkit write --no-verify --xz-memlimit 100" "tpkit write (verify)" "bmaptool copy --nobmap")
WRITE=4 # the one whose output is checked
cmd_of() {
	case $1 in
	0) echo "xz -dc -T1 '$IMG'" ;;
	1) echo "xz -dc -T2 '$IMG'" ;;
	2) echo "xz -dc -T1 '$IMG' | sha256sum" ;;
	3) echo "'$TPKIT' write -q --no-verify --xz-threads 1 '$IMG' --to '$OUT'" ;;
	4) echo "'$TPKIT' write -q --no-verify '$IMG' --to '$OUT'" ;;
	5) echo "'$TPKIT' write -q --no-verify --xz-memlimit 100 '$IMG' --to '$OUT'" ;;
	6) echo "'$TPKIT' write -q '$IMG' --to '$OUT'" ;;
	7) echo "bmaptool -q copy --nobmap '$IMG' '$OUT'" ;;
	esac
}
declare -A WALLS RSSS WALL MINW RSS
for ((r = 1; r <= RUNS; r++)); do
	for ((k = 0; k < ${#NAMES[@]}; k++)); do
		rm -f "$OUT"
		/usr/bin/time -v -o "$CACHE/time.txt" bash -c "exec $(cmd_of $k) >/dev/null" \
			2>"$CACHE/err.txt" || { echo "bench: ${NAMES[k]} failed:" >&2;
			cat "$CACHE/err.txt" >&2; exit 1; }
		w=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0;
			for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s }' "$CACHE/time.txt")
		m=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$CACHE/time.txt")
		WALLS[$k]+="$w "
		RSSS[$k]+="$m "
		if [ $k = $WRITE ] && [ $r = 1 ]; then
			# the written image must be the image
			[ "$(sha256sum "$OUT" | cut -d' ' -f1)" = "$(cat "$CACHE/bench-1g.img.sha256raw")" ] ||
				{ echo "bench: tpkit wrote something else" >&2; exit 1; }
		fi
	done
	echo "bench: round $r of $RUNS done" >&2
done
rm -f "$OUT"
med() { tr ' ' '\n' | grep . | sort -g | sed -n "$(((RUNS + 1) / 2))p"; }
for ((k = 0; k < ${#NAMES[@]}; k++)); do
	name=${NAMES[k]}
	WALL[$name]=$(echo "${WALLS[$k]}" | med)
	MINW[$name]=$(echo "${WALLS[$k]}" | tr ' ' '\n' | grep . | sort -g | head -1)
	RSS[$name]=$(echo "${RSSS[$k]}" | tr ' ' '\n' | grep . | sort -g | tail -1)
	printf 'bench: %-26s runs: %s\n' "$name" "${WALLS[$k]}" >&2
done

base=${WALL["xz -dc >/dev/null"]}
minb=${MINW["xz -dc >/dev/null"]}
echo
echo "| command | wall, median (s) | vs xz -dc | wall, best (s) | vs xz -dc | peak RSS (MiB) |"
echo "|---|---:|---:|---:|---:|---:|"
for name in "${NAMES[@]}"; do
	awk -v n="$name" -v w="${WALL[$name]}" -v b="$base" -v m="${MINW[$name]}" \
		-v mb="$minb" -v r="${RSS[$name]}" 'BEGIN { gsub(/\|/, "\\|", n);
		printf "| `%s` | %.2f | %.2fx | %.2f | %.2fx | %.1f |\n", n, w, w / b, m, m / mb,
		r / 1024 }'
done
echo
echo "runs: $RUNS, interleaved; peak RSS is the largest of the runs"
echo
echo "image: $(stat -c %s "$IMG") bytes xz $XZ_OPTS ($(xz --robot --list "$IMG" | awk '$1 == "totals" { print $3 }') blocks), 1073741824 bytes raw; output: $OUT"
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs, $(uname -r), xz $(xz --version | head -1 | awk '{print $4}')"
