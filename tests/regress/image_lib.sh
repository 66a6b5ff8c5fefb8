# SPDX-License-Identifier: MIT
# Test images for the tpkit write tests: a small but realistic disk image.
. "$SRCDIR/tests/regress/lib.sh"

for t in sfdisk mkfs.vfat mkfs.ext4 xz zstd bzip2 gzip zip tar cmp; do
	command -v $t >/dev/null || fail "missing tool $t (scripts/install-deps.sh installs it)"
done

# make_disk FILE: 8 MiB: an MBR partition table, a FAT partition with a
# boot-ish file, an ext4 partition filled from a directory, zeros, and a
# stretch of random bytes (from a fixed seed) after the partitions.
#
# The image is an RK1's (tpkit flash refuses an image for the other module):
# a Rockchip ID block header ("RKNS", as mkimage -T rksd writes for the
# RK3588) at sector 64. make_disk FILE cm4 leaves it out, which makes the
# MBR with its FAT first partition a Raspberry Pi's.
make_disk() {
	out=$1
	rm -rf disk.d && mkdir -p disk.d/root/etc disk.d/root/usr/bin
	echo tpkit-test >disk.d/root/etc/hostname
	# agetty's escapes, which the twin's stand-in node fills in (\n host, \l line)
	printf 'Test OS 1.0 \\n \\l\n\n' >disk.d/root/etc/issue
	head -c 400000 /bin/sh >disk.d/root/usr/bin/sh.copy
	seq 1 20000 >disk.d/root/etc/numbers
	truncate -s 8M "$out"
	printf 'label: dos\nstart=2048, size=4096, type=c, bootable\nstart=6144, size=8192, type=83\n' |
		sfdisk -q "$out" || fail "sfdisk"
	mkfs.vfat -C disk.d/fat.img 2048 >/dev/null || fail "mkfs.vfat"
	mkfs.ext4 -q -F -d disk.d/root disk.d/ext.img 4M >/dev/null 2>&1 || fail "mkfs.ext4"
	dd if=disk.d/fat.img of="$out" bs=512 seek=2048 conv=notrunc status=none
	dd if=disk.d/ext.img of="$out" bs=512 seek=6144 conv=notrunc status=none
	# random tail: openssl's keystream from a fixed key is reproducible
	head -c 1048576 /dev/zero | openssl enc -aes-128-ctr -nosalt -K 00 -iv 00 2>/dev/null |
		dd of="$out" bs=512 seek=14336 conv=notrunc status=none
	if [ "${2:-rk1}" = rk1 ]; then
		printf 'RKNS' | dd of="$out" bs=512 seek=64 conv=notrunc status=none
	fi
	rm -rf disk.d
}

# flip_byte FILE OFFSET: invert the byte at OFFSET, so the file is sure to
# change (writing a fixed byte leaves it as it was when that byte was there,
# one time in 256 with images that differ from run to run).
flip_byte() {
	python3 - "$1" "$2" <<-'PY' || fail "flip_byte $1 $2"
	import sys
	with open(sys.argv[1], 'r+b') as f:
	    f.seek(int(sys.argv[2]))
	    b = f.read(1)
	    f.seek(int(sys.argv[2]))
	    f.write(bytes([b[0] ^ 0xff]))
	PY
}

# first_mib_blank FILE: FILE's first MiB is zeros (or FILE is shorter / absent).
first_mib_blank() {
	[ ! -e "$1" ] && return 0
	head -c 1048576 "$1" | tr -d '\0' | head -c 1 | grep -q . && return 1
	return 0
}

# ---- family test disks (common/family.c): an RK1 and a CM4 image ---------
# Both are byte-for-byte the same on every run and every machine, so a test
# may compare them or their hashes: every UUID, serial, hash seed and time
# stamp is fixed, and files are put into FAT without mounting anything.
FAMILY_EPOCH=1700000000 # 2023-11-14 22:13:20 UTC

