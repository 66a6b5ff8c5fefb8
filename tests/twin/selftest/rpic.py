#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""An independent rpiboot host (libusb through ctypes, no extra packages)
for the twin's CM4 self-test, written from protocols.md §7 as
raspberrypi/usbboot's main.c does it. Debian ships no rpiboot, so this is
the reference client. tp-twin runs it as COMMAND. One step per argument:

  sleep:MS          advance the twin's virtual clock (SLEEP)
  now               print "now NS"
  list              print "dev BUS-PORTS VID:PID addr=N serial=I" per device
  open[:PORTS]      open the first 0a5c:2711 (on port path PORTS, e.g. 1.2)
  close             close it
  ew:LEN[:HEX|zN]   ep_write: control 0x40/0 with LEN, then the data (HEX,
                    N zero bytes, or LEN pattern bytes) in 16 KiB chunks
  ewchunk:N         ep_write's bulk chunk size from now on (default 16384)
  er:LEN            ep_read of LEN bytes; prints "er rc=R HEX"
  ctrl:RT:REQ:VAL:IDX:LEN   a raw control transfer, prints rc
  stage1:FILE[:LEN] usbboot's second_stage_boot(): boot message (length LEN,
                    default FILE's size), FILE, sleep 1 s, ep_read 4
  serve:DIR         usbboot's file_server() serving DIR until Done or gone;
                    names are looked up as usbboot does: with DIR/bootfiles.bin,
                    DIR/2711/NAME, 2711/NAME in the tar, DIR/NAME; without,
                    DIR/2711/NAME, DIR/NAME (rpiboot:DIR:FILE's FILE too)
  desc:PORTS        print "desc HEX": the device's sysfs descriptors
  rpiboot:DIR:FILE[:PORTS]  open (on PORTS), stage1, close, wait (100 ms steps, 5 s) for the
                    re-enumerated device with another iSerialNumber, serve
  boot1:DIR:FILE    the same up to opening the second stage (no serve)
  off:N             power slot N off (its regulator), then NOW
  block:PORTS       wait (100 ms steps, 10 s) for the block device under
                    port path PORTS, print "block sdX vendor=... size=N"
                    or "block none"; rpiboot/boot1 print "stage2 none" when
                    no second stage came within their 5 s
  mounts            print "mounts SOURCE on TARGET, ..." from
                    $TPKIT_ROOT/proc/self/mountinfo, or "mounts none"
  write:DEV:OFF:LEN write LEN pattern bytes at OFF to /dev/DEV (plain I/O)
  read:DEV:OFF:LEN  print the sha256 of LEN bytes at OFF of /dev/DEV
"""
import ctypes as C
import glob
import hashlib
import os
import socket
import struct
import sys
import tarfile

lib = C.CDLL("libusb-1.0.so.0")
lib.libusb_get_device_list.restype = C.c_ssize_t
lib.libusb_get_device_list.argtypes = [C.c_void_p, C.POINTER(C.POINTER(C.c_void_p))]
for f in ("libusb_get_bus_number", "libusb_get_device_address"):
    getattr(lib, f).argtypes = [C.c_void_p]
lib.libusb_get_port_numbers.argtypes = [C.c_void_p, C.c_char_p, C.c_int]
lib.libusb_get_device_descriptor.argtypes = [C.c_void_p, C.c_char_p]
lib.libusb_open.argtypes = [C.c_void_p, C.POINTER(C.c_void_p)]
lib.libusb_free_device_list.argtypes = [C.c_void_p, C.c_int]
lib.libusb_claim_interface.argtypes = [C.c_void_p, C.c_int]
lib.libusb_close.argtypes = [C.c_void_p]
lib.libusb_bulk_transfer.argtypes = [C.c_void_p, C.c_ubyte, C.c_char_p, C.c_int,
                                     C.POINTER(C.c_int), C.c_uint]
lib.libusb_control_transfer.argtypes = [C.c_void_p, C.c_ubyte, C.c_ubyte, C.c_ushort,
                                        C.c_ushort, C.c_char_p, C.c_ushort, C.c_uint]
LIBUSB_ERROR_NO_DEVICE, LIBUSB_ERROR_IO = -4, -1


def gpio(req):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(os.environ["TPKIT_GPIO"][4:])
    f = s.makefile("rb")
    for r in ("HELLO rpic", req):
        s.sendall((r + "\n").encode())
        reply = f.readline().decode().strip()
    s.close()
    return reply


def pattern(n, seed=0):
    return bytes((i * 7 + seed) % 251 for i in range(n))


class Host:
    def __init__(self):
        self.ctx = C.c_void_p()
        lib.libusb_init(C.byref(self.ctx))
        self.h = C.c_void_p()
        self.serial = None
        self.chunk = 16384

    def devices(self):
        lst = C.POINTER(C.c_void_p)()
        n = lib.libusb_get_device_list(self.ctx, C.byref(lst))
        out = []
        for i in range(n):
            d = lst[i]
            desc = C.create_string_buffer(18)
            lib.libusb_get_device_descriptor(d, desc)
            vid, pid = struct.unpack_from("<HH", desc.raw, 8)
            ports = C.create_string_buffer(8)
            np = lib.libusb_get_port_numbers(d, ports, 8)
            out.append((d, ".".join(str(p) for p in ports.raw[:max(np, 0)]),
                        vid, pid, desc.raw[16], lib.libusb_get_device_address(d)))
        return lst, out

    def open(self, ports=None, not_serial=None):
        """usbboot: match 0a5c:2711; one interface: claim 0, OUT ep 1."""
        lst, devs = self.devices()
        ok = False
        for d, p, vid, pid, ser, addr in devs:
            if (vid, pid) != (0x0A5C, 0x2711) or (ports and p != ports):
                continue
            if not_serial is not None and ser == not_serial:
                continue
            if lib.libusb_open(d, C.byref(self.h)) == 0:
                lib.libusb_claim_interface(self.h, 0)
                self.serial = ser
                ok = True
                break
        lib.libusb_free_device_list(lst, 1)
        return ok

    def close(self):
        if self.h:
            lib.libusb_close(self.h)
        self.h = C.c_void_p()

    def ep_write(self, data, length=None):
        n = len(data) if length is None else length
        rc = lib.libusb_control_transfer(self.h, 0x40, 0, n & 0xFFFF, n >> 16, None, 0, 1000)
        if rc < 0:
            return rc
        sent, off = C.c_int(), 0
        while off < len(data):
            part = data[off:off + self.chunk]
            rc = lib.libusb_bulk_transfer(self.h, 0x01, part, len(part), C.byref(sent), 5000)
            if rc < 0:
                return rc
            off += sent.value
        return off

    def ep_read(self, n):
        buf = C.create_string_buffer(max(n, 1))
        rc = lib.libusb_control_transfer(self.h, 0xC0, 0, n & 0xFFFF, n >> 16, buf, n, 20000)
        return rc, buf.raw[:max(rc, 0)]

    def stage1(self, path, length=None):
        data = lookup(os.path.dirname(path), os.path.basename(path))
        msg = struct.pack("<i20x", len(data) if length is None else length)
        r1 = self.ep_write(msg)
        r2 = self.ep_write(data)
        gpio("SLEEP 1000000000")            # usbboot sleeps 1 s
        rc, ret = self.ep_read(4)
        print("stage1 msg=%d data=%d read=%d ret=%s" % (r1, r2, rc, ret.hex()))

    def serve(self, d):
        """usbboot file_server(), §7.4."""
        while True:
            rc, req = self.ep_read(260)
            if rc in (LIBUSB_ERROR_NO_DEVICE, LIBUSB_ERROR_IO):
                print("serve: device gone")
                return
            if rc != 260:
                print("serve: ep_read rc=%d" % rc)
                return
            cmd = struct.unpack_from("<i", req)[0]
            name = req[4:].split(b"\0")[0].decode()
            if not name:
                print("serve: cmd=%d empty name: ack, done" % cmd)
                self.ep_write(b"")
                return
            data = lookup(d, name)
            found = data is not None
            if name.startswith("*") and cmd != 2:
                print("serve: metadata %s" % name)
                self.ep_write(b"")
            elif cmd == 0:
                size = len(data) if found else 0
                print("serve: GetFileSize %s -> %d" % (name, size))
                if found:
                    lib.libusb_control_transfer(self.h, 0x40, 0, size & 0xFFFF,
                                                size >> 16, None, 0, 1000)
                else:
                    self.ep_write(b"")
            elif cmd == 1:
                print("serve: ReadFile %s -> %d" % (name, self.ep_write(data or b"")))
            elif cmd == 2:
                print("serve: Done")
                return
            else:
                print("serve: unknown command %d" % cmd)
                return


def block(ports, tries=100):
    for _ in range(tries):
        for b in sorted(glob.glob("/sys/block/sd*")):
            real = os.path.realpath(b)
            if "/1-%s:1.0/" % ports not in real:
                continue
            dev = os.path.basename(b)
            rd = lambda a: open(os.path.join(b, a)).read().rstrip("\n")
            return "block %s vendor=%s model=%s size=%s removable=%s path=%s" % (
                dev, rd("device/vendor"), rd("device/model").rstrip(), rd("size"),
                rd("removable"), real[real.index("/usb1/"):])
        gpio("SLEEP 100000000")
    return "block none"


def lookup(d, name):
    """The bytes usbboot's check_file() finds for name in d, or None."""
    if ".." in name:
        return None
    arch = os.path.join(d, "bootfiles.bin")
    for p in (os.path.join(d, "2711", name),):
        if os.path.isfile(p):
            return open(p, "rb").read()
    if os.path.isfile(arch):
        with tarfile.open(arch) as t:
            for m in t.getmembers():
                if m.isfile() and m.name.lower() == ("2711/" + name).lower():
                    return t.extractfile(m).read()
    p = os.path.join(d, name)
    return open(p, "rb").read() if os.path.isfile(p) else None


def main():
    host = Host()
    for step in sys.argv[1:]:
        a = step.split(":")
        if a[0] == "sleep":
            gpio("SLEEP %d" % (int(a[1]) * 1000000))
        elif a[0] == "now":
            print("now", gpio("NOW").split()[1])
        elif a[0] == "list":
            lst, devs = host.devices()
            for d, p, vid, pid, ser, addr in devs:
                print("dev %s %04x:%04x addr=%d serial=%d" % ("1-" + p if p else "usb1", vid,
                                                              pid, addr, ser))
            lib.libusb_free_device_list(lst, 1)
        elif a[0] == "open":
            print("open %s" % ("ok serial=%d" % host.serial if host.open(a[1] if len(a) > 1 else None)
                               else "none"))
        elif a[0] == "close":
            host.close()
        elif a[0] == "ew":
            n = int(a[1])
            if len(a) < 3:
                data = pattern(n)
            elif a[2].startswith("z"):
                data = bytes(int(a[2][1:]))
            else:
                data = bytes.fromhex(a[2])
            print("ew rc=%d" % host.ep_write(data, n))
        elif a[0] == "ewchunk":
            host.chunk = int(a[1])
        elif a[0] == "er":
            rc, data = host.ep_read(int(a[1]))
            print(("er rc=%d %s" % (rc, data[:8].hex())).rstrip())
        elif a[0] == "ctrl":
            rt, rq, val, idx, n = (int(x, 0) for x in a[1:6])
            buf = C.create_string_buffer(max(n, 1))
            print("ctrl rc=%d" % lib.libusb_control_transfer(host.h, rt, rq, val, idx,
                                                             buf, n, 1000))
        elif a[0] == "stage1":
            host.stage1(a[1], int(a[2]) if len(a) > 2 else None)
        elif a[0] == "serve":
            host.serve(a[1])
        elif a[0] in ("rpiboot", "boot1"):
            ports = a[3] if len(a) > 3 else None
            host.open(ports)
            host.stage1(os.path.join(a[1], a[2]))
            first = host.serial
            host.close()
            found = False
            for _ in range(50):
                gpio("SLEEP 100000000")
                found = host.open(ports, not_serial=first)
                if found:
                    break
            if not found:
                print("stage2 none")
                continue
            print("stage2 serial=%s" % host.serial)
            if a[0] == "rpiboot":
                host.serve(a[1])
                host.close()
        elif a[0] == "off":
            p = os.path.join(os.environ["TPKIT_ROOT"],
                             "sys/bus/platform/devices/node%s-power/state" % a[1])
            with open(p, "w") as f:
                f.write("disabled")
            gpio("NOW")
        elif a[0] == "desc":
            print("desc", open("/sys/bus/usb/devices/1-%s/descriptors" % a[1], "rb").read().hex())
        elif a[0] == "block":
            print(block(a[1]))
        elif a[0] == "mounts":
            p = os.path.join(os.environ["TPKIT_ROOT"], "proc/self/mountinfo")
            lines = [l.split(" - ", 1)[1].split()[1] + " on " + l.split()[4]
                     for l in open(p) if " - " in l] if os.path.exists(p) else []
            print("mounts " + (", ".join(lines) if lines else "none"))
        elif a[0] in ("write", "read"):
            off, n = int(a[2]), int(a[3])
            with open("/dev/" + a[1], "r+b" if a[0] == "write" else "rb") as f:
                f.seek(off)
                if a[0] == "write":
                    f.write(pattern(n, off))
                    print("write %d" % n)
                else:
                    print("read sha256=%s" % hashlib.sha256(f.read(n)).hexdigest())
        else:
            sys.exit("rpic: bad step " + step)
        sys.stdout.flush()
    host.close()
    lib.libusb_exit(host.ctx)


main()
