#!/bin/bash
# SPDX-License-Identifier: MIT
# Seed inputs for the fuzz targets, generated at each run (nothing binary is
# kept in the repository): tests/fuzz/seeds.sh BUILD_DIR OUT_DIR makes
# OUT_DIR/<target>/ for every target. Byte 0 of most inputs is the target's
# control byte (see each fuzz_*.c).
set -euo pipefail
build=$1 out=$2
src=$(cd "$(dirname "$0")/../.." && pwd)
rm -rf "$out"
mkdir -p "$out"/{ldr,catalogue,family,checksum,slots,decode,rockusb,rpiboot,yaml,report,commission,serve,ws}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# ldr: mkldr's shapes; control byte 0 (CRC as built) and 1 (CRC patched)
mk=$build/tests/tools/mkldr
i=0
for opts in "--small" "--small --rc4" "--small --tag BOOT" "--corrupt crc --small" \
	"--small --corrupt entry-outside"; do
	# shellcheck disable=SC2086
	"$mk" $opts "$work/l.bin"
	{ printf '\000'; cat "$work/l.bin"; } >"$out/ldr/mkldr$i"
	{ printf '\003'; cat "$work/l.bin"; } >"$out/ldr/mkldr$i-crc"
	i=$((i + 1))
done

# catalogue: the shipped one and a small override
cp "$src/images/images.conf" "$out/catalogue/shipped"
cat >"$out/catalogue/small" <<X
[a-rk1]
module = rk1
url = https://example.com/a.img.xz
sha256 = $(printf '%064d' 1)
size = 100
default = yes
X
# ... and the k3s bundle's kinds (docs/seeding.md §9)
cat >"$out/catalogue/k3s" <<X
[k3s-arm64]
kind = k3s-binary
arch = arm64
version = v1.31.12+k3s1
url = https://example.com/k3s-arm64
sha256 = $(printf '%064d' 2)
[k3s-install]
kind = k3s-install
version = v1.31.12+k3s1
url = https://example.com/install.sh
sha256 = $(printf '%064d' 3)
X

# checksum: GNU, BSD, bare, CR endings; control byte picks name and mode
h=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
printf '\000%s  x.img\n%s *other\n' "$h" "$h" >"$out/checksum/gnu"
printf '\001SHA256 (disk.img.xz) = %s\r\n' "$h" >"$out/checksum/bsd"
printf '\004%s\n' "$h" >"$out/checksum/bare"
printf '\000%s *x.img\r' "$h" >"$out/checksum/cr"

# yaml: configuration values as they come (a key line with a comment) and
# the characters YAML treats specially
printf '%s' 'ssh-ed25519 AAAAC3Nz me "at" c:\\laptop: #1' >"$out/yaml/key"
printf 'a\nb\tc\302\205d\342\200\250e\357\273\277' >"$out/yaml/breaks"

# slots
printf '\004%s' "1-4" >"$out/slots/range"
printf '\004%s' "1,3" >"$out/slots/list"
printf '\040%s' "1-2,4,31-32" >"$out/slots/wide"

# report: authentic lines (key 00 01 .. 1f, control byte 0; HMAC made here
# with Python's hmac, not tpkit's), on a noisy console, cut, with CR LF
python3 - "$out/report" <<'PY'
import hashlib, hmac, sys
key = bytes(range(32))
def line(body):
    body = "TPKR|" + body + "|"
    return body + hmac.new(key, body.encode(), hashlib.sha256).hexdigest()[:32]
lines = [line("1|2|b7e1c2d4a9f00e11|17|migrate|progress|copying / to nvme0n1p2: 41%25"),
         line("1|4|run.7_x-1|18446744073709551615|k3s|fail|exit 1%0A%7Cdone%FF"),
         line("1|1|a|0|done|done|")]
seeds = [b"\0" + l.encode() for l in lines]
seeds += [b"\0[   3.1] kernel: x\x1b[0m" + lines[0].encode() + b"\r\n",
          b"\0" + lines[1][:40].encode() + lines[2].encode(),
          b"\1" + lines[0].encode()]
for i, s in enumerate(seeds):
    open("%s/line%d" % (sys.argv[1], i), "wb").write(s)
PY

