#!/bin/bash
# SPDX-License-Identifier: MIT
# Build the test node images the twin's nodes boot: Debian 12 amd64 laid out
# like the real RK1 and CM4 images (docs/nodeimg.md). Nothing is mounted:
# the file systems are made from a directory tree (mkfs.ext4 -d, mkfs.vfat
# + mcopy) and placed into a sparse disk file with dd.
#
#   build.sh [--layout rk1|cm4|all] [--print-dir] [--url-base URL]
#
# The result is cached in /var/tmp/tpkit-nodeimg/<recipe-hash>/ (override
# with TPKIT_NODEIMG_CACHE); the hash covers this script, customize.sh,
# initramfs.modules, packages.list and seed/, so an unchanged recipe reuses the cache at once.
# --print-dir prints only that directory on stdout (progress goes to stderr).
# --url-base sets the URL the catalogue entries point at (default
# http://127.0.0.1:8321, i.e. the cache directory served over HTTP).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SUITE=bookworm
MIRROR=${TPKIT_NODEIMG_MIRROR:-http://deb.debian.org/debian}
CACHE_BASE=${TPKIT_NODEIMG_CACHE:-/var/tmp/tpkit-nodeimg}
URL_BASE=http://127.0.0.1:8321
# Sizes in MiB (nodeimg.md §3, §4)
RK1_SEED_START=16 RK1_SEED_SIZE=4 RK1_ROOT_START=20
CM4_BOOT_START=1 CM4_BOOT_SIZE=128
ROOT_FREE=300
KERNEL_ARGS="console=ttyS0,115200"

layout=all print_dir=0
usage() {
	echo "usage: $0 [--layout rk1|cm4|all] [--print-dir] [--url-base URL]" >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case $1 in
	--layout) [ $# -ge 2 ] || usage; layout=$2; shift 2 ;;
	--print-dir) print_dir=1; shift ;;
	--url-base) [ $# -ge 2 ] || usage; URL_BASE=${2%/}; shift 2 ;;
	-h | --help) usage ;;
	*) usage ;;
	esac
done
case $layout in
rk1 | cm4) layouts=$layout ;;
all) layouts="rk1 cm4" ;;
*) usage ;;
esac

