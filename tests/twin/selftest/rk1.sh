# SPDX-License-Identifier: MIT
# Self-test of the simulated RK1 (docs/twin.md, "Simulated RK1", "USB
# timing model"); sourced by run.sh, whose helpers and counters it uses.
# Clients: client.py for lines and regulators, usbc.py (libusb through
# ctypes) for USB.

USBC="$PY $HERE/usbc.py"
GP="$PY $CLIENT"

# urun NAME [TWIN-OPTIONS...] -- SHELL-COMMAND
urun() {
	local name=$1 opts=()
	shift
	while [ "$1" != "--" ]; do
		opts+=("$1")
		shift
	done
	shift
	CUR=$name
	timeout 60 "$TWIN" "${opts[@]}" --timeline "$W/$name.tl" \
		--state "$W/$name.st" -- sh -c "$1" >"$W/$name.out" 2>"$W/$name.err"
	echo $? >"$W/$name.rc"
	sed -e 's/^ *//' -e 's/  */ /g' "$W/$name.tl" >"$W/$name.tln" 2>/dev/null
}
noout() { check "no output: $1" bash -c '! grep -qF -- "$1" "$2"' _ "$1" "$W/$CUR.out"; }

# v2.5: PG2 = gpiochip0 194 routes the hub to the BMC; node2-rpiboot =
# gpiochip2 4, node2-en = gpiochip2 3 (hardware.md §3.3, §6.3).
route="'REQUEST gpiochip0 194 t' 'SET gpiochip0 194 1'"
strap="'REQUEST gpiochip2 4 t' 'SET gpiochip2 4 1'"
on2="write:$R/node2-power/state=enabled 'REQUEST gpiochip2 3 t' 'SET gpiochip2 3 1'"
off2="write:$R/node2-power/state=disabled"
PWR="$GP 'HELLO t' $route $strap $on2 >/dev/null"
LDR="open area:0x471:2048 area:0x472:5000 close sleep:400"

# --- appears only with strap + power + route, 300 ms after power ---------
urun rk_appear --rev 2.5 --slot 2=rk1 -- "$PWR && $USBC list sleep:299 list sleep:1 list"
rc 0
check "maskrom absent at +299 ms, present at +300 ms" \
	[ "$(grep -c '2207:350b' "$W/$CUR.out")" = 1 ]
out "dev 1-1.2 2207:350b bcdUSB=0200 addr=3"
out "dev 1-1 05e3:0608 bcdUSB=0200 addr=2"
tl "650.000 usbdev node2 none -> maskrom (2207:350b at 1-1.2, dev 3)"
urun rk_nostrap --rev 2.5 --slot 2=rk1 --root "$W/rootA" -- \
	"$GP 'HELLO t' $route $on2 >/dev/null && $USBC sleep:2000 list"
rc 0
# A blank eMMC: no ID block, so the ROM falls back to USB: the maskrom, silent.
out "dev 1-1.2 2207:350b bcdUSB=0200 addr=3"
tl "2350.000 boot slot2 rom -> maskrom (no ID block at sector 64 of the eMMC)"
tl "2350.000 usbdev node2 none -> maskrom (2207:350b at 1-1.2, dev 3)"
check "UART says nothing" [ ! -s "$W/rootA/dev/ttyS2" ]
urun rk_noroute --rev 2.5 --slot 2=rk1 -- \
	"$GP 'HELLO t' $strap $on2 >/dev/null && $USBC sleep:400 list && $GP 'HELLO t' $route >/dev/null && $USBC list"
rc 0
check "no maskrom while the hub goes to USB-C, then at once" \
	[ "$(grep -c '2207:350b' "$W/$CUR.out")" = 1 ]
tl "750.000 usbdev node2 none -> maskrom (2207:350b at 1-1.2, dev 3)"
urun rk_latestrap --rev 2.5 --slot 2=rk1 -- \
	"$GP 'HELLO t' $route $on2 $strap >/dev/null && $USBC sleep:400 list"
rc 0
noout "2207:350b"
urun rk_v24 --rev 2.4 --slot 2=rk1 -- \
	"$GP 'HELLO t' 'REQUEST gpiochip0 197 t' 'SET gpiochip0 197 1' 'REQUEST gpiochip0 193 t' 'SET gpiochip0 193 1' 'REQUEST gpiochip0 192 t' 'SET gpiochip0 192 1' 'REQUEST gpiochip0 195 t' 'SET gpiochip0 195 1' 'REQUEST gpiochip1 6 t' 'SET gpiochip1 6 1' 'REQUEST gpiochip1 7 t' 'SET gpiochip1 7 1' write:$R/node2-power/state=enabled 'REQUEST gpiochip1 4 t' 'SET gpiochip1 4 1' >/dev/null && $USBC sleep:300 list"