# family and decode: a small disk head with an MBR (FAT, bootable), and
# the same with a Rockchip ID block at sector 64
python3 - "$work" <<'PY'
import sys
w = sys.argv[1]
d = bytearray(70000)
d[446:462] = bytes([0x80, 0, 0, 0, 0x0c, 0, 0, 0]) + (2048).to_bytes(4, 'little') + (4096).to_bytes(4, 'little')
d[510:512] = b'\x55\xaa'
open(w + '/cm4.img', 'wb').write(d)
d[0x8000:0x8004] = b'RKNS'
open(w + '/rk1.img', 'wb').write(d)
PY
cp "$work/cm4.img" "$out/family/cm4"
cp "$work/rk1.img" "$out/family/rk1"
for f in rk1 cm4; do
	{ printf '\003'; cat "$work/$f.img"; } >"$out/decode/raw-$f"
done
(cd "$work" && xz -1 -c rk1.img >rk1.img.xz && gzip -1 -c rk1.img >rk1.img.gz &&
	zstd -q -1 -c rk1.img >rk1.img.zst && bzip2 -1 -c rk1.img >rk1.img.bz2 &&
	tar -cf rk1.tar rk1.img && zip -q rk1.zip rk1.img && xz -1 -c rk1.tar >rk1.tar.xz)
for f in rk1.img.xz rk1.img.gz rk1.img.zst rk1.img.bz2 rk1.tar rk1.zip rk1.tar.xz; do
	{ printf '\005'; cat "$work/$f"; } >"$out/decode/$f"
done

# rockusb: 9 control bytes (op, lba, count), then a reply
printf '\000\000\000\000\000\000\000\000\000USBS\001\000\000\000\000\000\000\000\000' >"$out/rockusb/csw"
printf '\004\000\010\000\000\200\000\000\000\000\000\250\003\000\004\001\010\000\000\001' >"$out/rockusb/flash-info"
printf '\005\000\000\000\000\000\000\000\0008853\000\000\000\000\000\000\000\000\000\000\000\000' >"$out/rockusb/chip-info"
printf '\001\000\000\000\000\000\000\000\000EMMC ' >"$out/rockusb/flash-id"

# rpiboot: GetFileSize, ReadFile, Done, metadata
for r in '\000\000\000\000start4.elf' '\001\000\000\000config.txt' '\002\000\000\000' \
	'\000\000\000\000SERIAL*12345678' '\001\000\000\000../etc/passwd'; do
	# shellcheck disable=SC2059
	printf "$r" >"$out/rpiboot/req$(( $(ls "$out/rpiboot" | wc -l) ))"
done

# commission: a record (control byte 0) and kernel command lines (1)
printf '\000version=1\nslot=1\nstate=running\nattempts=1\nflashes=1\nsince=1796300000\nmodule=rk1\nimage=/x/rk1.img.xz\ninstance_id=tpkit-lab-slot1-0123456789abcdef\nroot_uuid=0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f0\nreport_step=migrate\nreport_event=progress\nreport_text=3/6 odd \\x09 bytes\n' >"$out/commission/record"
printf '\001[    0.000000] Kernel command line: BOOT_IMAGE=/boot/vmlinuz root=UUID=0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f0 ro console=ttyS0\r\n' >"$out/commission/own-root"
printf '\001[    0.000000] Kernel command line: root=UUID=99999999-4b5a-4978-8695-a4b3c2d1e0f0 rootwait\n' >"$out/commission/old-root"
printf '\001Kernel command line: noroot=x root=/dev/nvme0n1p2 quiet\n' >"$out/commission/nvme-dev"

# ws: frames as bmcd and tpkit serve send them (binary, ping, a 16-bit
# length, close), then the answer to an upgrade (RFC 6455's example key)
printf '\000\202\005hello\211\000\202\176\000\003abc\210\002\003\350' >"$out/ws/frames"
printf '\001HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n' \
	>"$out/ws/upgrade"
printf '\001HTTP/1.1 401 Unauthorized\r\n\r\n' >"$out/ws/refused"

# serve: bmcd-shaped queries (serve.md §4), each with a header
printf 'opt=get&type=power\n' >"$out/serve/power"
printf 'opt=set&type=flash&file=a%%20b.img.xz&length=123&node=1&sha256=ab&skip_crc\nBearer abc\n' \
	>"$out/serve/flash"
printf 'opt=set&type=reset&node=256\nBasic cm9vdDp0dXJpbmc=' >"$out/serve/basic"
printf 'opt=set&type=usb&node=-1&mode=7&&=&%%zz\nBearer  two-spaces' >"$out/serve/odd"
