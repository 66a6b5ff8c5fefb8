#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Scripted libusb client (ctypes, no extra packages) for the twin's USB
self-test; tp-twin runs it as COMMAND, so it talks to the simulated devices
through the umockdev preload. One step per argument:

  sleep:MS            advance the twin's virtual clock (SLEEP)
  timeout:MS          libusb timeout of the transfers that follow (5000)
  now                 print "now NS"
  list                print "dev BUS-PORTS VID:PID bcdUSB=XXXX addr=N" per device
  open[:keep]         open the 2207:350b device (the first one), detach the
                      kernel driver if one is bound (the BMC's rockusb.ko
                      binds a loader, docs/twin.md; not with keep), claim
                      interface 0
  detach, attach      libusb_detach/attach_kernel_driver on interface 0
  release             release interface 0
  ctrl:IDX:HEX        vendor OUT 0x40/0x0C, wIndex IDX, data HEX; prints rc
  area:IDX:LEN[:bad]  send LEN pattern bytes as area IDX, framed per protocols.md §4.2
  out:HEX|zeroN       bulk OUT to 0x02 (HEX, or N zero bytes); "out rc=R n=N"
  in:LEN              bulk IN from 0x81; prints "in rc=R n=N HEX(first 32)"
  cbw:OP:LBA:COUNT:DLEN:FLAGS[:CBLEN]   a rockusb CBW (tag 0x11223344)
  clear               clear the halt on both bulk endpoints
  close               close the device
