# SPDX-License-Identifier: MIT
# Sourced by scripts/demo.sh and scripts/demo-flash.sh: a work directory in
# /var/tmp (work, with the BMC's fake root in root and its SD card in sd),
# left clean however the demo ends; the image server's pid (server) and the
# SD card's tmpfs (mounted) are undone first. B and N: bold on a terminal.
work=$(mktemp -d /var/tmp/tpkit-demo.XXXXXX)
root=$work/root sd=$work/root/mnt/sdcard
server='' mounted=''
demo_cleanup() {
	if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
	if [ -n "$mounted" ]; then umount "$sd" || { echo "demo: could not unmount $sd; left $work" >&2; return; }; fi
	rm -rf --one-file-system "$work"
}
trap demo_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP
cd "$work"
if [ -t 1 ]; then B=$'\033[1m' N=$'\033[0m'; else B='' N=''; fi
