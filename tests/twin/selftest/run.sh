#!/bin/bash
# SPDX-License-Identifier: MIT
# Self-test of the board twin (docs/twin.md): runs scripted clients
# (client.py) under tp-twin and checks replies, timeline, final state,
# fake root and exit status. Prints one line per check; exits 1 if any
# check failed.
#
# usage: tests/twin/selftest/run.sh PATH/TO/tp-twin
set -u

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
	echo "usage: $0 PATH/TO/tp-twin" >&2
	exit 2
fi
TWIN=$(realpath "$1")
HERE=$(dirname "$(realpath "$0")")
CLIENT=$HERE/client.py
PY=/usr/bin/python3
W=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$W"' EXIT

checks=0
fails=0
CUR=

# run NAME [TWIN-OPTIONS...] -- [CLIENT-STEPS...]
# Leaves NAME.out (client output), .err (stderr), .tl, .st, .rc in $W.
run() {
	local name=$1 opts=()
	shift
	while [ "$1" != "--" ]; do
		opts+=("$1")
		shift
	done
	shift
	CUR=$name
	timeout 60 "$TWIN" "${opts[@]}" --timeline "$W/$name.tl" \
		--state "$W/$name.st" -- "$PY" "$CLIENT" "$@" \
		>"$W/$name.out" 2>"$W/$name.err"
	echo $? >"$W/$name.rc"
	# Timeline with runs of spaces squeezed, for line checks.
	sed -e 's/^ *//' -e 's/  */ /g' "$W/$name.tl" >"$W/$name.tln" 2>/dev/null
}

pass() {
	checks=$((checks + 1))
	echo "ok   $CUR: $1"
}

fail() {
	checks=$((checks + 1))
	fails=$((fails + 1))
	echo "FAIL $CUR: $1"
	for f in out err tl st; do
		[ -s "$W/$CUR.$f" ] && sed "s/^/     $f| /" "$W/$CUR.$f"
	done
}

check() { # check DESCRIPTION COMMAND...
	local what=$1
	shift
	if "$@"; then pass "$what"; else fail "$what"; fi
}

rc() { check "exit status $1" [ "$(cat "$W/$CUR.rc")" = "$1" ]; }
out() { check "reply: $1" grep -qxF -- "$1" "$W/$CUR.out"; }
tl() { check "timeline: $1" grep -qxF -- "$1" "$W/$CUR.tln"; }
notl() { check "no timeline: $1" bash -c '! grep -qF -- "$1" "$2"' _ "$1" "$W/$CUR.tln"; }
st() { check "state: $1" grep -qxF -- "$1" "$W/$CUR.st"; }
err() { check "stderr: $1" grep -qF -- "$1" "$W/$CUR.err"; }
violations() { check "$1 violation(s)" [ "$(grep -c ' error ' "$W/$CUR.tln")" = "$1" ]; }

R=sys/bus/platform/devices

# --- the example in docs/twin.md, byte for byte -------------------------
run example --rev 2.5 --slot 2=rk1 -- "HELLO tpkit" "FIND node2-en" \
	"REQUEST gpiochip2 3 tpkit" write:$R/node2-power/state=enabled \
	"SLEEP 100000000" "SET gpiochip2 3 1"
rc 0
out "HELLO tpkit => OK tp-twin 1"
out "FIND node2-en => OK gpiochip2 3"
out "REQUEST gpiochip2 3 tpkit => OK 0"
out "SLEEP 100000000 => OK 450000000"
cat >"$W/example.want" <<'EOF'
    0.000  hold  node2-en     free -> tpkit
    0.000  reg   node2-power  disabled -> enabled  (atx-psu +250 ms, slot +100 ms)
    0.000  reg   atx-psu      disabled -> enabled
  450.000  gpio  node2-en     0 -> 1
  450.000  slot  2            off -> on  (rk1)
  450.000  hold  node2-en     tpkit -> free
