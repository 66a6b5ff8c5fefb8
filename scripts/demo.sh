#!/bin/bash
# SPDX-License-Identifier: MIT
# make demo: tpkit on a simulated Turing Pi 2 (the board twin, docs/twin.md).
# It shows what a user on a real BMC would type and see: the board, power,
# then flashing a generated Ubuntu-like image onto the two RK1 modules, and
# the first one booting from it. Afterwards, the twin's timeline of what the
# board saw. The RK3588 loader is a synthetic one (tests/tools/mkldr): the
# real rk3588_spl_loader is Rockchip's binary and does not ship with tpkit.
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
tpkit=$build/tpkit twin=$build/tests/twin/tp-twin mkldr=$build/tests/tools/mkldr
work=$(mktemp -d /var/tmp/tpkit-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
if [ -t 1 ]; then B=$'\033[1m' N=$'\033[0m'; else B= N=; fi

echo "${B}Preparing a 96 MiB disk image (MBR, FAT boot partition, ext4 root) and a loader...${N}"
mkdir -p rootfs/etc
printf 'Ubuntu 24.04 LTS (tpkit demo)\n' >rootfs/etc/issue
truncate -s 96M disk.img
printf 'label: dos\nstart=2048, size=32768, type=c\nstart=34816, type=83\n' | /sbin/sfdisk -q disk.img
/sbin/mkfs.vfat -n BOOT -C boot.fat 16384 >/dev/null
dd if=boot.fat of=disk.img bs=512 seek=2048 conv=notrunc status=none
/sbin/mkfs.ext4 -q -d rootfs root.ext4 63M
dd if=root.ext4 of=disk.img bs=512 seek=34816 conv=notrunc status=none
xz -T2 -6 -k disk.img
sha256sum disk.img.xz >disk.img.xz.sha256
"$mkldr" loader.bin >/dev/null

cat >session.sh <<SESSION
set -e
run() { printf '\n${B}\$ tpkit %s${N}\n' "\$*"; "$tpkit" "\$@"; }
run info
run power status
run flash --slot 1-2 --image disk.img.xz --loader loader.bin
run power on --slot 1
# The module boots on the twin's clock: let two simulated seconds pass.
/usr/bin/python3 "$src/tests/twin/selftest/client.py" 'HELLO demo' 'SLEEP 2500000000' >/dev/null
printf '\n${B}\$ picocom /dev/ttyS1   # node 1 console (the twin writes it to a file)${N}\n'
cat "\$TPKIT_ROOT/dev/ttyS1"
run power off
SESSION

echo "A Turing Pi 2 v2.5.1 twin: RK1 in slots 1 and 2, a CM4 in slot 3, slot 4 empty."
"$twin" --rev 2.5.1 --slot 1=rk1 --slot 2=rk1 --slot 3=cm4 --slot 4=empty \
	--emmc-dir emmc --emmc-size 8G --timeline timeline -- bash session.sh
for s in 1 2; do
	cmp -n "$(stat -c %s disk.img)" disk.img emmc/slot$s.emmc &&
		echo "slot $s: the eMMC holds the image, byte for byte"
done
printf '\n%sWhat the board saw (virtual ms; GPIO line holds and USB role changes left out):%s\n' "$B" "$N"
grep -v -e ' hold ' -e ' usb  ' timeline
