#!/bin/bash
# SPDX-License-Identifier: MIT
# make demo: `tpkit commission` on a simulated Turing Pi 2 (the board twin,
# docs/twin.md), from blank eMMCs to a k3s cluster with ArgoCD, as a user on
# a real BMC would type it:
#
#   tpkit config set ...        the cluster: names, addresses, the admin's key
#   tpkit images fetch ...      the k3s bundle into the SD card's cache
#   tpkit commission --plan     what would happen, touching nothing
#   tpkit commission            flash + seed, boot, follow every node to done
#   tpkit status                what each slot is at
#
# The board: a v2.5 twin with an RK1 in slot 1 (the k3s server, with an
# empty NVMe drive) and a CM4 in slot 2 (an agent); slots 3 and 4 empty.
# The nodes really boot what was flashed, in QEMU (docs/twin.md, "Nodes that
# boot"): Debian 12 test images laid out like the RK1 and CM4 images
# (tests/twin/nodeimg/: built once, about seven minutes, then cached in
# /var/tmp), with cloud-init, systemd and tpkit's node helper; the RK1 moves
# its root to the NVMe and reboots into it; k3s is the k3s double from the
# seeded bundle (docs/k3s-double.md: real k3s is in no archive reachable
# here). Under TCG on two cores the whole run takes about seven minutes.
#
#   scripts/demo.sh [BUILD_DIR]      (default build/; `make demo` runs it)
#   scripts/demo-flash.sh            the flashing demo: four slots at once
#
# Needs root (the SD card is a tmpfs mounted under the fake root).
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
tpkit=$build/tpkit twin=$build/tests/twin/tp-twin mkldr=$build/tests/tools/mkldr
helper=$build/tpkit-node
for t in "$tpkit" "$twin" "$mkldr" "$helper"; do
	[ -x "$t" ] || { echo "demo: no $t; run make tests first (make demo does)" >&2; exit 1; }
done
export PATH=$PATH:/usr/sbin:/sbin
for t in qemu-system-x86_64 vde_switch xz ssh-keygen python3 openssl; do
	command -v $t >/dev/null || { echo "demo: missing $t (scripts/install-deps.sh)" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "demo: run it as root (it mounts a tmpfs as the BMC's SD card)" >&2; exit 1; }
export no_proxy=127.0.0.1 NO_PROXY=127.0.0.1 # the bundle's server is local

. "$src/scripts/demo_lib.sh"
echo "${B}The node images (Debian 12, laid out like the RK1 and CM4 images):${N}"
imgs=$("$src/tests/twin/nodeimg/build.sh" --print-dir)
echo "  $imgs"


# ---- the k3s bundle, served over HTTP as a release would be ---------------
version=v1.31.12+k3s1
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
K3S_BUNDLE_URL_BASE=http://127.0.0.1:$port/k3s "$src/tests/twin/k3s/mkbundle.sh" www/k3s amd64 "$version"
python3 -m http.server --bind 127.0.0.1 --directory www "$port" >http.log 2>&1 &
server=$!
for ((i = 0; i < 100; i++)); do
	python3 -c "import socket; socket.create_connection(('127.0.0.1',$port),1)" 2>/dev/null && break
	kill -0 "$server" 2>/dev/null || { cat http.log >&2; echo "demo: the web server did not start" >&2; exit 1; }
	python3 -c 'import time; time.sleep(0.05)'
done

# ---- the BMC's file system: catalogue, SD card ------------------------------
mkdir -p "$root/usr/share/tpkit" "$root/etc/tpkit" "$sd" nvme
cp "$src/images/images.conf" "$root/usr/share/tpkit/images.conf"
cp www/k3s/catalogue.conf "$root/etc/tpkit/images.conf"
mount -t tmpfs -o size=512m tpkit-demo-sd "$sd"
mounted=1
truncate -s 8G nvme/slot1.nvme
ssh-keygen -q -t ed25519 -N '' -C ops@laptop -f admin_key
"$mkldr" loader.bin >/dev/null
"$src/tests/twin/selftest/mkrpiboot.sh" rpi msd >/dev/null
bundle=$(sed -n 's/^\[\(.*\)\]$/\1/p' www/k3s/catalogue.conf | tr '\n' ' ')

cat >session.sh <<SESSION
set -e
run() { printf '\n${B}\$ tpkit %s${N}\n' "\$*"; "$tpkit" "\$@"; }
run config set cluster/name demo
run config set admin/user ops
run config set admin/keys "\$(cat admin_key.pub)"
run config set slot/1/hostname rk1-server
run config set slot/2/hostname cm4-agent
run config set net/slot/1/address 10.44.0.11/24
run config set net/slot/2/address 10.44.0.12/24
run config set slot/1/image $imgs/rk1.img.xz
run config set slot/2/image $imgs/cm4.img.xz
run config set slot/3/role none
run config set slot/4/role none
run config set k3s/version $version
run config set argocd/repo https://git.example/ops/cluster.git
run config set argocd/path apps
run images fetch $bundle
run commission --plan
rc=0
run commission --loader loader.bin --rpiboot-dir rpi --node-helper $helper || rc=\$?
echo "(tpkit commission exited \$rc)"
echo \$rc >commission.rc
run status
run power off
SESSION

echo
echo "${B}A Turing Pi 2 v2.5 twin: an RK1 with an NVMe drive in slot 1, a CM4 in slot 2, slots 3 and 4 empty.${N}"
echo "Its nodes boot in QEMU; what they print is in $work/root/console/slotN.log while it runs."
"$twin" --node-vm --real-clock --nvme-dir nvme --rev 2.5 --slot 1=rk1 --slot 2=cm4 \
	--slot 3=empty --slot 4=empty --root "$root" --emmc-dir "$work/emmc" --emmc-size 4G \
	--timeline timeline -- bash session.sh

printf '\n%sWhat the board saw (boots, power, flashing; virtual ms):%s\n' "$B" "$N"
grep -E '^ *[0-9.]+  (boot|vm|slot|usbdev) ' timeline | grep -v ' hold ' || true
printf '\n%sWhat the k3s server saw (slot 1'"'"'s console):%s\n' "$B" "$N"
grep -h 'k3s-double: ' root/console/slot1.log | sed 's/^.*k3s-double: /  k3s-double: /' || true
rc=$(cat commission.rc 2>/dev/null || echo 1)
[ "$rc" = 0 ] || { echo "demo: tpkit commission exited $rc (the consoles: $work/root/console)" >&2; trap - EXIT; exit 1; }
echo
echo "${B}Done: both nodes commissioned from blank eMMCs, the RK1 running from its NVMe.${N}"