EOF
check "timeline matches the spec example" cmp -s "$W/example.want" "$W/example.tl"
st "rev 2.5"
st "atx-psu enabled"
st "slot 2 module rk1 regulator enabled en 1 power on strap 0 usb usb-c/device"
st "slot 1 module empty regulator disabled en 0 power off strap 0 usb usb-c/device"

# --- FIND on every revision ---------------------------------------------
v24=(node1-en node1-rst node1-usbotg-dev node1-rpiboot node2-en node2-rst
	node2-usbotg-dev node2-rpiboot node3-en node3-rst node3-usbotg-dev
	node3-rpiboot node4-en node4-rst node4-usbotg-dev node4-rpiboot)
v25=(node1-en node1-usbotg-dev node1-rpiboot node2-en node2-rpiboot
	node3-en node3-rpiboot node4-en node4-rpiboot)
steps=("HELLO t")
for n in "${v24[@]}"; do steps+=("FIND $n"); done
steps+=("FIND PG5" "FIND latch0")
run find24 --rev 2.4 -- "${steps[@]}"
rc 0
for i in "${!v24[@]}"; do out "FIND ${v24[$i]} => OK gpiochip1 $i"; done
out "FIND PG5 => ERR ENOENT no line named PG5"
for rev in 2.5 2.5.1 2.5.2; do
	steps=("HELLO t")
	for n in "${v25[@]}"; do steps+=("FIND $n"); done
	steps+=("FIND node1-rst" "FIND node2-usbotg-dev" "INFO gpiochip1 0"
		"REQUEST gpiochip1 8 t")
	run find$rev --rev $rev -- "${steps[@]}"
	rc 0
	for i in "${!v25[@]}"; do out "FIND ${v25[$i]} => OK gpiochip2 $i"; done
	out "FIND node1-rst => ERR ENOENT no line named node1-rst"
	out "FIND node2-usbotg-dev => ERR ENOENT no line named node2-usbotg-dev"
	out "INFO gpiochip1 0 => OK out 1 kernel"
	out "REQUEST gpiochip1 8 t => ERR EBUSY kernel"
done

# --- REQUEST / SET / GET / RELEASE, holds across connections ------------
run lines --rev 2.5.1 -- "HELLO a" "INFO gpiochip2 4" "REQUEST gpiochip2 4 tpkit" \
	"INFO gpiochip2 4" "GET gpiochip2 4" "SET gpiochip2 4 1" "GET gpiochip2 4" \
	"INFO gpiochip2 4" conn "HELLO b" "REQUEST gpiochip2 4 other" close \
	"RELEASE gpiochip2 4" "INFO gpiochip2 4" conn "HELLO c" \
	"REQUEST gpiochip2 4 third" "REQUEST gpiochip0 197 third" \
	"REQUEST gpiochip0 100 x" "REQUEST gpiochip0 200 x" "REQUEST gpiochip0 195 x" \
	"NOW" "SLEEP 1500" "SLEEP 0" "NOW"
rc 0
out "INFO gpiochip2 4 => OK in 0 -"
out "REQUEST gpiochip2 4 tpkit => OK 0"
out "INFO gpiochip2 4 => OK in 1 tpkit"
out "GET gpiochip2 4 => OK 1"
out "INFO gpiochip2 4 => OK out 1 tpkit"
out "REQUEST gpiochip2 4 other => ERR EBUSY tpkit"
out "INFO gpiochip2 4 => OK out 0 -"
out "REQUEST gpiochip2 4 third => OK 1"
out "REQUEST gpiochip0 100 x => ERR EBUSY kernel"
out "REQUEST gpiochip0 200 x => ERR EBUSY kernel"
out "REQUEST gpiochip0 195 x => ERR EBUSY kernel"
out "NOW => OK 0"
out "SLEEP 1500 => OK 1500"
out "NOW => OK 1500"
tl "0.000 gpio node2-rpiboot 0 -> 1"
tl "0.000 hold node2-rpiboot tpkit -> free"
tl "0.001 hold node2-rpiboot third -> free"
tl "0.001 hold PG5 third -> free"
st "slot 2 module empty regulator disabled en 0 power off strap 1 usb usb-c/device"