rc 0
out "dev 1-1 2207:350b bcdUSB=0200 addr=2"
noout "05e3:0608"

# --- disappears at power off; strap released after enumeration ----------
urun rk_off --rev 2.5 --slot 2=rk1 -- \
	"$PWR && $USBC sleep:300 && $GP 'HELLO t' 'REQUEST gpiochip2 4 t' 'SET gpiochip2 4 0' >/dev/null && $USBC list && $GP 'HELLO t' $off2 >/dev/null && $USBC list"
rc 0
check "maskrom stays after the strap is released, goes at power off" \
	[ "$(grep -c '2207:350b' "$W/$CUR.out")" = 1 ]
tl "650.000 usbdev node2 maskrom -> none (bulk 0.000000 s, 0 B out, 0 B in, 0 URBs)"

# --- download, re-enumeration as the loader, commands, timing ------------
urun rk_loader --rev 2.5 --slot 2=rk1 -- "$PWR && $USBC sleep:300 $LDR list open now \
	cbw:0:0:0:0:0x80 in:13 now cbw:0x15:0:128:65536:0 out:zero65536 in:13 now \
	cbw:0x1a:0:0:11:0x80 in:512 in:13 cbw:0x15:0:241:123392:0 out:zero123392 in:13"
rc 0
out "area 0x471 rc=2050"
out "area 0x472 rc=906"
out "dev 1-1.2 2207:350b bcdUSB=0201 addr=4"
tl "651.663 usbdev node2 maskrom -> none (bulk 0.000000 s, 0 B out, 0 B in, 0 URBs)"
tl "1051.663 usbdev node2 none -> loader (2207:350b at 1-1.2, dev 4)"
out "in rc=0 n=11 0000000400040400280001"
# The timing model on a known pattern (docs/twin.md): TEST_UNIT_READY
# (CBW, CSW) from 1051.663461 ms and a 64 KiB WRITE_LBA after it.
out "now 1051663461"
out "now 1052134615"
out "now 1054019230"
# Over --rk-max-sectors (240 by default): a failing CSW (status 1, residue
# 123392), no violation; its data phase still runs, in one 120 KiB transfer.
out "in rc=0 n=13 555342534433221100e2010001"
tl "1054.759 rk node2 WRITE_LBA -> fail (241 sectors > --rk-max-sectors 240)"
err "tp-twin: usb node2 loader (1-1.2, dev 4): bulk 0.006096 s, 189052 B out, 63 B in, 11 URBs"

# DEVICE_RESET with the strap still asserted: back to the maskrom.
urun rk_reset --rev 2.5 --slot 2=rk1 -- "$PWR && $USBC sleep:300 $LDR open \
	cbw:0xff:0:0:0:0 in:13 close sleep:300 list"
rc 0
out "dev 1-1.2 2207:350b bcdUSB=0200 addr=5"

# mkemmc FILE TAG: an MBR with one partition, and at sector 64 the ID block
# header TAG: RKNS, legacy (0x0FF0AA55 RC4-enciphered with Rockchip's key,
# protocols.md §3.4) or none.
mkemmc() {
	$PY - "$1" "$2" <<'PY'
import sys
s = bytearray(65 * 512)
s[446 + 4] = 0x83; s[446 + 12] = 8; s[510] = 0x55; s[511] = 0xaa
if sys.argv[2] == 'RKNS':
    s[64 * 512:64 * 512 + 4] = b'RKNS'
elif sys.argv[2] == 'legacy':
    key = bytes.fromhex('7c4e030455050907' '2d2c7b38170d1711')
    st = list(range(256)); j = 0
    for i in range(256):
        j = (j + st[i] + key[i % 16]) & 255; st[i], st[j] = st[j], st[i]
    hdr = bytearray(512); hdr[0:4] = (0x0FF0AA55).to_bytes(4, 'little'); i = j = 0
    for n in range(512):
        i = (i + 1) & 255; j = (j + st[i]) & 255; st[i], st[j] = st[j], st[i]
        hdr[n] ^= st[(st[i] + st[j]) & 255]
    s[64 * 512:65 * 512] = hdr
open(sys.argv[1], 'wb').write(s)
PY
}

# eMMC with an ID block and a partition table: the node boots, UART says so.
mkdir -p "$W/emmcB"
mkemmc "$W/emmcB/slot2.emmc" RKNS
urun rk_boot --rev 2.5 --slot 2=rk1 --emmc-dir "$W/emmcB" --root "$W/rootB" -- \
	"$GP 'HELLO t' $on2 'SLEEP 2000000000' >/dev/null"