# fat_put FAT_IMAGE FILE...: copy FILEs (under their base names) into the
# root directory of a FAT16/FAT32 file system image fresh from mkfs.vfat, as
# the kernel would (long names where 8.3 does not fit), with a fixed date.
# No mount, no loop device and no mtools needed: it runs unprivileged.
fat_put() {
	python3 - "$@" <<'PY' || fail "fat_put $1"
import os, struct, sys

path, files = sys.argv[1], sys.argv[2:]
img = open(path, 'r+b')
bs = img.read(512)
bps, spc, rsvd, nfats, rootent, tot16, _, fatsz16 = struct.unpack_from('<HBHBHHBH', bs, 11)
tot32, fatsz32 = struct.unpack_from('<II', bs, 32)
if bs[510:] != b'\x55\xaa' or bps not in (512, 1024, 2048, 4096) or not spc:
    sys.exit('fat_put: %s: not a FAT file system' % path)
fat32 = fatsz16 == 0                  # how Linux and mkfs.fat tell FAT32
fatsz = fatsz32 if fat32 else fatsz16
csize = bps * spc
root_secs = (rootent * 32 + bps - 1) // bps
data_off = (rsvd + nfats * fatsz + root_secs) * bps
nclus = ((tot16 or tot32) * bps - data_off) // csize
if not fat32 and nclus < 4085:
    sys.exit('fat_put: FAT12 is not supported')
img.seek(rsvd * bps)
fat = bytearray(img.read(fatsz * bps))
width, eoc = (4, 0x0FFFFFFF) if fat32 else (2, 0xFFFF)

def get(n):
    return int.from_bytes(fat[n * width:(n + 1) * width], 'little') & 0x0FFFFFFF

def put(n, v):
    fat[n * width:(n + 1) * width] = v.to_bytes(width, 'little')

def coff(n):
    return data_off + (n - 2) * csize

# The root directory: a fixed area (FAT16) or root_clus's chain (FAT32).
if fat32:
    spans, n = [], struct.unpack_from('<I', bs, 44)[0]
    while n < 0x0FFFFFF8:
        spans.append((coff(n), csize))
        n = get(n)
else:
    spans = [((rsvd + nfats * fatsz) * bps, root_secs * bps)]
slots = [o + i for o, ln in spans for i in range(0, ln, 32)]
used, taken = [], set()
for o in slots:
    img.seek(o)
    e = img.read(32)
    used.append(e[0] not in (0x00, 0xE5))
    if used[-1] and e[11] != 0x0F:
        taken.add(e[:11])

DATE = (2023 - 1980) << 9 | 11 << 5 | 14   # FAMILY_EPOCH, as a DOS date
TIME = 22 << 11 | 13 << 5 | 20 // 2
OK = set("$%'-_@~`!(){}^#&")

def valid(s):
    return all((c.isascii() and c.isalnum()) or c in OK for c in s)

def one_case(s):
    return s == s.lower() or s == s.upper()

def short_name(name):
    base, dot, ext = name.rpartition('.')
    if not dot:
        base, ext = name, ''
    if (0 < len(base) <= 8 and len(ext) <= 3 and valid(base) and valid(ext)
            and one_case(base) and one_case(ext)):
        nt = (0x08 if base != base.upper() else 0) | (0x10 if ext != ext.upper() else 0)
        return (base.upper().ljust(8) + ext.upper().ljust(3)).encode(), nt, False
    b = ''.join(c for c in base.upper() if valid(c))
    e = ''.join(c for c in ext.upper() if valid(c))[:3]
    for i in range(1, 10):
        sn = ((b[:6] + '~%d' % i).ljust(8) + e.ljust(3)).encode()
        if sn not in taken:
            return sn, 0, True
    sys.exit('fat_put: no short name left for ' + name)

def lfn_entries(name, sn):
    s = 0
    for c in sn:
        s = ((s & 1) << 7) + (s >> 1) + c & 0xFF
    units = list(name.encode('utf-16-le'))
    units = [units[i] | units[i + 1] << 8 for i in range(0, len(units), 2)]
    if len(units) % 13:
        units += [0] + [0xFFFF] * (12 - len(units) % 13)
    parts = [units[i:i + 13] for i in range(0, len(units), 13)]
    out = []
    for k in range(len(parts), 0, -1):
        u = b''.join(x.to_bytes(2, 'little') for x in parts[k - 1])
        seq = k | (0x40 if k == len(parts) else 0)
        out.append(struct.pack('<B10sBBB12sH4s', seq, u[:10], 0x0F, 0, s, u[10:22], 0, u[22:26]))
    return out

next_free, allocated = 2, 0
for src in files:
    name = os.path.basename(src)
    data = open(src, 'rb').read()
    sn, nt, lfn = short_name(name)
    taken.add(sn)
    first = 0
    if data:
        prev = 0
        for off in range(0, len(data), csize):
            while get(next_free):
                next_free += 1
            if next_free >= nclus + 2:
                sys.exit('fat_put: %s: file system full' % path)
            n = next_free
            put(n, eoc)
            if prev:
                put(prev, n)
            else:
                first = n
            img.seek(coff(n))
            img.write(data[off:off + csize].ljust(csize, b'\0'))
            prev, allocated = n, allocated + 1
    ents = (lfn_entries(name, sn) if lfn else []) + [struct.pack(
        '<11sBBBHHHHHHHI', sn, 0x20, nt, 0, TIME, DATE, DATE, first >> 16, TIME, DATE,
        first & 0xFFFF, len(data))]
    run = 0
    for i, u in enumerate(used):
        run = 0 if u else run + 1
        if run == len(ents):
            break
    else:
        sys.exit('fat_put: %s: root directory full' % path)
    for j, e in enumerate(ents):
        k = i - len(ents) + 1 + j
        img.seek(slots[k])
        img.write(e)
        used[k] = True
for i in range(nfats):
    img.seek((rsvd + i * fatsz) * bps)
    img.write(fat)
if fat32 and allocated:
    # FSInfo's free count and hint, or fsck.fat reports them wrong.
    info = struct.unpack_from('<H', bs, 48)[0] * bps
    img.seek(info + 488)
    free, _ = struct.unpack('<II', img.read(8))
    if free != 0xFFFFFFFF:
        img.seek(info + 488)
        img.write(struct.pack('<II', free - allocated, next_free))
PY
}

