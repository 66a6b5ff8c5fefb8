# SPDX-License-Identifier: MIT
# Self-test of the simulated CM4 (docs/twin.md, "Simulated CM4"); sourced
# by run.sh after rk1.sh, whose helpers (urun, noout, $GP, $route, $strap,
# $on2) it uses. Client: rpic.py, an independent rpiboot host written from
# protocols.md §7 (Debian has no rpiboot package to run instead).

RPIC="$PY $HERE/rpic.py"
F=$W/rpifiles	# legacy msd
G=$W/rpigadget	# mass-storage-gadget64
"$HERE/mkrpiboot.sh" "$F" msd
"$HERE/mkrpiboot.sh" "$G" gadget
mkdir -p "$W/nostart" "$W/noramdisk"
cp "$F/bootcode4.bin" "$W/nostart/"
cp "$G/bootfiles.bin" "$G/boot.img" "$W/noramdisk/"
printf 'uart_2ndstage=1\n' >"$W/noramdisk/config.txt"
MSDSEQ="serve: GetFileSize config.txt -> 0|serve: GetFileSize pieeprom.sig -> 0|serve: GetFileSize start4.elf -> 301628|serve: ReadFile start4.elf -> 301628|serve: GetFileSize fixup4.dat -> 0|serve: cmd=2 empty name: ack, done|"
CPWR="$GP 'HELLO t' $route $strap $on2 >/dev/null"
# sha256 of the pattern rpic.py writes at offset 0
pat_sha() { "$PY" -c 'import hashlib, sys
n = int(sys.argv[1]); print(hashlib.sha256(bytes((i * 7) % 251 for i in range(n))).hexdigest())' "$1"; }
emmc_sha() { "$PY" -c 'import hashlib, sys
print(hashlib.sha256(open(sys.argv[1], "rb").read(int(sys.argv[2]))).hexdigest())' "$1" "$2"; }

# --- appears only with strap + power + route, 500 ms after power --------
urun cm4_appear --rev 2.5 --slot 2=cm4 -- "$CPWR && $RPIC list sleep:499 list sleep:1 list"
rc 0
check "boot ROM absent at +499 ms, present at +500 ms" \
	[ "$(grep -c '0a5c:2711' "$W/$CUR.out")" = 1 ]
out "dev 1-1.2 0a5c:2711 addr=3 serial=0"
tl "850.000 usbdev node2 none -> bootrom (0a5c:2711 at 1-1.2, dev 3)"
urun cm4_nostrap --rev 2.5 --slot 2=cm4 --root "$W/rootC" -- \
	"$GP 'HELLO t' $route $on2 >/dev/null && $RPIC sleep:3000 list"
rc 0
noout "0a5c:2711"
tl "3350.000 boot slot2 emmc -> fail (no partition table)"
check "UART tells the CM4's boot failure" grep -q "Boot mode: SD (01)" "$W/rootC/dev/ttyS2"
urun cm4_noroute --rev 2.5 --slot 2=cm4 -- \
	"$GP 'HELLO t' $strap $on2 >/dev/null && $RPIC sleep:600 list && $GP 'HELLO t' $route >/dev/null && $RPIC list"
rc 0
check "no boot ROM while the hub goes to USB-C, then at once" \
	[ "$(grep -c '0a5c:2711' "$W/$CUR.out")" = 1 ]
tl "950.000 usbdev node2 none -> bootrom (0a5c:2711 at 1-1.2, dev 3)"
urun cm4_latestrap --rev 2.5 --slot 2=cm4 -- \
	"$GP 'HELLO t' $route $on2 $strap >/dev/null && $RPIC sleep:600 list"
rc 0
noout "0a5c:2711"

# --- the whole flow, legacy msd: stage 1, stage 2, disk, writes, power off -
urun cm4_msd --rev 2.5 --slot 2=cm4 --emmc-size 64M --emmc-dir "$W/emmcA" -- \
	"$CPWR && $RPIC sleep:500 rpiboot:$F:bootcode4.bin sleep:2000 list block:1.2 now write:sda:0:10485760 now read:sda:0:10485760 now off:2 list && ls /sys/block /dev/sda 2>&1; true"
rc 0
violations 0
out "stage1 msg=24 data=105984 read=4 ret=00000000"
out "stage2 serial=4"
check "stage 2 asks what a real CM4 asks (optional files not found), then Done" bash -c \
	'[ "$(grep ^serve: "$1" | tr "\n" "|")" = "$2" ]' _ "$W/$CUR.out" "$MSDSEQ"
tl "853.682 rpi node2 bootcode4.bin -> ok (105984 bytes)"
tl "1854.278 usbdev node2 bootrom -> none (bulk 0.003615 s, 106008 B out, 0 B in, 8 URBs)"
tl "2154.278 usbdev node2 none -> stage2 (0a5c:2711 at 1-1.2, dev 4)"
tl "2155.067 rpi node2 pieeprom.sig -> absent (not found: optional)"
tl "2165.307 rpi node2 start4.elf -> ok (301628 bytes)"
tl "2165.942 rpi node2 fixup4.dat -> absent (not found: optional)"
tl "2166.144 rpi node2 done -> ok (msd)"
tl "3166.442 usbdev node2 none -> msd (0a5c:0001 at 1-1.2, dev 5)"
tl "4166.442 block node2 none -> sda (RPi-MSD-, 1-1.2, 131072 sectors)"
out "dev 1-1.2 0a5c:0001 addr=5 serial=0"
out "block sda vendor=RPi-MSD- model=eMMC size=131072 removable=1 path=/usb1/1-1/1-1.2/1-1.2:1.0/host0/target0:0:0/0:0:0:0/block/sda"
check "10 MiB at 10 MB/s moves the clock 1.048576 s" bash -c \
	'set -- $(sed -n "s/^now //p" "$1"); [ $(($2 - $1)) = 1048576000 ]' _ "$W/$CUR.out"
check "reading it back at 11 MB/s moves the clock 0.953250909 s" bash -c \
	'set -- $(sed -n "s/^now //p" "$1"); [ $(($3 - $2)) = 953250909 ]' _ "$W/$CUR.out"
tl "6168.471 block node2 sda -> none (10485760 B written, 10485760 B read, 2.001826 s at 10/11 MB/s)"
tl "6168.471 usbdev node2 msd -> none (bulk 0.000000 s, 0 B out, 0 B in, 0 URBs)"
check "the writes landed in slot2.emmc" [ "$(emmc_sha "$W/emmcA/slot2.emmc" 10485760)" = "$(pat_sha 10485760)" ]
check "power off: USB device gone (uevent seen by the same libusb context)" \
	[ "$(grep -c '0a5c:0001' "$W/$CUR.out")" = 1 ]
check "power off: /sys/block empty, /dev/sda gone" bash -c \
	'tail -n 2 "$1" | grep -q "^ls: cannot access .*/dev/sda" && ! tail -n 2 "$1" | grep -q "^sda"' _ "$W/$CUR.out"
err "tp-twin: block node2 sda (1-1.2): 10485760 B written, 10485760 B read, 2.001826 s at 10/11 MB/s"

# --- the gadget payload: its own files, vendor and rate ------------------
# The second stage from bootfiles.bin (73,120 B) is the gadget's: it asks
# for the SDRAM files and bootmain from the archive, then config.txt and
# boot.img (no --cm4-payload: the second stage says).
GSEQ="serve: GetFileSize mcb.bin -> 11696|serve: ReadFile mcb.bin -> 11696|"
for i in 0 1 2 3 4 5 6 7 8; do
	GSEQ="${GSEQ}serve: GetFileSize memsys0$i.bin -> 20492|serve: ReadFile memsys0$i.bin -> 20492|"
done
GSEQ="${GSEQ}serve: GetFileSize bootmain -> 265712|serve: ReadFile bootmain -> 265712|serve: GetFileSize config.txt -> 31|serve: ReadFile config.txt -> 31|serve: GetFileSize boot.img -> 4194816|serve: ReadFile boot.img -> 4194816|serve: cmd=2 empty name: ack, done|"
urun cm4_gadget --rev 2.5 --slot 2=cm4 --emmc-size 64M -- \
	"$CPWR && $RPIC sleep:500 rpiboot:$G:bootcode4.bin sleep:6000 block:1.2 now write:sda:0:10485760 now"
rc 0
violations 0
out "stage1 msg=24 data=73120 read=4 ret=00000000"
check "gadget requests the 2711/ files of bootfiles.bin, then config.txt and boot.img" bash -c \
	'[ "$(grep ^serve: "$1" | tr "\n" "|")" = "$2" ]' _ "$W/$CUR.out" "$GSEQ"
tl "2180.644 rpi node2 config.txt -> ok (31 bytes)"
tl "2310.134 rpi node2 done -> ok (gadget)"
out "block sda vendor=Linux    model=File-Stor Gadget size=131072 removable=1 path=/usb1/1-1/1-1.2/1-1.2:1.0/host0/target0:0:0/0:0:0:0/block/sda"
check "10 MiB at 35 MB/s moves the clock 0.299593142 s" bash -c \
	'set -- $(sed -n "s/^now //p" "$1"); [ $(($2 - $1)) = 299593142 ]' _ "$W/$CUR.out"
check "gadget: USB device after --cm4-msd-delay 5000" grep -q "usbdev node2 none -> gadget (1d6b:0104 at 1-1.2" "$W/$CUR.tln"
tl "8610.237 block node2 sda -> end (10485760 B written, 0 B read, 0.299593 s at 35/35 MB/s)"

# --- v2.4: the node the mux selects is 1-1; ROM serial index 3 -----------
mux2="'REQUEST gpiochip0 197 t' 'SET gpiochip0 197 1' 'REQUEST gpiochip0 193 t' 'SET gpiochip0 193 1' 'REQUEST gpiochip0 194 t' 'REQUEST gpiochip0 192 t' 'SET gpiochip0 192 1' 'REQUEST gpiochip0 195 t' 'SET gpiochip0 195 1' 'REQUEST gpiochip1 6 t' 'SET gpiochip1 6 1' 'REQUEST gpiochip1 7 t' 'SET gpiochip1 7 1'"
urun cm4_v24 --rev 2.4 --slot 2=cm4 --cm4-rom-serial 3 --emmc-size 16M -- \
	"$GP 'HELLO t' $mux2 write:$R/node2-power/state=enabled 'REQUEST gpiochip1 4 t' 'SET gpiochip1 4 1' >/dev/null && $RPIC sleep:500 list rpiboot:$F:bootcode4.bin sleep:2000 block:1"
rc 0
violations 0
out "dev 1-1 0a5c:2711 addr=2 serial=3"
out "stage2 serial=4"
out "block sda vendor=RPi-MSD- model=eMMC size=32768 removable=1 path=/usb1/1-1/1-1:1.0/host0/target0:0:0/0:0:0:0/block/sda"

# --- two CM4s: sda and sdb in order of appearance, each under its port ---
on13="write:$R/node1-power/state=enabled write:$R/node3-power/state=enabled 'REQUEST gpiochip2 2 t' 'SET gpiochip2 2 1' 'REQUEST gpiochip2 6 t' 'SET gpiochip2 6 1' 'REQUEST gpiochip2 0 t' 'SET gpiochip2 0 1' 'REQUEST gpiochip2 5 t' 'SET gpiochip2 5 1'"
urun cm4_two --rev 2.5 --slot 1=cm4 --slot 3=cm4 --emmc-size 16M -- \
	"$GP 'HELLO t' $route $on13 >/dev/null && $RPIC sleep:500 rpiboot:$F:bootcode4.bin:1.3 sleep:2000 rpiboot:$F:bootcode4.bin:1.1 sleep:2000 block:1.3 block:1.1"
rc 0
violations 0
out "block sda vendor=RPi-MSD- model=eMMC size=32768 removable=1 path=/usb1/1-1/1-1.3/1-1.3:1.0/host0/target0:0:0/0:0:0:0/block/sda"
out "block sdb vendor=RPi-MSD- model=eMMC size=32768 removable=1 path=/usb1/1-1/1-1.1/1-1.1:1.0/host1/target1:0:0/1:0:0:0/block/sdb"

# --- a bulk transfer is not a unit the device sees (issue 8) ------------
# ep_write's chunks are 16 KiB in usbboot, but the ROM takes a stream of
# packets: the second stage in 64 KiB transfers is no violation.
urun cm4_bigchunk --rev 2.5 --slot 2=cm4 -- "$CPWR && $RPIC sleep:500 open \
	ew:24:009e01000000000000000000000000000000000000000000 ewchunk:65536 ew:105984"
rc 0
violations 0
check "the ROM took the second stage" grep -qF "rpi node2 bootcode4.bin -> ok (105984 bytes)" "$W/$CUR.tln"

# --- the disks share the one USB link with each other and the RK1s -----
# Two gadget disks written at once (no request between the writes): each
# could take 10 MiB in 0.2996 s at 35 MB/s, but the hub's link carries both,
# 2 x (20480 data + 2 x 86 CBW/CSW) packets at 13 per 125 us: 0.39715 s.
urun cm4_link --rev 2.5 --slot 1=cm4 --slot 3=cm4 --cm4-msd-delay 1000 --emmc-size 16M -- \
	"$GP 'HELLO t' $route $on13 >/dev/null && $RPIC sleep:500 rpiboot:$G:bootcode4.bin:1.3 sleep:2000 \
	rpiboot:$G:bootcode4.bin:1.1 sleep:6000 block:1.3 block:1.1 now write:sda:0:10485760 write:sdb:0:10485760 now"
rc 0
violations 0
check "two disks at once take the link's time, not one disk's" bash -c \
	'set -- $(sed -n "s/^now //p" "$1"); [ $(($2 - $1)) = 397153846 ]' _ "$W/$CUR.out"

# --- violations: each one alone, exit 90, no disk where the boot stops ---
cvio() { # cvio NAME [TWIN-OPTIONS...] -- RPIC-STEPS (after power-on + 500 ms)
	local name=$1 opts=()
	shift
	while [ "$1" != "--" ]; do opts+=("$1"); shift; done
	shift
	urun "cvio_$name" --rev 2.5 --slot 2=cm4 "${opts[@]}" -- "$CPWR && $RPIC sleep:500 $*"
	rc 90
	violations 1
	err "tp-twin: VIOLATION: "
}
S1="boot1:$F:bootcode4.bin"
cvio msglen -- open ew:20
out "ew rc=-9"
cvio sslen -- open ew:24:e80300000000000000000000000000000000000000000000 ew:105984
cvio overrun -- open ew:24:z30
cvio signature -- open ew:24:009e0100ff00000000000000000000000000000000000000
cvio earlyread -- open er:4
out "er rc=-9"
cvio request -- open ctrl:0x40:5:0:0:0
cvio datastage -- open ctrl:0x40:0:24:0:24
cvio sizemismatch -- $S1 er:260 ctrl:0x40:0:1000:0:0 er:260 ew:999
urun cvio_noramdisk --rev 2.5 --slot 2=cm4 -- "$CPWR && $RPIC sleep:500 rpiboot:$W/noramdisk:bootcode4.bin"
rc 90
violations 1
tl "2180.644 rpi node2 config.txt -> fail (no boot_ramdisk=1)"

# --- faults (docs/twin.md, "Faults of a CM4"): not violations ------------
urun cm4_nostage2 --rev 2.5 --slot 2=cm4 --cm4-fault no-stage2 --emmc-size 16M -- \
	"$CPWR && $RPIC sleep:500 boot1:$F:bootcode4.bin sleep:10000 list block:1.2"
rc 0
violations 0
out "stage1 msg=24 data=105984 read=4 ret=00000000"
out "stage2 none"
noout "0a5c:2711"
out "block none"
tl "1854.278 usbdev node2 bootrom -> none (bulk 0.003615 s, 106008 B out, 0 B in, 8 URBs)"
tl "2154.278 rpi node2 stage2 -> fail (--cm4-fault no-stage2: it never enumerates)"
notl "none -> stage2"
urun cm4_nomsd --rev 2.5 --slot 2=cm4 --cm4-fault no-msd --emmc-size 16M -- \
	"$CPWR && $RPIC sleep:500 rpiboot:$F:bootcode4.bin sleep:10000 list block:1.2"
rc 0
violations 0
out "serve: cmd=2 empty name: ack, done"
tl "2166.144 rpi node2 done -> ok (msd)"
tl "2176.442 usbdev node2 stage2 -> none (bulk 0.009365 s, 301628 B out, 0 B in, 19 URBs)"
tl "3166.442 rpi node2 msd -> fail (--cm4-fault no-msd: no mass-storage device)"
noout "0a5c:0001"
noout "0a5c:2711"
out "block none"
urun cm4_nodisk --rev 2.5 --slot 2=cm4 --cm4-fault no-disk --emmc-size 16M -- \
	"$CPWR && $RPIC sleep:500 rpiboot:$F:bootcode4.bin sleep:10000 list block:1.2 off:2 list"
rc 0
violations 0
tl "3166.442 usbdev node2 none -> msd (0a5c:0001 at 1-1.2, dev 5)"
tl "4166.442 block node2 none -> fail (--cm4-fault no-disk: usb-storage at 1-1.2 made no disk)"
check "the mass-storage device stays on USB, until power off" \
	[ "$(grep -c '^dev 1-1.2 0a5c:0001 addr=5' "$W/$CUR.out")" = 1 ]
out "block none"
notl "block node2 none -> sd"
urun cm4_badfault --cm4-fault no-boot -- true
rc 2
err "tp-twin: invalid --cm4-fault 'no-boot'"

# A fault changes what the module does, never what the protocol allows:
# the same violations still fail the run.
cvio nostage2_msglen --cm4-fault no-stage2 -- open ew:20
cvio nomsd_sizemismatch --cm4-fault no-msd -- $S1 er:260 ctrl:0x40:0:1000:0:0 er:260 ew:999
cvio nodisk_datastage --cm4-fault no-disk -- open ctrl:0x40:0:24:0:24

# --- --cm4-automount: sdX1 in the mount table as the disk appears --------
mkdir -p "$W/rootM/proc/self"
printf '15 1 0:14 / / rw,relatime - ubifs ubi0:rootfs rw\n' >"$W/rootM/proc/self/mountinfo"
urun cm4_automount --rev 2.5 --slot 2=cm4 --cm4-automount --root "$W/rootM" --emmc-size 16M -- \
	"$CPWR && $RPIC mounts sleep:500 rpiboot:$F:bootcode4.bin sleep:2000 block:1.2 mounts off:2 mounts"
rc 0
violations 0
out "mounts ubi0:rootfs on /"
tl "4166.442 block node2 none -> sda (RPi-MSD-, 1-1.2, 32768 sectors)"
tl "4166.442 block node2 sda -> mounted (--cm4-automount: /dev/sda1 on /media/sda1)"
check "mounted once, and still mounted after the disk went (as the kernel keeps it)" \
	[ "$(grep -cx 'mounts ubi0:rootfs on /, /dev/sda1 on /media/sda1' "$W/$CUR.out")" = 2 ]
check "the mountinfo line as the kernel writes it" grep -qx \
	"100 15 8:1 / /media/sda1 rw,relatime - vfat /dev/sda1 rw,fmask=0022,dmask=0022,errors=remount-ro" \
	"$W/rootM/proc/self/mountinfo"
urun cm4_automount_noproc --rev 2.5 --slot 2=cm4 --cm4-automount --emmc-size 16M -- \
	"$CPWR && $RPIC sleep:500 rpiboot:$F:bootcode4.bin sleep:2000 block:1.2"
rc 90
violations 1
err "--cm4-automount: cannot append to "