rc 0
tl "2350.000 boot slot2 emmc -> ok (MBR)"
# no file system on it: no /etc/issue, and systemd's fallback host name
check "UART shows the login prompt" grep -qx "localhost login: " "$W/rootB/dev/ttyS2"
check "eMMC file sized by --emmc-size" [ "$(stat -c %s "$W/emmcB/slot2.emmc")" = 34359738368 ]
# The legacy RC4-enciphered header starts the loader too.
mkemmc "$W/emmcB/slot2.emmc" legacy
urun rk_boot_legacy --rev 2.5 --slot 2=rk1 --emmc-dir "$W/emmcB" -- \
	"$GP 'HELLO t' $on2 'SLEEP 2000000000' >/dev/null"
rc 0
tl "2350.000 boot slot2 emmc -> ok (MBR)"
# A partition table without an ID block: the ROM has no loader to start.
mkemmc "$W/emmcB/slot2.emmc" none
urun rk_boot_noidb --rev 2.5 --slot 2=rk1 --emmc-dir "$W/emmcB" --root "$W/rootC" -- \
	"$GP 'HELLO t' $on2 'SLEEP 2000000000' >/dev/null"
rc 0
tl "2350.000 boot slot2 rom -> maskrom (no ID block at sector 64 of the eMMC)"
check "no ID block: UART says nothing" [ ! -s "$W/rootC/dev/ttyS2" ]

# --- every kind of violation: the device fails, the twin exits 90 --------
vio() { # vio NAME USBC-STEPS... : each run must end with exit 90
	local name=$1
	shift
	urun "$name" --rev 2.5 --slot 2=rk1 --emmc-size 1M -- "$PWR && $USBC sleep:300 $*"
	rc 90
	err "tp-twin: VIOLATION: node2"
}
vio v_crc open area:0x471:2048:bad
out "area 0x471 rc=-9"
vio v_order open area:0x472:2048
vio v_request open ctrl:0x473:00
vio v_mask_bulk open out:00
vio v_cbw_len $LDR open out:5553424300
out "out rc=-9 n=0"
vio v_cbw_sig $LDR open out:$(printf '00%.0s' $(seq 31))
vio v_opcode $LDR open cbw:0x77:0:0:0:0 in:13
out "in rc=0 n=13 55534253443322110000000001"
vio v_lba $LDR open cbw:0x14:2048:1:512:0x80 in:512 in:13
vio v_cblen $LDR open cbw:0:0:0:0:0x80:10 in:13
vio v_dir $LDR open cbw:0x15:0:1:512:0 in:13
out "in rc=-9 n=0"
vio v_len $LDR open cbw:0x14:0:2:512:0x80 in:512 in:13

# --- the loader as a USB device, whatever the host sends (issue 8) -----
# READ_CAPABILITY (0xAA): 8 flag bytes as the RK3588 usbplug's U-Boot
# rockusb gives them for an eMMC; rkdeveloptool reads them with a 13-byte
# IN, which ends with the 8 (a short packet), the CSW following alone.
# 240 sectors per READ_LBA/WRITE_LBA are the usbplug's, not a violation.
# An IN longer than the data gets the data; when the data filled whole
# packets nothing ended the transfer, so the CSW runs into it.
# An IN before any CBW is NAKed: the host's timeout ends it, and the loader
# goes on as if nothing happened (no STALL, no violation).
mkdir -p "$W/emmcL"
$PY -c "import sys; f=open(sys.argv[1],'wb'); f.write(bytes(range(256))*8); f.seek(524288); f.write(b'\xab'*122880)" "$W/emmcL/slot2.emmc"
urun rk_device --rev 2.5 --slot 2=rk1 --emmc-dir "$W/emmcL" --emmc-size 1M -- \
	"$PWR && $USBC sleep:300 $LDR open timeout:200 in:13 timeout:5000 \
	cbw:0xaa:0:0:8:0x80 in:13 in:13 \
	cbw:0x15:1024:240:122880:0 out:zero122880 in:13 \
	cbw:0x14:1024:240:122880:0x80 in:122880 in:13 \
	cbw:0x14:1:1:512:0x80 in:4096 \
	cbw:0x1a:0:0:11:0x80 in:4096 in:13"
rc 0
violations 0
out "in rc=-7 n=0"
out "in rc=0 n=8 1517000000000000"
check "READ_CAPABILITY's CSW follows alone, status 0" \
	[ "$(grep -c '^in rc=0 n=13 55534253443322110000000000$' "$W/$CUR.out")" -ge 3 ]
out "in rc=0 n=525 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
out "in rc=0 n=11 0008000000040400280001"
noout "rc=-9"
check "the 240-sector write reached the eMMC" cmp -s -n 122880 -i 524288 "$W/emmcL/slot2.emmc" /dev/zero