# family_ext4 IMAGE SIZE LABEL UUID DIR: an ext4 file system filled from DIR
# that comes out the same on every run, user and umask. mke2fs copies modes,
# owners, atime and mtime from DIR (fixed by chmod and touch) and takes its
# own times from E2FSPROGS_FAKE_TIME, but it also copies each file's ctime,
# which only the clock sets, and the running user's ids: debugfs rewrites
# those.
family_ext4() {
	find "$5" -type d -exec chmod 755 {} +
	find "$5" -type f -exec chmod 644 {} +
	find "$5" -exec touch -h -d "@$FAMILY_EPOCH" {} +
	E2FSPROGS_FAKE_TIME=$FAMILY_EPOCH mkfs.ext4 -q -F -L "$3" -U "$4" \
		-E hash_seed=5ee0c0de-7e57-4a11-8b1d-000000000000,root_owner=0:0 \
		-d "$5" "$1" "$2" >/dev/null 2>&1 || fail "mkfs.ext4 $3"
	(cd "$5" && find . -mindepth 1 | sed 's|^\.||') | while read -r f; do
		printf 'sif %s ctime %s\nsif %s uid 0\nsif %s gid 0\n' "$f" "$FAMILY_EPOCH" "$f" "$f"
	done >"$1.sif"
	E2FSPROGS_FAKE_TIME=$FAMILY_EPOCH debugfs -w -f "$1.sif" "$1" >/dev/null 2>&1 ||
		fail "debugfs $3"
	rm -f "$1.sif"
}