"""
import ctypes as C
import os
import socket
import struct
import sys

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
lib.libusb_kernel_driver_active.argtypes = [C.c_void_p, C.c_int]
lib.libusb_detach_kernel_driver.argtypes = [C.c_void_p, C.c_int]
lib.libusb_attach_kernel_driver.argtypes = [C.c_void_p, C.c_int]
lib.libusb_release_interface.argtypes = [C.c_void_p, C.c_int]
lib.libusb_close.argtypes = [C.c_void_p]
lib.libusb_bulk_transfer.argtypes = [C.c_void_p, C.c_ubyte, C.c_char_p, C.c_int,
                                     C.POINTER(C.c_int), C.c_uint]
lib.libusb_control_transfer.argtypes = [C.c_void_p, C.c_ubyte, C.c_ubyte, C.c_ushort,
                                        C.c_ushort, C.c_char_p, C.c_ushort, C.c_uint]
lib.libusb_clear_halt.argtypes = [C.c_void_p, C.c_ubyte]


def gpio(req):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(os.environ["TPKIT_GPIO"][4:])
    f = s.makefile("rb")
    for r in ("HELLO usbc", req):
        s.sendall((r + "\n").encode())
        reply = f.readline().decode().strip()
    s.close()
    return reply


def crc16(data):
    crc = 0xFFFF
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def frames(data, bad=False):
    """protocols.md §4.2: the transfers for one entry."""
    if len(data) % 4096 == 4095:
        data += b"\0"
    crc = crc16(data) ^ (1 if bad else 0)
    s = data + bytes([crc >> 8, crc & 0xFF])
    out = [s[i:i + 4096] for i in range(0, len(s), 4096)]
    if len(out[-1]) == 4096:
        out.append(b"\0" if len(data) % 4096 == 4094 else b"")
    return [o for o in out if o]


def main():
    ctx = C.c_void_p()
    lib.libusb_init(C.byref(ctx))
    h = C.c_void_p()
    tmo = 5000
    for step in sys.argv[1:]:
        a = step.split(":")
        if a[0] == "timeout":
            tmo = int(a[1])
        elif a[0] == "sleep":
            gpio("SLEEP %d" % (int(a[1]) * 1000000))
        elif a[0] == "now":
            print("now", gpio("NOW").split()[1])
        elif a[0] in ("list", "open"):
            lst = C.POINTER(C.c_void_p)()
            n = lib.libusb_get_device_list(ctx, C.byref(lst))
            for i in range(n):
                d = lst[i]
                desc = C.create_string_buffer(18)
                lib.libusb_get_device_descriptor(d, desc)
                bcd, vid, pid = struct.unpack_from("<H", desc.raw, 2)[0], \
                    *struct.unpack_from("<HH", desc.raw, 8)
                ports = C.create_string_buffer(8)
                np = lib.libusb_get_port_numbers(d, ports, 8)
                path = "%d-%s" % (lib.libusb_get_bus_number(d),
                                  ".".join(str(p) for p in ports.raw[:max(np, 0)]))
                if a[0] == "list":
                    print("dev %s %04x:%04x bcdUSB=%04x addr=%d" %
                          (path, vid, pid, bcd, lib.libusb_get_device_address(d)))
                elif (vid, pid) == (0x2207, 0x350B) and not h:
                    print("open rc=%d" % lib.libusb_open(d, C.byref(h)))
                    if a[1:] != ["keep"] and lib.libusb_kernel_driver_active(h, 0) == 1:
                        print("detach rc=%d" % lib.libusb_detach_kernel_driver(h, 0))
                    print("claim rc=%d" % lib.libusb_claim_interface(h, 0))
            lib.libusb_free_device_list(lst, 1)
        elif a[0] in ("detach", "attach", "release"):
            fn = {"detach": lib.libusb_detach_kernel_driver,
                  "attach": lib.libusb_attach_kernel_driver,
                  "release": lib.libusb_release_interface}[a[0]]
            print("%s rc=%d" % (a[0], fn(h, 0)))
        elif a[0] == "ctrl":
            data = bytes.fromhex(a[2])
            rc = lib.libusb_control_transfer(h, 0x40, 0x0C, 0, int(a[1], 0), data,
                                             len(data), 5000)
            print("ctrl rc=%d" % rc)
        elif a[0] == "area":
            data = bytes(i % 251 for i in range(int(a[2])))
            for fr in frames(data, len(a) > 3):
                rc = lib.libusb_control_transfer(h, 0x40, 0x0C, 0, int(a[1], 0), fr,
                                                 len(fr), 5000)
                if rc != len(fr):
                    break
            print("area %s rc=%d" % (a[1], rc))
        elif a[0] in ("out", "cbw", "in"):
            if a[0] == "out" and a[1].startswith("zero"):
                buf = bytes(int(a[1][4:]))
            elif a[0] == "out":
                buf = bytes.fromhex(a[1])
            elif a[0] == "cbw":
                op, lba, cnt, dlen, flags = (int(x, 0) for x in a[1:6])
                cblen = int(a[6]) if len(a) > 6 else (10 if op in (0x14, 0x15, 0x25) else 6)
                buf = struct.pack("<4sIIBBB", b"USBC", 0x11223344, dlen, flags, 0, cblen)
                buf += struct.pack(">BBIBH7x", op, 0, lba, 0, cnt)
            n = C.c_int()
            if a[0] == "in":
                buf = C.create_string_buffer(int(a[1]))
                rc = lib.libusb_bulk_transfer(h, 0x81, buf, int(a[1]), C.byref(n), tmo)
                print(("in rc=%d n=%d %s" % (rc, n.value, buf.raw[:min(n.value, 32)].hex())).rstrip())
            else:
                rc = lib.libusb_bulk_transfer(h, 0x02, buf, len(buf), C.byref(n), tmo)
                print("%s rc=%d n=%d" % (a[0], rc, n.value))
        elif a[0] == "clear":
            lib.libusb_clear_halt(h, 0x81)
            lib.libusb_clear_halt(h, 0x02)
        elif a[0] == "close":
            lib.libusb_close(h)
            h = C.c_void_p()
        else:
            sys.exit("usbc: bad step " + step)
        sys.stdout.flush()
    lib.libusb_exit(ctx)


main()