# --- --real-clock: the clock never runs behind real time ----------------
run realclock --real-clock --rev 2.4 -- "HELLO t" "CLOCK" "pause:300" "NOW" "SLEEP 7000000000" "NOW"
rc 0
out "CLOCK => OK real"
ns=$(sed -n 's/^NOW => OK //p' "$W/realclock.out" | tr '\n' ' ')
check "NOW follows real time, SLEEP still jumps ahead: $ns" \
	awk -v a="${ns%% *}" -v b="${ns#* }" 'BEGIN { exit !(a >= 300000000 && a < 7000000000 && b >= a + 7000000000) }'
run virtclock --rev 2.4 -- "HELLO t" "CLOCK" "pause:100" "NOW"
out "CLOCK => OK virtual"
out "NOW => OK 0"

# --- --hold: EBUSY names the holder -------------------------------------
run hold --rev 2.4 --hold node3-en=bmcd --hold PG5=bmcd -- "HELLO t" \
	"REQUEST gpiochip1 8 tpkit" "INFO gpiochip1 8" "REQUEST gpiochip0 197 tpkit"
rc 0
out "REQUEST gpiochip1 8 tpkit => ERR EBUSY bmcd"
out "INFO gpiochip1 8 => OK out 1 bmcd"
out "REQUEST gpiochip0 197 tpkit => ERR EBUSY bmcd"
violations 0

# --- regulators, ATX and the virtual clock ------------------------------
run regs --rev 2.5 --slot 1=cm4 -- "HELLO t" write:$R/node1-power/state=enabled \
	"NOW" write:$R/node3-power/state=1 "NOW" read:$R/node3-power/state \
	write:$R/node3-power/state=enabled "NOW" write:$R/node1-power/state=disabled\\n \
	"NOW" write:$R/node3-power/state=0 "NOW" write:$R/node3-power/state=enabled\\n \
	"NOW"
rc 0
out "NOW => OK 350000000"
out "NOW => OK 450000000"
out "read $R/node3-power/state => b'enabled\\n'"
tl "0.000 reg node1-power disabled -> enabled (atx-psu +250 ms, slot +100 ms)"
tl "0.000 reg atx-psu disabled -> enabled"
tl "350.000 reg node3-power disabled -> enabled (slot +100 ms)"
tl "450.000 reg node1-power enabled -> disabled"
tl "450.000 reg node3-power enabled -> disabled"
tl "450.000 reg atx-psu enabled -> disabled"
tl "450.000 reg node3-power disabled -> enabled (atx-psu +250 ms, slot +100 ms)"
tl "450.000 reg atx-psu disabled -> enabled"
out "NOW => OK 800000000"
check "no slot event without nodeN-en" bash -c '! grep -q "^[0-9.]* slot " "$1"' _ "$W/regs.tln"
st "atx-psu enabled"
st "slot 3 module empty regulator enabled en 0 power off strap 0 usb usb-c/device"

run vbus --rev 2.4 -- "HELLO t" write:$R/usb-port-power/state=enabled "NOW" \
	read:$R/usb-port-power/state
rc 0
out "NOW => OK 5000000"
tl "0.000 reg usb-port-power disabled -> enabled (+5 ms)"
st "usb-port-power enabled"
st "atx-psu disabled"

# --- slot power follows regulator AND nodeN-en --------------------------
run slot --rev 2.4 --slot 4=rk1 -- "HELLO t" "REQUEST gpiochip1 12 t" \
	"SET gpiochip1 12 1" write:$R/node4-power/state=enabled "SLEEP 100" \
	"SET gpiochip1 12 0" "SET gpiochip1 12 1" write:$R/node4-power/state=disabled "NOW"
rc 0
tl "0.000 gpio node4-en 0 -> 1"
tl "0.000 slot 4 off -> on (rk1)"
tl "350.000 gpio node4-en 1 -> 0"
tl "350.000 slot 4 on -> off (rk1)"
tl "350.000 reg node4-power enabled -> disabled"
tl "350.000 slot 4 on -> off (rk1)"
st "slot 4 module rk1 regulator disabled en 1 power off strap 0 usb none/host"