# --- faults (docs/twin.md, "Faults"): no violation, the host sees them ---
# A WRITE_LBA covering --rk-fail-lba: data phase, then CSW status 1 with
# residue 65536; the data is not stored. READ_LBA likewise.
mkdir -p "$W/emmcF"
urun f_fail --rev 2.5 --slot 2=rk1 --emmc-dir "$W/emmcF" --rk-fail-lba 130 -- \
	"$PWR && $USBC sleep:300 $LDR open \
	cbw:0x15:0:1:512:0 out:$(printf 'ab%.0s' $(seq 512)) in:13 \
	cbw:0x15:128:128:65536:0 out:zero65536 in:13 \
	cbw:0x14:100:128:65536:0x80 in:65536 in:13"
rc 0
out "in rc=0 n=13 55534253443322110000000000"
check "the failing write says status 1, residue 65536" \
	[ "$(grep -c '^in rc=0 n=13 55534253443322110000010001$' "$W/$CUR.out")" = 2 ]
tl "1052.384 rk node2 WRITE_LBA -> fail (--rk-fail-lba 130: LBA 128 +128)"
tl "1054.269 rk node2 READ_LBA -> fail (--rk-fail-lba 130: LBA 100 +128)"
violations 0
check "the failed write stored nothing" \
	cmp -s -n 65536 -i 65536 "$W/emmcF/slot2.emmc" /dev/zero

# --rk-corrupt-read: the read gives LBA 101's first byte inverted; the
# eMMC is right.
urun f_corrupt --rev 2.5 --slot 2=rk1 --rk-corrupt-read 101 -- \
	"$PWR && $USBC sleep:300 $LDR open cbw:0x14:100:2:1024:0x80 in:1024 in:13 \
	cbw:0x14:101:1:512:0x80 in:512 in:13 cbw:0x14:102:2:1024:0x80 in:1024 in:13"
rc 0
out "in rc=0 n=512 ff00000000000000000000000000000000000000000000000000000000000000"
out "in rc=0 n=1024 0000000000000000000000000000000000000000000000000000000000000000"
tl "1051.884 rk node2 READ_LBA -> corrupt (--rk-corrupt-read 101: LBA 100 +2, byte 512 inverted)"
tl "1052.634 rk node2 READ_LBA -> corrupt (--rk-corrupt-read 101: LBA 101 +1, byte 0 inverted)"
check "only the reads covering LBA 101 are corrupt" \
	[ "$(grep -c 'READ_LBA -> corrupt' "$W/$CUR.tln")" = 2 ]
violations 0

# --rk-hang-lba: the CBW goes, then nothing: the host's (real-time)
# timeout ends the wait; no deadlock violation, and its cancel is fine.
urun f_hang --rev 2.5 --slot 2=rk1 --rk-hang-lba 200 -- \
	"$PWR && $USBC sleep:300 $LDR open timeout:300 cbw:0x15:128:128:65536:0 \
	out:zero65536 in:13 close"
rc 0
out "cbw rc=0 n=31"
out "out rc=-7 n=0"
out "in rc=-7 n=0"
tl "1051.663 rk node2 WRITE_LBA -> hang (--rk-hang-lba 200: LBA 128 +128)"
violations 0

# --rk-vanish-after: 1024 bytes in, the second data transfer takes one
# sector and fails with ESHUTDOWN (LIBUSB_ERROR_NO_DEVICE); the device
# is removed at its end; 512 + 512 bytes reached the eMMC.
mkdir -p "$W/emmcV"
urun f_vanish --rev 2.5 --slot 2=rk1 --emmc-dir "$W/emmcV" --rk-vanish-after 1024 -- \
	"$PWR && $USBC sleep:300 $LDR open cbw:0x15:0:4:2048:0 out:$(printf 'cd%.0s' $(seq 512)) \
	out:$(printf 'ef%.0s' $(seq 1536)) in:13 list"
rc 0
out "out rc=0 n=512"
out "out rc=-4 n=0"
out "in rc=-4 n=0"
noout "2207:350b bcdUSB=0201"
tl "1052.134 rk node2 WRITE_LBA -> vanish (--rk-vanish-after 1024: LBA 0 +4, 1024 of 2048 bytes taken)"
tl "1052.403 usbdev node2 loader -> none (bulk 0.000740 s, 543 B out, 0 B in, 3 URBs)"
violations 0
check "the eMMC got the sectors taken before the vanish" \
	bash -c 'head -c 1024 "$1" | od -v -An -tx1 | tr -d " \n" | grep -qx "$(printf "cd%.0s" $(seq 512))$(printf "ef%.0s" $(seq 512))"' _ "$W/emmcV/slot2.emmc"
