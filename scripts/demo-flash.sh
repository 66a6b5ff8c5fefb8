#!/bin/bash
# SPDX-License-Identifier: MIT
# make demo: tpkit on a simulated Turing Pi 2 (the board twin, docs/twin.md).
# It shows what a user on a real BMC would type and see: the board, the
# image catalogue and its cache on the SD card, then one command that
# flashes a mixed board with --image auto (RK1 in slots 1 and 2, a CM4 in
# slot 3, slot 4 empty: each module gets the catalogue's image for its kind),
# and node 1 booting from it. Afterwards each eMMC is compared with its image
# and the twin's timeline of what the board saw is printed.
#
#   scripts/demo-flash.sh [BUILD_DIR]  (default build/; `make demo-flash` runs it)
#
# The images are generated here, laid out as the published ones are (RK1:
# GPT, the Rockchip idblock "RKNS" at sector 64, U-Boot at 8 MiB, root at
# 16 MiB; CM4: MBR, FAT32 system-boot at sector 2048, ext4 writable), and
# served over HTTP from 127.0.0.1 (python3 http.server). The RK3588 loader is
# a synthetic one (tests/tools/mkldr): the real rk3588_spl_loader is
# Rockchip's binary and does not ship with tpkit; so are the CM4's rpiboot
# files (tests/twin/selftest/mkrpiboot.sh). The SD card is a tmpfs mounted at
# <root>/mnt/sdcard when run as root (skipped otherwise: the flash then
# streams from the URL). The demo does not depend on the order in which
# tpkit reports the slots, so it holds whether they are flashed one after
# another or in parallel.
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
tpkit=$build/tpkit twin=$build/tests/twin/tp-twin mkldr=$build/tests/tools/mkldr
for t in "$tpkit" "$twin" "$mkldr"; do
	[ -x "$t" ] || { echo "demo: no $t; run make tests first (make demo does)" >&2; exit 1; }
done
export PATH=$PATH:/usr/sbin:/sbin
for t in sfdisk mkfs.vfat mkfs.ext4 xz openssl sha256sum cmp python3; do
	command -v $t >/dev/null || { echo "demo: missing $t (scripts/install-deps.sh)" >&2; exit 1; }
done
# libcurl honours *_proxy: the image server is local.
export no_proxy=127.0.0.1 NO_PROXY=127.0.0.1

. "$src/scripts/demo_lib.sh"

# ---- the images ------------------------------------------------------------
# stream N SEED: N bytes of AES-CTR keystream (incompressible, reproducible).
stream() { head -c "$1" /dev/zero | openssl enc -aes-128-ctr -nosalt -K "$2" -iv 0 2>/dev/null; }
put() { dd of="$1" bs=512 seek="$2" conv=notrunc status=none; } # put FILE SECTOR <data

echo "${B}Preparing two disk images, a loader and the CM4's rpiboot files...${N}"
# RK1 (as ubuntu-rockchip's): GPT; the idblock (idbloader.img, magic RKNS)
# at sector 64; U-Boot's FIT at sector 16384; ext4 root from 16 MiB.
mkdir -p rk1root/etc cm4root/etc cm4root/boot
printf 'Ubuntu 24.04 LTS (tpkit demo, RK1) \\n \\l\n\n' >rk1root/etc/issue
echo ubuntu >rk1root/etc/hostname
truncate -s 64M rk1.img
printf 'label: gpt\nstart=32768, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=rootfs\n' |
	sfdisk -q rk1.img
{ printf 'RKNS'; stream $((192 * 1024 - 4)) 01; } | put rk1.img 64
{ printf '\xd0\x0d\xfe\xed'; stream $((1024 * 1024 - 4)) 02; } | put rk1.img 16384
mkfs.ext4 -q -L cloudimg-rootfs -d rk1root rk1root.ext4 47M >/dev/null
put rk1.img 32768 <rk1root.ext4
# CM4 (as Ubuntu's +raspi): MBR; FAT32 system-boot at sector 2048
# (bootable, type 0x0c); ext4 writable after it.
printf 'Ubuntu 24.04 LTS (tpkit demo, CM4) \\n \\l\n\n' >cm4root/etc/issue
echo ubuntu >cm4root/etc/hostname
truncate -s 96M cm4.img
printf 'label: dos\nstart=2048, size=98304, type=c, bootable\nstart=100352, type=83\n' |
	sfdisk -q cm4.img
