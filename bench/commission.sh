#!/bin/bash
# SPDX-License-Identifier: MIT
# Commissioning benchmark on the board twin (docs/commission.md §13): tpkit
# commission of four slots (RK1 server, RK1 agent, CM4 agent, RK1 agent)
# against one slot (the RK1 server), in one run, on a v2.4 twin (one USB
# path: flashes one after another, beside the others' boots) and on a v2.5
# one (the hub: the RK1s flashed together, then the CM4). Time is the
# twin's simulated time (its virtual clock: NOW before and after the
# command), which the USB transfers, the CM4 disks and the power sequences
# advance.
#
# The nodes are stand-ins for QEMU (as in tests/regress/167_commission_four.test) that print
# their report lines, up to `helper done`, the moment their VM starts; the
# twin starts a node's VM BOOT_S simulated seconds after its power-on
# (--rk-boot-time, --cm4-boot-time): one fixed time for boot, first-boot
# steps and install, the same in both runs, on the one virtual clock, so
# that it overlaps a flash that runs meanwhile as a real node's boot does.
# Nothing else moves the clock while tpkit only waits for consoles, so a
# driver (clock.py) does, as the twin's --peer-clock does for real-time
# programs: when the clock has stood still for 0.2 s of real time, no
# flash or power job is running (tpkit's events say so) and a node is
# booting, it moves the clock to that node's VM start (its power-on, read
# from the clock when tpkit reported it, + BOOT_S). tpkit's own jump to a
# timeout (after 1.5 s of quiet, §6) never comes first.
#
#   bench/commission.sh [BUILD_DIR]     (default build/; run `make tests` first)
#   env: BOOT_S=120 (a node's boot + install, simulated seconds)  REVS="2.4 2.5"
#
# Targets: four slots <= 1.5x one slot on v2.4, <= 1.2x on v2.5 (issue 12);
# exit status 1 if one is missed.
set -euo pipefail
BUILD=$(realpath "${1:-build}")
SRC=$(cd "$(dirname "$0")/.." && pwd)
BOOT_S=${BOOT_S:-120}
REVS=${REVS:-2.4 2.5}
export TPKIT=$BUILD/tpkit TWIN=$BUILD/tests/twin/tp-twin MKLDR=$BUILD/tests/tools/mkldr
RL=$BUILD/tests/tools/report_line
for t in "$TPKIT" "$TWIN" "$MKLDR" "$RL" "$BUILD/tpkit-node"; do
	[ -x "$t" ] || { echo "bench/commission.sh: no $t; run make tests first" >&2; exit 1; }
done
export PATH=$PATH:/usr/sbin:/sbin
work=$(mktemp -d "${TMPDIR:-/var/tmp}/tpkit-commission-bench.XXXXXX")
[ -n "${KEEP:-}" ] || trap 'rm -rf "$work"' EXIT
cd "$work"
export TMP=$work SRCDIR=$SRC
fail() { echo "bench/commission.sh: $*" >&2; exit 1; }
. "$SRC/tests/regress/flash_lib.sh"
. "$SRC/tests/regress/commission_lib.sh"
"$SRC/tests/twin/selftest/mkrpiboot.sh" rpi msd >/dev/null
export TPKIT_CONFIG_DIR=$work/conf TPKIT_STATE_DIR=$work/state FAKEQ=$work BOOT_S
KEY="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF23YN3yxyFXZxVNdzZU50fAnN5dvJ8QY3z9IiocIEZL bench@laptop"
"$TPKIT" config set admin/keys "$KEY" >/dev/null
"$TPKIT" config hostkeys --slot 1-4 >/dev/null
make_tiny_rk1 rk1.img.xz
make_tiny_cm4 cm4.img.xz
for n in 1 2 4; do "$TPKIT" config set slot/$n/image "$work/rk1.img.xz" >/dev/null; done
"$TPKIT" config set slot/3/image "$work/cm4.img.xz" >/dev/null
for n in 1 2 3 4; do
	K=$TPKIT_STATE_DIR/secrets/slot$n/report-key
	{ printf '[    1.000000] Linux version 6.1 (stand-in)\r\n'; "$RL" "$K" $n run-1 1 helper start "slot $n"; } >slot$n.start
	{ "$RL" "$K" $n run-1 2 k3s_ready ok 'node Ready'; "$RL" "$K" $n run-1 3 helper done 'all steps done'; } >slot$n.end
done