# --- USB links: v2.4 mux ------------------------------------------------
# [PG1, PG2, PG0, PG3] per node (hardware.md §6.2); SET order PG1 PG2 PG0 PG3.
mux() { # mux NODE-PATTERN -> SET steps
	local p=$1 i=0
	for off in 193 194 192 195; do
		echo "SET gpiochip0 $off ${p:$i:1}"
		i=$((i + 1))
	done
}
steps=("HELLO t")
for off in 192 193 194 195 197; do steps+=("REQUEST gpiochip0 $off t"); done
steps+=("REQUEST gpiochip1 6 t" "SET gpiochip0 197 1")
mapfile -t -O ${#steps[@]} steps < <(mux 0011)
steps+=("SLEEP 1000000")
mapfile -t -O ${#steps[@]} steps < <(mux 1011)
steps+=("SET gpiochip1 6 1" "SLEEP 1000000")
mapfile -t -O ${#steps[@]} steps < <(mux 1100)
steps+=("SLEEP 1000000" "SET gpiochip0 197 0" "SLEEP 1000000")
mapfile -t -O ${#steps[@]} steps < <(mux 1110)
steps+=("SLEEP 1000000")
mapfile -t -O ${#steps[@]} steps < <(mux 0000)
run mux24 --rev 2.4 -- "${steps[@]}"
rc 0
tl "0.000 usb node1 none/host -> bmc/host"
tl "1.000 usb node1 bmc/host -> none/host"
tl "1.000 usb node2 none/host -> bmc/host"
tl "1.000 usb node2 bmc/host -> bmc/device"
tl "2.000 usb node2 bmc/device -> none/device"
tl "2.000 usb node3 none/host -> bmc/host"
tl "3.000 usb node3 bmc/host -> usb-a/host"
tl "4.000 usb node3 usb-a/host -> none/host"
tl "4.000 usb node4 none/host -> usb-a/host"
tl "5.000 usb node4 usb-a/host -> none/host"
st "slot 2 module empty regulator disabled en 0 power off strap 0 usb none/device"
st "pin PG5 0"
st "pin PG3 0"

# --- USB links: v2.5 hub and PG pins ------------------------------------
run hub25 --rev 2.5.2 -- "HELLO t" "REQUEST gpiochip0 192 t" \
	"REQUEST gpiochip0 193 t" "REQUEST gpiochip0 194 t" "SET gpiochip0 194 1" \
	"SLEEP 1000000" "SET gpiochip0 192 1" "SET gpiochip0 193 1" "SLEEP 1000000" \
	"SET gpiochip0 194 0" "SLEEP 1000000" "SET gpiochip0 192 0"
rc 0
for n in 1 2 3 4; do tl "0.000 usb node$n usb-c/device -> bmc/device"; done
tl "1.000 usb node1 bmc/device -> usb-a/device"
tl "2.000 usb node2 bmc/device -> usb-c/device"
tl "3.000 usb node1 usb-a/device -> usb-c/device"
st "rev 2.5.2"
st "slot 1 module empty regulator disabled en 0 power off strap 0 usb usb-c/device"
st "pin PG0 0"
st "pin PG1 1"
st "pin PG2 0"

# --- --on, --missing-regulator, --fail-set -------------------------------
run on --rev 2.5 --on 3 --slot 3=rk1 --missing-regulator 2 --fail-set node3-en -- \
	"HELLO t" read:$R/node3-power/state exists:$R/node2-power/state \
	exists:$R/node2-power "INFO gpiochip2 5" "REQUEST gpiochip2 5 t" \
	"SET gpiochip2 5 1" "SET gpiochip2 5 0" "SET gpiochip2 5 0" "GET gpiochip2 5"
rc 0
out "read $R/node3-power/state => b'enabled\\n'"
out "exists $R/node2-power/state => no"
out "exists $R/node2-power => yes"
out "INFO gpiochip2 5 => OK out 0 -"
out "REQUEST gpiochip2 5 t => OK 1"
out "SET gpiochip2 5 1 => OK"
out "SET gpiochip2 5 0 => ERR EIO injected failure (--fail-set node3-en)"
out "SET gpiochip2 5 0 => OK"
out "GET gpiochip2 5 => OK 0"
tl "0.000 slot 3 on -> off (rk1)"
st "slot 2 module empty regulator missing en 0 power off strap 0 usb usb-c/device"
st "atx-psu enabled"
violations 0

run missing --missing-regulator 2 -- "HELLO t" write:$R/node1-power/state=enabled \
	"NOW"
rc 0
st "slot 2 module empty regulator missing en 0 power off strap 0 usb usb-c/device"

# --- reading what the kernel offers read-only is fine --------------------
run reads --rev 2.4 -- "HELLO t" read:proc/device-tree/model read:proc/meminfo \
	read:sys/bus/i2c/devices/2-0050/eeprom read:$R/node1-power/state \
	read:$R/usb-port-power/state "NOW"
rc 0
out "read proc/device-tree/model => b'Turing Pi 2 (v2.4)\\x00'"
violations 0

# --- violations: each one alone makes the run exit 90 -------------------
vio() { # vio NAME EXPECTED-REPLY STEP...
	local name=$1 want=$2
	shift 2
	run "vio-$name" -- "$@"
	rc 90
	violations 1
	[ -n "$want" ] && out "$want"
	err "tp-twin: VIOLATION: "
}
vio hello "NOW => ERR EPROTO NOW before HELLO" "NOW"
vio malformed "FIND  node1-en => ERR EINVAL malformed request \"FIND  node1-en\"" \
	"HELLO t" "FIND  node1-en"
vio verb "FROB => ERR EINVAL malformed request \"FROB\"" "HELLO t" "FROB"
vio args "SET gpiochip2 0 => ERR EINVAL malformed request \"SET gpiochip2 0\"" \
	"HELLO t" "SET gpiochip2 0"
vio unheld "SET gpiochip2 0 1 => ERR EPERM SET of a line this connection does not hold (holder: none)" \
	"HELLO t" "SET gpiochip2 0 1"
vio unheld-get "GET gpiochip2 0 => ERR EPERM GET of a line this connection does not hold (holder: b)" \
	"HELLO b" "REQUEST gpiochip2 0 b" conn "HELLO t" "GET gpiochip2 0"
vio value "SET gpiochip2 0 2 => ERR EINVAL SET to \"2\" (values are 0 and 1)" \
	"HELLO t" "REQUEST gpiochip2 0 t" "SET gpiochip2 0 2"
vio chip "GET gpiochip7 0 => ERR ENODEV no chip named gpiochip7" "HELLO t" "GET gpiochip7 0"
vio offset "INFO gpiochip0 224 => ERR EINVAL gpiochip0 has no line 224" \
	"HELLO t" "INFO gpiochip0 224"
vio number "SLEEP 1e9 => ERR EINVAL bad SLEEP duration \"1e9\"" "HELLO t" "SLEEP 1e9"
vio crlf "" "HELLO t" "raw:NOW\\r\\n"
vio regword "" "HELLO t" write:$R/node1-power/state=on "NOW" read:$R/node1-power/state
out "read $R/node1-power/state => b'disabled\\n'"
err "node1-power: wrote \"on\""
vio eeprom "" "HELLO t" write:sys/bus/i2c/devices/2-0050/eeprom=x "NOW"
# usb-port-power exists only on v2.4: writing it elsewhere fails (ENOENT).
run nousbport --rev 2.5 -- "HELLO t" "write:$R/usb-port-power/state=enabled"
rc 1
cat >"$W/create.py" <<'EOF'
import os
p = os.path.join(os.environ["TPKIT_ROOT"], "sys/bus/platform/devices/node4-power/state")
with open(p, "w") as f:
    f.write("enabled")
EOF
CUR=vio-create2
timeout 60 "$TWIN" -q --missing-regulator 4 --state "$W/$CUR.st" -- "$PY" "$W/create.py" \
	>"$W/$CUR.out" 2>"$W/$CUR.err"
echo $? >"$W/$CUR.rc"
rc 90
err "node4-power: created \"state\""
st "slot 4 module empty regulator missing en 0 power off strap 0 usb usb-c/device"

# --- exit status pass-through --------------------------------------------
run status7 -- "HELLO t" "exit:7"
rc 7
run signal -- "HELLO t" "REQUEST gpiochip2 0 t" "signal:15"
rc 143
tl "0.000 hold node1-en t -> free"
run badusage --rev 3.0 -- "HELLO t"
rc 2
run badslot --slot 5=rk1 -- "HELLO t"
rc 2
run badhold --rev 2.5 --hold node1-rst=bmcd -- "HELLO t"
rc 2
run badhold2 --hold PD3=bmcd -- "HELLO t"
rc 2
run badeeprom --eeprom 0x12345 -- "HELLO t"
rc 2
CUR=nocommand
"$TWIN" >/dev/null 2>&1
echo $? >"$W/$CUR.rc"
rc 2
CUR=noexec
"$TWIN" -q -- /nonexistent/cmd >/dev/null 2>&1
echo $? >"$W/$CUR.rc"
rc 127

# SIGTERM to the twin goes to the command; the twin still reports.
CUR=sigterm
"$TWIN" -q -- /bin/sleep 30 >/dev/null 2>"$W/$CUR.err" &
pid=$!
sleep 0.5
kill -TERM $pid
wait $pid
echo $? >"$W/$CUR.rc"
rc 143

# --- environment, temporary root and socket removed at exit --------------
run env -- env:TPKIT_TWIN env:TPKIT_ROOT env:TPKIT_GPIO
rc 0
out "env TPKIT_TWIN => 1"
root=$(sed -n 's/^env TPKIT_ROOT => //p' "$W/env.out")
sock=$(sed -n 's/^env TPKIT_GPIO => sim://p' "$W/env.out")
check "temporary root was used and removed" bash -c '[ -n "$1" ] && [ ! -e "$1" ]' _ "$root"
check "socket directory removed" bash -c '[ -n "$1" ] && [ ! -e "$(dirname "$1")" ]' _ "$sock"

# --- timeline output options ---------------------------------------------
CUR=stderr-timeline
"$TWIN" --rev 2.5 -- "$PY" "$CLIENT" "HELLO t" "REQUEST gpiochip2 0 t" \
	>/dev/null 2>"$W/$CUR.err"
echo $? >"$W/$CUR.rc"
rc 0
err "  hold  node1-en     free -> t"
CUR=quiet
"$TWIN" -q --rev 2.5 -- "$PY" "$CLIENT" "HELLO t" "REQUEST gpiochip2 0 t" \
	>/dev/null 2>"$W/$CUR.err"
echo $? >"$W/$CUR.rc"
rc 0
check "-q prints nothing" [ ! -s "$W/$CUR.err" ]

# --- several processes share one board -----------------------------------
CUR=multi
timeout 60 "$TWIN" --timeline "$W/$CUR.tl" --state "$W/$CUR.st" -- /bin/sh -c "
	'$PY' '$CLIENT' 'HELLO a' 'REQUEST gpiochip2 0 a' 'SET gpiochip2 0 1' 'SLEEP 1000' &&
	'$PY' '$CLIENT' 'HELLO b' 'REQUEST gpiochip2 0 b' 'NOW'" >"$W/$CUR.out" 2>"$W/$CUR.err"
echo $? >"$W/$CUR.rc"
sed -e 's/^ *//' -e 's/  */ /g' "$W/$CUR.tl" >"$W/$CUR.tln"
rc 0
out "REQUEST gpiochip2 0 b => OK 1"
out "NOW => OK 1000"
tl "0.001 hold node1-en free -> b"

# --- the fake root --------------------------------------------------------
check_root() { # check_root NAME REV-OPTIONS... -- PYTHON-ASSERTIONS
	local name=$1 opts=()
	shift
	while [ "$1" != "--" ]; do opts+=("$1"); shift; done
	shift
	CUR=$name
	rm -rf "$W/root-$name"
	"$TWIN" -q "${opts[@]}" --root "$W/root-$name" -- /bin/true >/dev/null 2>&1
	echo $? >"$W/$CUR.rc"
	rc 0
	check "$1" "$PY" -c "
import os, zlib, struct, sys
root = sys.argv[1]
def rd(p):
    return open(os.path.join(root, p), 'rb').read()
def ex(p):
    return os.path.exists(os.path.join(root, p))
def board(e):
    crc = struct.unpack('>I', e[2:6])[0]
    return crc == zlib.crc32(e[6:50]), struct.unpack('<H', e[8:10])[0]
assert $2, 'failed'
" "$W/root-$name"
}
E=sys/bus/i2c/devices/2-0050/eeprom
M=proc/device-tree/model
check_root r24 --rev 2.4 -- "model v2.4, EEPROM 0x1100 with good CRC" \
	"rd('$M') == b'Turing Pi 2 (v2.4)\\0' and board(rd('$E')) == (True, 0x1100) and len(rd('$E')) == 256 and rd('$E')[50:] == b'\\xff' * 206 and ex('$R/usb-port-power/state')"
check_root r25 --rev 2.5 -- "model v2.5, EEPROM 0x1140" \
	"rd('$M') == b'Turing Pi 2 (v2.5)\\0' and board(rd('$E')) == (True, 0x1140) and not ex('$R/usb-port-power')"
check_root r251 -- "default rev 2.5.1" \
	"rd('$M') == b'Turing Pi 2 (v2.5.1)\\0' and board(rd('$E')) == (True, 0x1141)"
check_root r252 --rev 2.5.2 -- "v2.5.2 carries the v2.5.1 model, EEPROM 0x1142" \
	"rd('$M') == b'Turing Pi 2 (v2.5.1)\\0' and board(rd('$E')) == (True, 0x1142)"
check_root rfields --rev 2.5 -- "EEPROM fields" \
	"rd('$E')[6:8] == b'\\1\\0' and rd('$E')[0x0c:0x1c] == b'TP2TWIN00000001\\0' and rd('$E')[0x1c:0x2c] == b'Turing Pi 2'.ljust(16, b'\\0') and rd('$E')[0x2c:0x32] == bytes.fromhex('027470320001')"
check_root rbad --eeprom bad-crc -- "--eeprom bad-crc" "board(rd('$E')) == (False, 0x1141)"
check_root rcode --eeprom 0x1234 -- "--eeprom 0xCODE" "board(rd('$E')) == (True, 0x1234)"
check_root rnone --eeprom none --no-model -- "--eeprom none, --no-model" \
	"not ex('$E') and not ex('$M') and ex('proc/device-tree')"
check_root rmodel --model 'Custom board' -- "--model" "rd('$M') == b'Custom board\\0'"
check_root rmisc -- "os-release, meminfo, ttyS1-4, run/, regulators" \
	"b'VERSION=2.1.0-twin\\n' in rd('etc/os-release') and rd('proc/meminfo').startswith(b'MemTotal:         120452 kB\\n') and all(ex('dev/ttyS%d' % n) for n in range(1, 5)) and os.path.isdir(os.path.join(root, 'run')) and all(rd('$R/node%d-power/state' % n) == b'disabled\\n' for n in range(1, 5))"

# The simulated RK1 on USB (its own file, same helpers and counters).
. "$HERE/rk1.sh"
# The simulated CM4 (rpiboot, mass storage); uses rk1.sh's helpers.
. "$HERE/cm4.sh"

# A sanitizer build reports UBSan findings without changing the status.
CUR=all
check "no sanitizer reports on stderr" bash -c '! grep -l "Sanitizer\|runtime error" "$1"/*.err' _ "$W"

echo "tp-twin self-test: $checks checks, $fails failed"
[ "$fails" -eq 0 ]