mkfs.vfat -F 32 -n system-boot -C boot.fat 49152 >/dev/null 2>&1
put cm4.img 2048 <boot.fat
stream $((4 * 1024 * 1024)) 03 >cm4root/boot/vmlinuz
mkfs.ext4 -q -L writable -d cm4root cm4root.ext4 47M >/dev/null
put cm4.img 100352 <cm4root.ext4
rm -rf rk1root cm4root ./*.ext4 boot.fat
mkdir -p www
for m in rk1 cm4; do xz -T2 -6 -c $m.img >www/demo-$m.img.xz; done
"$mkldr" loader.bin >/dev/null
"$src/tests/twin/selftest/mkrpiboot.sh" rpiboot msd >/dev/null

# ---- the image server -------------------------------------------------------
python3 -c '
import functools, http.server, os, sys
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
        functools.partial(Quiet, directory=sys.argv[1]))
with open(sys.argv[2] + ".tmp", "w") as f:
    f.write("%d\n" % srv.server_port)
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
srv.serve_forever()' www port 2>server.err &
server=$!
for ((i = 0; i < 100; i++)); do
	[ -s port ] && break
	kill -0 "$server" 2>/dev/null || { cat server.err >&2; echo "demo: the image server did not start" >&2; exit 1; }
	sleep 0.05
done
[ -s port ] || { echo "demo: the image server did not start" >&2; exit 1; }
url=http://127.0.0.1:$(cat port)

# ---- the fake root: shipped catalogue, the user's catalogue, the SD card ---
mkdir -p "$root/usr/share/tpkit" "$root/etc/tpkit" "$sd"
cp "$src/images/images.conf" "$root/usr/share/tpkit/images.conf"
{
	echo "# the demo's images, served from $url"
	for m in rk1 cm4; do
		cat <<-X
		[demo-$m]
		module      = $m
		url         = $url/demo-$m.img.xz
		sha256      = $(sha256sum <www/demo-$m.img.xz | cut -d' ' -f1)
		size        = $(stat -c %s www/demo-$m.img.xz)
		raw-size    = $(stat -c %s $m.img)
		description = tpkit demo image for $(if [ $m = rk1 ]; then echo Turing RK1; else echo Raspberry Pi CM4; fi)
		default     = yes

		X
	done
} >"$root/etc/tpkit/images.conf"
cache=no
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=256m tpkit-demo-sd "$sd" 2>/dev/null; then
	mounted=1 cache=yes
else
	echo "(not root, or no mount permission: no SD card, the flash streams from $url)"
fi

cat >session.sh <<SESSION
set -e
run() { printf '\n${B}\$ tpkit %s${N}\n' "\$*"; "$tpkit" "\$@"; }
run info
run power status
run images list
if [ $cache = yes ]; then
	run images fetch demo-rk1 demo-cm4
	run images list
fi
# Slot 4 is empty: after --timeout it is reported empty, and the run,
# which flashed the others, still succeeds (exit 0).
rc=0
run flash --slot 1-4 --image auto --loader loader.bin --rpiboot-dir rpiboot --timeout 3 || rc=\$?
echo "(tpkit flash exited \$rc)"
echo \$rc >flash.rc
run power on --slot 1
# The module boots on the twin's clock: let two simulated seconds pass.
/usr/bin/python3 "$src/tests/twin/selftest/client.py" 'HELLO demo' 'SLEEP 2500000000' >/dev/null
printf '\n${B}\$ picocom /dev/ttyS1   # node 1 console (the twin writes it to a file)${N}\n'
cat "\$TPKIT_ROOT/dev/ttyS1"
run power off
SESSION

echo "A Turing Pi 2 v2.5.1 twin: RK1 in slots 1 and 2, a CM4 in slot 3, slot 4 empty."
"$twin" --rev 2.5.1 --slot 1=rk1 --slot 2=rk1 --slot 3=cm4 --slot 4=empty --root "$root" \
	--emmc-dir "$work/emmc" --emmc-size 8G --timeline timeline -- bash session.sh

printf '\n%sEach eMMC against the image for its module:%s\n' "$B" "$N"
bad=0
for s in 1 2 3 4; do
	case $s in 1|2) m=rk1 ;; 3) m=cm4 ;; *) m= ;; esac
	e=emmc/slot$s.emmc
	if [ -z "$m" ]; then
		if [ ! -e "$e" ]; then echo "slot 4 (empty): nothing to write, no eMMC"
		else echo "slot 4 (empty): an eMMC file appeared: $e"; bad=1; fi
	elif diff=$(cmp -n "$(stat -c %s $m.img)" $m.img "$e" 2>&1); then
		echo "slot $s ($m): the eMMC holds demo-$m byte for byte"
	else
		o=$([ $m = rk1 ] && echo cm4 || echo rk1)
		if cmp -s -n "$(stat -c %s $o.img)" $o.img "$e"; then
			echo "slot $s ($m): the eMMC DIFFERS from demo-$m: it holds demo-$o, the $o image"
		else
			echo "slot $s ($m): the eMMC DIFFERS from demo-$m: ${diff#* }"
		fi
		bad=1
	fi
done
printf '\n%sWhat the board saw (virtual ms; GPIO line holds and USB role changes left out):%s\n' "$B" "$N"
grep -v -e ' hold ' -e ' usb  ' timeline
# Exit 0 with slot 4 reported empty; anything else, or a slot whose eMMC
# is not its image, fails the demo.
rc=$(cat flash.rc)
[ "$rc" = 0 ] || { echo "demo: tpkit flash exited $rc, expected 0 (slot 4 reported empty)" >&2; bad=1; }
[ $bad = 0 ] || { echo "demo: FAILED (see above)" >&2; exit 1; }
