#!/bin/sh
# SPDX-License-Identifier: MIT
# mmdebstrap customize hook for the tpkit test node images (build.sh; the
# choices are explained in docs/nodeimg.md). $1 is the new root; mmdebstrap
# has /proc, /sys and /dev mounted there while this runs.
set -eu
r=$1

# The kernel's initramfs was made with initramfs.modules (build.sh's
# essential hook); lsinitramfs wants /dev and /proc, mounted only while
# this hook runs.
for i in "$r"/boot/initrd.img-*; do
	chroot "$r" lsinitramfs "${i#"$r"}" >"$r/tmp/initrd.list"
	grep -q '/sdhci-pci\.ko' "$r/tmp/initrd.list" ||
		{ echo "customize.sh: $i lacks sdhci-pci (initramfs.modules unused?)" >&2; exit 1; }
	rm -f "$r/tmp/initrd.list"
done

# Defaults every layout shares: the default user is "ubuntu" as on Ubuntu
# (Debian's cloud.cfg would make "debian"), cloud-init renders netplan, and
# the only data source is NoCloud (the layout's drop-in names the label).
cat >"$r/etc/cloud/cloud.cfg.d/90-tpkit-testimage.cfg" <<X
# tpkit test node image: make this Debian behave like the Ubuntu images
system_info:
  default_user:
    name: ubuntu
    lock_passwd: false
    gecos: Ubuntu
    groups: [adm, sudo, video]
    sudo: ["ALL=(ALL) NOPASSWD:ALL"]
    shell: /bin/bash
  network:
    renderers: [netplan]
X

# The twin's Ethernet switch has no DHCP server (twin.md, "Nodes that
# boot"), so systemd-networkd-wait-online would wait its whole two minutes
# on every boot before cloud-init's last stages run; on the board a DHCP
# server answers in seconds. Capped at 5 s (nodeimg.md §8).
mkdir -p "$r/etc/systemd/system/systemd-networkd-wait-online.service.d"
cat >"$r/etc/systemd/system/systemd-networkd-wait-online.service.d/tpkit-twin.conf" <<X
[Service]
ExecStart=
ExecStart=/lib/systemd/systemd-networkd-wait-online --timeout=5
X

# Every image written from this file would otherwise share one set of SSH
# host keys; cloud-init makes them on first boot, as on a cloud image.
rm -f "$r"/etc/ssh/ssh_host_*