cat >fakeq <<'EOS'
#!/bin/sh
for a in "$@"; do
	case "$a" in
	*slot[1-4].emmc*) s=${a##*slot}; s=${s%%.emmc*} ;;
	esac
done
cat "$FAKEQ/slot$s.start" "$FAKEQ/slot$s.end"
while read -r line; do :; done
EOS
chmod +x fakeq
# The clock driver: tpkit's events on stdin (copied to stdout).
cat >clock.py <<'PY'
import os, re, select, socket, sys, time
boot = int(float(os.environ["BOOT_S"]) * 1e9)
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(os.environ["TPKIT_GPIO"][4:])
f = s.makefile("rb")
def ask(line):
    s.sendall((line + "\n").encode())
    r = f.readline().decode().split()
    assert r and r[0] == "OK", r
    return int(r[-1]) if len(r) > 1 else 0
ask("HELLO bench clock")
busy, booting = set(), {}   # slots with a board job; slot -> its VM's start
last, still = ask("NOW"), time.monotonic()
inp = sys.stdin.buffer.raw
buf = b""
while True:
    r, _, _ = select.select([inp], [], [], 0.05)
    if r:
        d = os.read(inp.fileno(), 4096)
        if not d:
            break
        sys.stdout.buffer.write(d); sys.stdout.flush()
        buf += d
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            m = re.match(r"slot (\d): (\w+) \[\w+\]: (.*)", line.decode(errors="replace"))
            if not m:
                continue
            n, kind, text = m.groups()
            if kind == "flash" or (kind == "power" and text != "on"):
                busy.add(n)
            elif kind == "power":
                busy.discard(n)
                booting[n] = ask("NOW") + boot
            elif kind in ("report", "done", "failed"):
                booting.pop(n, None)
    now = ask("NOW")
    if now != last:
        last, still = now, time.monotonic()
    elif not busy and booting and time.monotonic() - still >= 0.2:
        t = min(booting.values())
        if t > now:
            last = ask("SLEEP %d" % (t - now))
        still = time.monotonic()
PY

NOW="/usr/bin/python3 $SRC/tests/twin/selftest/client.py 'HELLO bench' NOW"
# commission REV LIST TAG: blank eMMCs, no records; TAG.now, TAG.timeline, TAG.twin, TAG.out
commission() {
	rm -rf emmc "$TPKIT_STATE_DIR"/commission-slot*
	for n in 1 2 3 4; do seed_emmc emmc/slot$n.emmc $((64 * MIB)); done
	"$TWIN" --timeline $3.timeline --node-vm --rev $1 --slot 1=rk1 --slot 2=rk1 --slot 3=cm4 --slot 4=rk1 \
		--emmc-size 64M --emmc-dir emmc --qemu "$work/fakeq" \
		--rk-boot-time $((BOOT_S * 1000)) --cm4-boot-time $((BOOT_S * 1000)) -- sh -c "
		$NOW >$3.now && { '$TPKIT' commission --slot $2 --loader loader.bin --rpiboot-dir rpi \
			--node-helper '$BUILD/tpkit-node' 2>$3.err; echo \$? >$3.rc; } | python3 clock.py >$3.out
		rc=\$(cat $3.rc); $NOW >>$3.now; exit \$rc" 2>$3.twin || {
		echo "bench: v$1 --slot $2 failed; tpkit said:" >&2; cat $3.err >&2; return 1; }
}
sim_of() { awk '/^NOW => OK / { t[++n] = $NF } END { printf "%.3f", (t[2] - t[1]) / 1e9 }' "$1"; }
# flash_of TIMELINE: each slot's flash in simulated seconds, flash mode
# (its strap on) to the node off after it; "S:SECONDS ..."
flash_of() { awk '$2 == "gpio" && $4 == "0" && $6 == "1" && $3 ~ /^node[1-4]-rpiboot$/ {
		n = substr($3, 5, 1); start[n] = $1 }
	$2 == "slot" && $4 == "on" && $6 == "off" && ($3 in start) {
		printf "%s:%.3f ", $3, ($1 - start[$3]) / 1000; delete start[$3] }' "$1"; }
sum_of() { tr ' ' '\n' | awk -F: 'NF == 2 { s += $2 } END { printf "%.3f", s }'; }
# bytes over the USB link: the RK1 loaders' both ways, the CM4 disks' both ways
usb_bytes() { awk '/^tp-twin: usb node[0-9] loader / { for (i = 1; i <= NF; i++) {
		if ($i == "out," || $i == "in,") b += $(i - 2) } }
	/^tp-twin: block node[0-9] / { for (i = 1; i <= NF; i++) {
		if ($i == "written," || $i == "read,") b += $(i - 2) } }
	END { printf "%.0f", b }' "$1"; }

rc=0
echo "twin, tiny images (RK1 10 MiB, CM4 44 MiB, xz), seeded, read-back; a node's boot + install: $BOOT_S s simulated"
for rev in $REVS; do
	commission $rev 1 v$rev-one || { rc=1; continue; }
	commission $rev 1-4 v$rev-four || { rc=1; continue; }
	one=$(sim_of v$rev-one.now) four=$(sim_of v$rev-four.now)
	f1=$(flash_of v$rev-one.timeline | sum_of) fl4=$(flash_of v$rev-four.timeline)
	target=$([ $rev = 2.4 ] && echo 1.5 || echo 1.2)
	printf 'v%s: one slot %.1f s (its flash %.1f s), four slots %.1f s (flashes: %s)\n' $rev "$one" "$f1" "$four" "$fl4"
	awk -v rev=$rev -v one="$one" -v four="$four" -v f1="$f1" -v fs="$(echo "$fl4" | sum_of)" \
		-v b="$(usb_bytes v$rev-four.twin)" -v t=$target 'BEGIN {
		boot = one - f1   # after its flash: power-on, boot, install, on the same model in both runs
		printf "v%s: four / one = %.2fx (target <= %.1fx: %s)\n", rev, four / one, t, four / one <= t ? "met" : "MISSED"
		if (rev == "2.4")
			floor = fs + boot   # one USB path: the flashes in a row, then the last one boots
		else
			floor = b / 53248000 + boot # the hub: every byte over one USB 2.0 link at its bulk ceiling
		printf "v%s: the shared USB link'"'"'s floor: %s %.1f s + the last boot %.1f s = %.1f s, %.2fx one slot\n", rev,
			rev == "2.4" ? "the flashes one after another," : sprintf("%.0f bytes at 53.248 MB/s,", b),
			floor - boot, boot, floor, floor / one
		exit four / one > t
	}' || rc=1
done
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs"
exit $rc
