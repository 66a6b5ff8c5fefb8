#!/bin/bash
# SPDX-License-Identifier: MIT
# make demo: tpkit driving a simulated Turing Pi 2 (the board twin), showing
# what a user on a real BMC would type and see, then the twin's timeline of
# every line and regulator change with its (virtual) time.
set -euo pipefail
build=${1:-build}
tpkit=$(cd "$build" && pwd)/tpkit
twin=$(cd "$build" && pwd)/tests/twin/tp-twin
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat >"$work/session.sh" <<SESSION
set -e
run() { printf '\n\033[1m\$ tpkit %s\033[0m\n' "\$*"; "$tpkit" "\$@"; }
run info
run power on --slot 1-2
run power status
run usb flash --slot 2
run usb status
run power reset --slot 2
run usb device --slot 2
run power off
SESSION

echo "A Turing Pi 2 v2.5.1 twin: RK1 in slots 1 and 2, a CM4 in slot 3, slot 4 empty."
"$twin" --rev 2.5.1 --slot 1=rk1 --slot 2=rk1 --slot 3=cm4 --slot 4=empty \
	--timeline "$work/timeline" -- bash "$work/session.sh"
printf '\n\033[1mWhat the board saw (virtual ms; hold = GPIO line requests):\033[0m\n'
grep -v ' hold ' "$work/timeline"