# family_fat IMAGE KIB LABEL SERIAL FILE...: a FAT32 file system with FILEs.
family_fat() {
	img=$1 kib=$2 label=$3 serial=$4
	shift 4
	rm -f "$img"
	mkfs.vfat --invariant -i "$serial" -n "$label" -F 32 -s 1 -C "$img" "$kib" \
		>/dev/null 2>&1 || fail "mkfs.vfat $label"
	[ $# -eq 0 ] || fat_put "$img" "$@"
}

# family_seed DIR: the default cloud-init seed both images ship
# (commissioning.md §3.2, §3.3).
family_seed() {
	printf 'dsmode: local\ninstance-id: cloud-image\n' >"$1/meta-data"
	printf '#cloud-config\nchpasswd:\n  expire: true\n  users:\n  - name: ubuntu\n    password: ubuntu\n    type: text\nssh_pwauth: true\n' \
		>"$1/user-data"
	printf 'network:\n  version: 2\n  ethernets:\n    zz-all-en:\n      match:\n        name: "en*"\n      dhcp4: true\n      optional: true\n' \
		>"$1/network-config"
}

# family_tools: the tools beyond make_disk's that the family disks need.
family_tools() {
	for t in python3 debugfs; do
		command -v $t >/dev/null || fail "missing tool $t (scripts/install-deps.sh installs it)"
	done
}

# make_rk1_disk FILE: 40 MiB laid out as ubuntu-rockchip v2.x (commissioning.md
# §3.2): GPT, a Rockchip ID block (v2 "RKNS" header, as U-Boot's mkimage -T
# rksd writes it for rk3588, with made-up loader stages) at sector 64, p1
# FAT32 "CIDATA" at 16 MiB holding the seed, p2 ext4 "cloudimg-rootfs" at
# 20 MiB (ESP type GUID, U-Boot's bootable marker).
make_rk1_disk() {
	out=$1
	family_tools
	rm -rf rk1.d && mkdir -p rk1.d/seed rk1.d/root/etc rk1.d/root/boot/extlinux
	rm -f "$out" && truncate -s 40M "$out"
	sfdisk -q "$out" <<-'SF' || fail "sfdisk rk1"
	label: gpt
	label-id: 8DA63339-0007-60C0-C436-083AC8230908
	start=32768, size=8192, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, uuid=A1B2C3D4-0001-4000-8000-000000000001
	start=40960, size=36864, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=A1B2C3D4-0002-4000-8000-000000000002
	SF
	python3 - "$out" <<-'PY' || fail "rk1 ID block"
	import hashlib, struct, sys
	# Header (4 sectors) then the two stages, each a multiple of 2 KiB.
	stages = [(b'tpkit test DDR init\n' * 300)[:4096], (b'tpkit test SPL\n' * 700)[:8192]]
	hdr = bytearray(2048)
	struct.pack_into('<4s4xII', hdr, 0, b'RKNS', (len(stages) << 16) | 384, 1)
	sector = 4
	for i, s in enumerate(stages):
	    n = len(s) // 512
	    struct.pack_into('<IIII8x32s', hdr, 120 + 88 * i, n << 16 | sector, 0xFFFFFFFF, 0,
	                     i + 1, hashlib.sha256(s).digest())
	    sector += n
	hdr[1536:1568] = hashlib.sha256(hdr[:1536]).digest()
	with open(sys.argv[1], 'r+b') as f:
	    f.seek(64 * 512)
	    f.write(hdr + b''.join(stages))
	PY
	family_seed rk1.d/seed
	family_fat rk1.d/fat.img 4096 CIDATA 0c1da7a0 \
		rk1.d/seed/meta-data rk1.d/seed/user-data rk1.d/seed/network-config
	echo 'UUID=5ee0c0de-0001-4a11-8b1d-000000000001 / ext4 defaults,x-systemd.growfs 0 1' \
		>rk1.d/root/etc/fstab
	echo tpkit-rk1 >rk1.d/root/etc/hostname
	printf 'label l0\n\tkernel /boot/vmlinuz\n\tappend root=UUID=5ee0c0de-0001-4a11-8b1d-000000000001 rootwait\n' \
		>rk1.d/root/boot/extlinux/extlinux.conf
	family_ext4 rk1.d/ext.img 18M cloudimg-rootfs 5ee0c0de-0001-4a11-8b1d-000000000001 rk1.d/root
	dd if=rk1.d/fat.img of="$out" bs=512 seek=32768 conv=notrunc status=none
	dd if=rk1.d/ext.img of="$out" bs=512 seek=40960 conv=notrunc status=none
	rm -rf rk1.d
}

# make_cm4_disk FILE: 48 MiB laid out as Ubuntu's raspi images (commissioning.md
# §3.3): MBR, p1 FAT32 LBA (0x0c, bootable) "system-boot" at sector 2048 with
# config.txt, cmdline.txt and the seed, p2 ext4 "writable". No Rockchip ID block.
make_cm4_disk() {
	out=$1
	family_tools
	rm -rf cm4.d && mkdir -p cm4.d/boot cm4.d/root/etc
	rm -f "$out" && truncate -s 48M "$out"
	sfdisk -q "$out" <<-'SF' || fail "sfdisk cm4"
	label: dos
	label-id: 0x4ec8ea38
	start=2048, size=73728, type=c, bootable
	start=75776, size=22528, type=83
	SF
	printf '[all]\nkernel=vmlinuz\ncmdline=cmdline.txt\ninitramfs initrd.img followkernel\n\n[cm4]\ndtoverlay=dwc2,dr_mode=host\n' \
		>cm4.d/boot/config.txt
	echo 'console=serial0,115200 multipath=off dwc_otg.lpm_enable=0 console=tty1 root=LABEL=writable rootfstype=ext4 rootwait fixrtc' \
		>cm4.d/boot/cmdline.txt
	family_seed cm4.d/boot
	family_fat cm4.d/fat.img 36864 system-boot 4ec8ea38 cm4.d/boot/config.txt \
		cm4.d/boot/cmdline.txt cm4.d/boot/meta-data cm4.d/boot/user-data \
		cm4.d/boot/network-config
	printf 'LABEL=writable\t/\text4\tdefaults\t0 1\nLABEL=system-boot\t/boot/firmware\tvfat\tdefaults\t0 1\n' \
		>cm4.d/root/etc/fstab
	echo tpkit-cm4 >cm4.d/root/etc/hostname
	family_ext4 cm4.d/ext.img 11M writable 5ee0c0de-0002-4a11-8b1d-000000000002 cm4.d/root
	dd if=cm4.d/fat.img of="$out" bs=512 seek=2048 conv=notrunc status=none
	dd if=cm4.d/ext.img of="$out" bs=512 seek=75776 conv=notrunc status=none
	rm -rf cm4.d
}
