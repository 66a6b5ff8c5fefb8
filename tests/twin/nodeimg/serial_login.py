#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Boot a node image under QEMU and hold a dialogue with its serial console
(boot-check.sh; nodeimg.md §7).

QEMU's serial port is a pair of FIFOs (-serial pipe:BASE makes it read
BASE.in and write BASE.out). This reads BASE.out as the guest writes it
(select() with the time left, no polling), copies it to the log, and waits
for each expected pattern in what came after the previous match; a prompt
without a newline ("login: ") is matched as soon as it arrives, which a
line-based tool like grep cannot do.

Steps: cloud-init's "finished" line; a fresh login prompt; log in as
ubuntu/ubuntu; the demand to change the expired password. Then the log must
show the seed's DHCP address and the root on the SD card. Prints the
figures; exits 0 on success, 1 on failure.
"""
import argparse
import os
import re
import select
import signal
import subprocess
import sys
import time


def _alarm(signum, frame):
    raise TimeoutError("open")


class Console:
    def __init__(self, fifo, log, deadline):
        # Blocking opens: each returns once QEMU has opened its end (it
        # opens both O_RDWR), so a read never sees a FIFO nobody writes yet.
        # The alarm stops the wait if QEMU died before opening them.
        signal.signal(signal.SIGALRM, _alarm)
        signal.alarm(60)
        self.inp = os.open(fifo + ".in", os.O_WRONLY)
        self.out = os.open(fifo + ".out", os.O_RDONLY)
        signal.alarm(0)
        os.set_blocking(self.out, False)
        self.log = open(log, "wb")
        self.buf = b""
        self.pos = 0
        self.deadline = deadline

    def expect(self, pattern, what):
        rx = re.compile(pattern.encode())
        while True:
            m = rx.search(self.buf, self.pos)
            if m:
                self.pos = m.end()
                return m
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(what)
            r, _, _ = select.select([self.out], [], [], left)
            if not r:
                continue
            try:
                chunk = os.read(self.out, 65536)
            except BlockingIOError:
                continue
            if not chunk:
                # no writer: QEMU has gone
                raise EOFError(what)
            self.buf += chunk
            self.log.write(chunk)
            self.log.flush()

    def send(self, text):
        os.write(self.inp, text.encode() + b"\r")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fifo", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--layout", required=True)
    ap.add_argument("qemu", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.qemu[1:] if a.qemu[:1] == ["--"] else a.qemu

    t0 = time.monotonic()
    q = subprocess.Popen(cmd, stdin=subprocess.DEVNULL)
    con = None
    step = "QEMU opening its serial FIFOs"
    try:
        con = Console(a.fifo, a.log, t0 + a.timeout)
        step = "cloud-init's 'finished' line"
        fin = con.expect(r"Cloud-init v\. \S+ finished at [^\r\n]*\r?\n", step)
        t_ci = time.monotonic() - t0
        # The getty may have printed its prompt before cloud-init made the
        # user: ask for a fresh one so the login comes after.
        con.send("")
        step = "a login prompt after cloud-init finished"
        con.expect(r"login: $|login: ", step)
        t_login = time.monotonic() - t0
        con.send("ubuntu")
        step = "the password prompt"
        con.expect(r"[Pp]assword: ", step)
        con.send("ubuntu")
        step = "the expired-password demand (or 'Login incorrect')"
        m = con.expect(r"required to change your password|Login incorrect", step)
        if b"incorrect" in m.group(0):
            print(f"{a.layout}: FAIL: ubuntu/ubuntu refused: the default seed's "
                  "password is not set", file=sys.stderr)
            return 1
        log = con.buf
        checks = [
            (rb"ci-info: [^\n]*\b10\.0\.2\.15\b", "cloud-init's network report has "
             "no 10.0.2.15: the seed's DHCP network-config was not applied"),
            (rb"EXT4-fs \(mmcblk0p2\): mounted", "the root was not mounted from "
             "the SD card's mmcblk0p2"),
            (rb"DataSourceNoCloud \[seed=/dev/mmcblk0p1\]", "cloud-init did not take "
             "its seed from the SD card's p1"),
        ]
        for rx, msg in checks:
            if not re.search(rx, log):
                print(f"{a.layout}: FAIL: {msg}", file=sys.stderr)
                return 1
        line = fin.group(0).decode(errors="replace").strip()
        print(f"{a.layout}: PASS: cloud-init finished {t_ci:.1f} s after power-on, "
              f"fresh login prompt at {t_login:.1f} s; ubuntu/ubuntu accepted, "
              "password expired", file=sys.stderr)
        print(f"{a.layout}: {line}", file=sys.stderr)
        return 0
    except (TimeoutError, EOFError) as e:
        why = "timed out" if isinstance(e, TimeoutError) else "QEMU exited"
        print(f"{a.layout}: FAIL: {why} waiting for {step} "
              f"({time.monotonic() - t0:.0f} s)", file=sys.stderr)
        if con:
            tail = con.buf[-2000:].decode(errors="replace").replace("\r", "")
            print(tail, file=sys.stderr)
        return 1
    finally:
        q.terminate()
        try:
            q.wait(10)
        except subprocess.TimeoutExpired:
            q.kill()
            q.wait()


if __name__ == "__main__":
    sys.exit(main())
