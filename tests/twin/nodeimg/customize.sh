#!/bin/sh
# SPDX-License-Identifier: MIT
# mmdebstrap customize hook for the tpkit test node images (build.sh; the
# choices are explained in docs/nodeimg.md). $1 is the new root; mmdebstrap
# has /proc, /sys and /dev mounted there while this runs.
set -eu
r=$1

# The initramfs must find the root on an SD/MMC card behind QEMU's
# sdhci-pci and on NVMe, and read ext4 and vfat, before any module on the
# root is reachable (nodeimg.md §2).
cat >>"$r/etc/initramfs-tools/modules" <<X
sdhci
sdhci-pci
mmc_core
mmc_block
nvme
ext4
vfat
nls_cp437
nls_iso8859_1
X
chroot "$r" update-initramfs -u -k all

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
