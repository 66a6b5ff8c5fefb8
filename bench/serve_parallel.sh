#!/bin/bash
# SPDX-License-Identifier: MIT
# Several nodes flashing at once through tpkit serve (docs/serve.md section
# 6.1, docs/performance.md "Several flashes at once"): on a v2.5 twin with
# RK1s in slots 1-4, one xz image is flashed by upload
#   - to slot 1 alone, on a fresh server;
#   - to N slots at once (SLOTS, default 2: tpkit serve's default
#     --flash-jobs), N uploads started together, on another fresh server
#     started with --flash-jobs N;
# and, for comparison, by `tpkit flash --slot 1-N` (one decoded stream fanned
# out to every slot). Every eMMC is compared with the raw image. Printed:
# wall and simulated times, N at once against N one after another (N times
# the single one), and the server's peak RSS in each run.
#
#   bench/serve_parallel.sh [BUILD_DIR]   (default build/; run `make tests` first)
#   env: SIZE_MIB=64  SLOTS=2  CACHE=/var/tmp/tpkit-serve-bench
#
# Targets: N at once is no slower than N one after another (simulated time:
# the slots share one USB 2.0 link, protocols.md, so it cannot be much
# faster), and with N at most the default --flash-jobs the server's peak RSS
# stays <= 48 MiB. The exit status is 1 if one is missed.
set -euo pipefail
BUILD=$(realpath "${1:-build}")
SIZE_MIB=${SIZE_MIB:-64} SLOTS=${SLOTS:-2}
RATIO_TARGET=1.0 RSS_TARGET_MIB=48 DEFAULT_JOBS=2
. "$(dirname "$0")/serve_bench_lib.sh"
img=$(bench_image par "$SIZE_MIB" 6)
export IMG=$img.xz RAW=$img SLOTS

cat >client.sh <<'X'
set -u
LEN=$(stat -c %s "$IMG")
now() { date +%s.%N; }
# flash_at_once SLOT...: every upload started, then every state polled to
# its end; prints the wall time, the longest simulated time and the RSS.
flash_at_once() {
	local t0 t1 s h sim=0 i=0 pids=()
	t0=$(now)
	for s in "$@"; do
		api "opt=set&type=flash&file=bench.img.xz&length=$LEN&node=$((s - 1))"
		[ "$status" = 200 ] || fail "slot $s: $status $(cat body)"
		h=$(python3 -c 'import json; print(json.load(open("body"))["handle"])')
		echo "$h" >"handle.$s"
		curl -sk --max-time 600 -o "up.$s" -w '%{http_code}' \
			-F "file=@$IMG;type=application/octet-stream" "$BASE/api/bmc/upload/$h" >"code.$s" &
		pids+=($!)
	done
	wait "${pids[@]}"
	for s in "$@"; do
		[ "$(cat "code.$s")" = 200 ] || fail "slot $s: upload $(cat "code.$s") $(cat "up.$s")"
		while api "opt=get&type=flash&handle=$(cat "handle.$s")"; grep -q '^{"Transferring"' body; do
			sleep 0.2 # tpi polls every 500 ms
		done
		grep -q '^{"Done"' body || fail "slot $s: $(cat body)"
		sim=$(python3 -c "import json; d=json.load(open('body'))['Done'][0]; print(max($sim, d['secs'] + d['nanos'] / 1e9))")
		cmp -s -n "$(stat -c %s "$RAW")" "$RAW" "emmc/slot$s.emmc" || fail "slot $s: the eMMC differs"
	done
	t1=$(now)
	echo "$# wall $(python3 -c "print($t1 - $t0)") sim $sim rss_kib $(awk '/VmHWM/ { print $2 }' /proc/$SERVE_PID/status)"
}
serve_start --flash-opt loader=loader.bin --flash-jobs "$SLOTS"
flash_at_once $ONLY
serve_stop
X
run() { # SLOTS...: a twin and a fresh server for these flashes
	rm -rf emmc
	ONLY="$*" "$TWIN" --rev 2.5 --slot 1=rk1 --slot 2=rk1 --slot 3=rk1 --slot 4=rk1 \
		--emmc-size $((SIZE_MIB + 64))M --emmc-dir emmc -q -- bash -c \
		". '$SRCDIR/tests/regress/lib.sh'; . '$SRCDIR/tests/regress/serve_lib.sh'; . ./client.sh" \
		>>res.txt 2>twin.err || { cat res.txt twin.err serve.err 2>/dev/null | tail -30; exit 1; }
}
export ONLY
run 1
run $(seq 1 "$SLOTS")
rm -rf emmc
"$TWIN" --rev 2.5 --slot 1=rk1 --slot 2=rk1 --slot 3=rk1 --slot 4=rk1 \
	--emmc-size $((SIZE_MIB + 64))M --emmc-dir emmc -q -- \
	/usr/bin/time -f 'fanout_rss_kib %M wall %e' "$TPKIT" flash --slot "1-$SLOTS" --image "$IMG" \
	--loader loader.bin -q 2>&1 | grep '^fanout_rss_kib' >>res.txt
cat res.txt
python3 - "$RATIO_TARGET" "$RSS_TARGET_MIB" "$SLOTS" res.txt "$DEFAULT_JOBS" <<'P'
import sys
ratio_t, rss_t, n = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
rss_checked = n <= int(sys.argv[5])
r = {}
for line in open(sys.argv[4]):
    w = line.split()
    if w and w[0] == "fanout_rss_kib":
        r["fan"] = (int(w[1]) / 1024, float(w[3]))
    elif w and w[1] == "wall":
        r[int(w[0])] = (float(w[2]), float(w[4]), int(w[6]) / 1024)
one, many = r[1], r[n]
ratio = many[1] / (n * one[1])
ok = ratio <= ratio_t and (many[2] <= rss_t or not rss_checked)
print(f"one flash: wall {one[0]:.2f} s, simulated {one[1]:.2f} s, server peak RSS {one[2]:.1f} MiB")
print(f"{n} at once: wall {many[0]:.2f} s, simulated {many[1]:.2f} s, server peak RSS "
      f"{many[2]:.1f} MiB" + (f" (target <= {rss_t})" if rss_checked else
                              f" (no target: more than the default --flash-jobs)"))
print(f"{n} at once against {n} one after another: {ratio:.2f}x simulated (target <= {ratio_t}), "
      f"{many[0] / (n * one[0]):.2f}x wall")
print(f"tpkit flash --slot 1-{n} (one stream fanned out): wall {r['fan'][1]:.2f} s, "
      f"peak RSS {r['fan'][0]:.1f} MiB")
print("targets met" if ok else "TARGET MISSED")
sys.exit(0 if ok else 1)
P
