#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Start a Type=notify service as systemd would, for host tests of the k3s
double (docs/k3s-double.md): notify_start.py LOG CMD...

Binds a NOTIFY_SOCKET, starts CMD with it (stdout and stderr to LOG, in its
own session), and waits for READY=1: then prints CMD's pid and exits 0,
leaving CMD running. CMD exiting first: exit 1 with its status. Nothing in
30 s: kill CMD, exit 2. The test synchronises on the service's own word,
never on a sleep."""
import atexit
import os
import select
import socket
import subprocess
import sys
import tempfile
import time

log, cmd = sys.argv[1], sys.argv[2:]
d = tempfile.mkdtemp()
addr = os.path.join(d, "notify")
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(addr)


@atexit.register
def tidy():
    os.unlink(addr)
    os.rmdir(d)

with open(log, "ab") as out:
    p = subprocess.Popen(cmd, stdout=out, stderr=out, stdin=subprocess.DEVNULL,
                         env=dict(os.environ, NOTIFY_SOCKET=addr), start_new_session=True)
deadline = time.monotonic() + 30
while True:
    left = deadline - time.monotonic()
    if left <= 0:
        p.kill()
        sys.exit(2)
    r, _, _ = select.select([s], [], [], min(left, 0.2))
    if r and b"READY=1" in s.recv(4096).split(b"\n"):
        print(p.pid)
        sys.exit(0)
    if p.poll() is not None:
        print("exited %d" % p.returncode)
        sys.exit(1)