log() { echo "nodeimg: $*" >&2; }
die() { log "error: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (mmdebstrap --mode=root, chroot, file ownership in mkfs.ext4 -d)"
for t in mmdebstrap mkfs.ext4 mkfs.vfat mcopy sfdisk xz sha256sum dumpe2fs; do
	command -v "$t" >/dev/null || die "$t missing (scripts/install-deps.sh installs it)"
done

hash=$(cd "$HERE" && sha256sum build.sh customize.sh initramfs.modules packages.list seed/* |
	sha256sum | cut -c1-16)
DIR=$CACHE_BASE/$hash
mkdir -p "$DIR"
# One builder per recipe at a time; a second run waits and then finds the cache.
exec 9>"$DIR/.lock"
flock 9

# A UUID derived from the recipe hash and a tag: fixed for every copy of one
# build, as the real images' root UUID is (commissioning.md §3.2).
uuid_of() {
	local h
	h=$(printf '%s-%s' "$hash" "$1" | sha256sum | cut -c1-32)
	echo "${h:0:8}-${h:8:4}-4${h:13:3}-8${h:17:3}-${h:20:12}"
}

catalogue() {
	local l desc
	echo "# tpkit test node images, built by tests/twin/nodeimg/build.sh (recipe $hash)."
	echo "# Serve this directory at $URL_BASE to fetch them; docs/nodeimg.md, section 6."
	for l in rk1 cm4; do
		[ -f "$DIR/$l.img.xz" ] || continue
		case $l in
		rk1) desc="tpkit test image, RK1 layout (Debian 12 amd64; GPT, CIDATA + cloudimg-rootfs)" ;;
		cm4) desc="tpkit test image, CM4 layout (Debian 12 amd64; MBR, system-boot + writable)" ;;
		esac
		printf '\n[test-%s]\nmodule      = %s\nurl         = %s/%s.img.xz\n' "$l" "$l" "$URL_BASE" "$l"
		printf 'sha256      = %s\nsize        = %s\nraw-size    = %s\n' \
			"$(cut -d' ' -f1 "$DIR/$l.img.xz.sha256")" "$(stat -c %s "$DIR/$l.img.xz")" \
			"$(sed -n 's/^raw-size=//p' "$DIR/$l.info")"
		printf 'description = %s\ndefault     = no\n' "$desc"
	done
}

finish() {
	catalogue >"$DIR/catalogue.conf.tmp"
	mv "$DIR/catalogue.conf.tmp" "$DIR/catalogue.conf"
	if [ $print_dir = 1 ]; then echo "$DIR"; else log "images in $DIR"; fi
	exit 0
}

todo=
for l in $layouts; do
	[ -f "$DIR/$l.img.xz" ] && [ -f "$DIR/$l.img.xz.sha256" ] && [ -f "$DIR/$l.info" ] || todo="$todo $l"
done
[ -n "$todo" ] || finish

t0=$(date +%s)
W=$DIR/work
rm -rf --one-file-system "$W"
mkdir -p "$W"
# --one-file-system: an interrupted mmdebstrap may leave /proc and /sys
# mounted inside the tree; never reach through them.
trap 'rm -rf --one-file-system "$W"' EXIT
R=$W/root

# 1. The root tree, with the packages of packages.list.
pkgs=$(grep -v '^[[:space:]]*\(#\|$\)' "$HERE/packages.list" | tr -s ' \n' ',' | sed 's/,$//')
log "mmdebstrap $SUITE ($pkgs)"
# eatmydata: dpkg in the new tree skips its fsyncs (the tree is thrown away
# if the build stops halfway, so they buy nothing). The essential hook puts
# our initramfs modules in place before the kernel package makes the one
# initramfs (a second update-initramfs would cost a minute).
eatmydata=()
[ -d /usr/share/mmdebstrap/hooks/eatmydata ] && command -v eatmydata >/dev/null &&
	eatmydata=(--hook-dir=/usr/share/mmdebstrap/hooks/eatmydata)
mmdebstrap --mode=root --variant=minbase --include="$pkgs" "${eatmydata[@]}" \
	--essential-hook="mkdir -p \"\$1/usr/share/initramfs-tools/modules.d\" &&
		cp '$HERE/initramfs.modules' \"\$1/usr/share/initramfs-tools/modules.d/tpkit-twin\"" \
	--customize-hook="'$HERE/customize.sh' \"\$1\"" \
	"$SUITE" "$R" "$MIRROR" >"$W/mmdebstrap.log" 2>&1 ||
	{ tail -n 30 "$W/mmdebstrap.log" >&2; die "mmdebstrap failed"; }
t1=$(date +%s)
# mmdebstrap leaves the build host's name and resolver in the tree: give
# the image Ubuntu's default name and systemd-resolved's stub instead.
echo ubuntu >"$R/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tubuntu\n' >"$R/etc/hosts"
ln -sfn ../run/systemd/resolve/stub-resolv.conf "$R/etc/resolv.conf"
kver=$(cd "$R/boot" && ls vmlinuz-* | sed 's/^vmlinuz-//' | sort -V | tail -n 1)
[ -n "$kver" ] && [ -f "$R/boot/initrd.img-$kver" ] || die "no kernel/initrd in the tree"
cloudinit=$(chroot "$R" dpkg-query -W -f='${Version}' cloud-init)
chroot "$R" dpkg-query -W -f='${Package} ${Version}\n' >"$DIR/packages.txt"
log "tree made in $((t1 - t0)) s; kernel $kver, cloud-init $cloudinit"

# Root size: what the tree takes, plus room for ext4's own metadata (about
# 5 % for inode tables and bitmaps, and the journal), plus ROOT_FREE MiB
# free, rounded up to 4 MiB.
used=$(du -s -B1M -x "$R" | cut -f1)
root_size=$(((used * 21 / 20 + 40 + ROOT_FREE + 3) / 4 * 4))

# mkext4 LABEL UUID FILE: an ext4 file system of root_size MiB from the tree.
mkext4() {
	rm -f "$3"
	mkfs.ext4 -q -F -L "$1" -U "$2" -d "$R" "$3" "${root_size}M" >"$W/mkfs.log" 2>&1 ||
		{ cat "$W/mkfs.log" >&2; die "mkfs.ext4 $1 failed"; }
	local free bs
	bs=$(dumpe2fs -h "$3" 2>/dev/null | sed -n 's/^Block size: *//p')
	free=$(dumpe2fs -h "$3" 2>/dev/null | sed -n 's/^Free blocks: *//p')
	free=$((free * bs / 1048576))
	log "$1: ${root_size} MiB, ${free} MiB free"
	[ "$free" -ge $((ROOT_FREE - 20)) ] || die "$1 has only $free MiB free"
}

# mkfat LABEL SIZE_MIB FILE FAT_BITS VOLID FILES...: a FAT file system
# holding FILES (each SRC or SRC:NAME).
mkfat() {
	local label=$1 size=$2 f=$3 bits=$4 volid=$5 src name
	shift 5
	rm -f "$f"
	mkfs.vfat ${bits:+-F "$bits"} -n "$label" -i "$volid" -C "$f" $((size * 1024)) >/dev/null ||
		die "mkfs.vfat $label failed"
	for src in "$@"; do
		name=${src##*:} src=${src%%:*}
		[ "$name" != "$src" ] || name=$(basename "$src")
		MTOOLS_SKIP_CHECK=1 mcopy -i "$f" "$src" "::$name" || die "mcopy $name failed"
	done
}

# place PART DISK START_MIB: copy a partition image into the disk file.
place() {
	dd if="$1" of="$2" bs=1M seek="$3" conv=notrunc,sparse status=none || die "dd $1 failed"
}

# pack LAYOUT: compress, checksum and record the disk image.
pack() {
	local l=$1 raw=$W/$1.img
	log "$l: xz"
	# -0: four times faster than -3 here, 10 % larger; the images live in a
	# local cache and are read once per flash.
	xz -T2 -0 -c "$raw" >"$W/$l.img.xz"
	(cd "$W" && sha256sum "$l.img.xz") >"$W/$l.img.xz.sha256"
	{
		echo "raw-size=$(stat -c %s "$raw")"
		echo "xz-size=$(stat -c %s "$W/$l.img.xz")"
		echo "kernel=$kver"
		echo "cloud-init=$cloudinit"
		echo "root-size-mib=$root_size"
		cat "$W/$l.layout"
	} >"$W/$l.info"
	# the .info last: its presence says the pair before it is complete
	mv "$W/$l.img.xz" "$W/$l.img.xz.sha256" "$DIR/"
	mv "$W/$l.info" "$DIR/"
	rm -f "$raw"
}

seed=("$HERE/seed/meta-data" "$HERE/seed/user-data" "$HERE/seed/network-config")

# 2. RK1 layout (commissioning.md §3.2): GPT; p1 FAT "CIDATA" 16-20 MiB with
# the seed; p2 ext4 "cloudimg-rootfs" from 20 MiB; kernel arguments in
# /boot/extlinux/extlinux.conf on the root, written by u-boot-update.
build_rk1() {
	local uuid disk=$W/rk1.img total
	uuid=$(uuid_of rk1-root)
	echo "UUID=$uuid / ext4 defaults,x-systemd.growfs 0 1" >"$R/etc/fstab"
	cat >"$R/etc/cloud/cloud.cfg.d/99-fake-cloud.cfg" <<X
# as ubuntu-rockchip's 99-fake-cloud.cfg: the seed is the FAT file system labelled CIDATA
datasource_list: [ NoCloud, None ]
datasource:
  NoCloud:
    fs_label: CIDATA
X
	cat >"$R/etc/default/u-boot" <<X
U_BOOT_ROOT="root=UUID=$uuid"
U_BOOT_PARAMETERS="rootwait rw $KERNEL_ARGS"
U_BOOT_TIMEOUT="10"
X
	chroot "$R" u-boot-update >"$W/u-boot-update.log" 2>&1 ||
		{ cat "$W/u-boot-update.log" >&2; die "u-boot-update failed"; }
	grep -q "root=UUID=$uuid" "$R/boot/extlinux/extlinux.conf" ||
		die "extlinux.conf lacks root=UUID=$uuid"
	grep -q "/boot/vmlinuz-$kver" "$R/boot/extlinux/extlinux.conf" ||
		die "extlinux.conf lacks /boot/vmlinuz-$kver"
	mkext4 cloudimg-rootfs "$uuid" "$W/rk1-root.img"
	rm -f "$R/etc/cloud/cloud.cfg.d/99-fake-cloud.cfg" "$R/etc/default/u-boot" "$R/etc/fstab"
	rm -rf "$R/boot/extlinux"
	mkfat CIDATA $RK1_SEED_SIZE "$W/rk1-seed.img" "" "${hash:0:8}" "${seed[@]}"

	total=$((RK1_ROOT_START + root_size + 1))
	rm -f "$disk"
	truncate -s "${total}M" "$disk"
	sfdisk -q "$disk" <<X || die "sfdisk rk1 failed"
label: gpt
label-id: $(uuid_of rk1-disk)
unit: sectors
start=$((RK1_SEED_START * 2048)), size=$((RK1_SEED_SIZE * 2048)), type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, uuid=$(uuid_of rk1-p1), name="cidata"
start=$((RK1_ROOT_START * 2048)), size=$((root_size * 2048)), type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=$(uuid_of rk1-p2), name="rootfs"
X
	place "$W/rk1-seed.img" "$disk" $RK1_SEED_START
	place "$W/rk1-root.img" "$disk" $RK1_ROOT_START
	# The boot loader's place (nodeimg.md §3): the real image has U-Boot's
	# ID block at sector 64, without which the RK3588 ROM (and the twin's)
	# falls back to maskrom. Its tag stands for it: the VM boots the kernel.
	printf 'RKNS' | dd of="$disk" bs=512 seek=64 conv=notrunc status=none ||
		die "rk1 ID block failed"
	rm -f "$W/rk1-seed.img" "$W/rk1-root.img"
	{
		echo "table=gpt"
		echo "p1=CIDATA vfat start-mib=$RK1_SEED_START size-mib=$RK1_SEED_SIZE volid=${hash:0:8}"
		echo "p2=cloudimg-rootfs ext4 start-mib=$RK1_ROOT_START size-mib=$root_size uuid=$uuid"
	} >"$W/rk1.layout"
	pack rk1
}

# 3. CM4 layout (commissioning.md §3.3): MBR; p1 FAT32 "system-boot" with the
# kernel, initrd, cmdline.txt, config.txt and the seed (Ubuntu raspi's
# /boot/firmware); p2 ext4 "writable".
build_cm4() {
	local uuid disk=$W/cm4.img total root_start
	uuid=$(uuid_of cm4-root)
	mkdir -p "$R/boot/firmware"
	cat >"$R/etc/fstab" <<X
LABEL=writable	/	ext4	defaults	0	1
LABEL=system-boot	/boot/firmware	vfat	defaults	0	1
X
	cat >"$R/etc/cloud/cloud.cfg.d/99-fake_cloud.cfg" <<X
# as Ubuntu raspi's 99-fake_cloud.cfg: the seed is on the boot partition
datasource_list: [ NoCloud, None ]
datasource:
  NoCloud:
    fs_label: system-boot
X
	mkext4 writable "$uuid" "$W/cm4-root.img"
	rm -f "$R/etc/cloud/cloud.cfg.d/99-fake_cloud.cfg" "$R/etc/fstab"
	echo "$KERNEL_ARGS root=LABEL=writable rootfstype=ext4 rootwait fixrtc" >"$W/cmdline.txt"
	cat >"$W/config.txt" <<X
# tpkit test image (amd64): the Raspberry Pi firmware never reads this; it is
# here so the partition looks like Ubuntu raspi's /boot/firmware.
[all]
arm_64bit=1
kernel=vmlinuz
cmdline=cmdline.txt
initramfs initrd.img followkernel
enable_uart=1
X
	mkfat system-boot $CM4_BOOT_SIZE "$W/cm4-boot.img" 32 "${hash:8:8}" \
		"$R/boot/vmlinuz-$kver:vmlinuz" "$R/boot/initrd.img-$kver:initrd.img" \
		"$W/cmdline.txt" "$W/config.txt" "${seed[@]}"

	root_start=$((CM4_BOOT_START + CM4_BOOT_SIZE))
	total=$((root_start + root_size))
	rm -f "$disk"
	truncate -s "${total}M" "$disk"
	sfdisk -q "$disk" <<X || die "sfdisk cm4 failed"
label: dos
label-id: 0x${hash:0:8}
unit: sectors
start=$((CM4_BOOT_START * 2048)), size=$((CM4_BOOT_SIZE * 2048)), type=c, bootable
start=$((root_start * 2048)), size=$((root_size * 2048)), type=83
X
	place "$W/cm4-boot.img" "$disk" $CM4_BOOT_START
	place "$W/cm4-root.img" "$disk" $root_start
	rm -f "$W/cm4-boot.img" "$W/cm4-root.img"
	{
		echo "table=dos"
		echo "p1=system-boot vfat start-mib=$CM4_BOOT_START size-mib=$CM4_BOOT_SIZE volid=${hash:8:8}"
		echo "p2=writable ext4 start-mib=$root_start size-mib=$root_size uuid=$uuid"
	} >"$W/cm4.layout"
	pack cm4
}

for l in $todo; do
	"build_$l"
done
log "built$todo in $(($(date +%s) - t0)) s (tree $((t1 - t0)) s)"
finish
