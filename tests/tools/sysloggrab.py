#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Stand in for syslogd at a socket path, around one command.

    sysloggrab.py SOCKET OUTFILE -- COMMAND [ARG...]

Binds a Unix datagram socket at SOCKET (as syslogd binds /dev/log), runs
COMMAND while a thread reads what arrives, and when the command has ended
takes what is still queued (a datagram is queued when it is sent, so all
the command sent is there by then: no waiting, no race) and writes every
datagram, one a line, to OUTFILE. Exits with the command's status.
"""
import os, socket, subprocess, sys, threading

sock_path, out = sys.argv[1], sys.argv[2]
cmd = sys.argv[sys.argv.index("--") + 1:]
if os.path.exists(sock_path):
    os.unlink(sock_path)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sock_path)
got, ended = [], threading.Event()


def reader():
    s.settimeout(0.1)
    while not ended.is_set():
        try:
            got.append(s.recv(65536))
        except socket.timeout:
            pass


t = threading.Thread(target=reader)
t.start()
rc = subprocess.call(cmd)
ended.set()
t.join()
s.setblocking(False)
while True:
    try:
        got.append(s.recv(65536))
    except BlockingIOError:
        break
s.close()
os.unlink(sock_path)
with open(out, "w") as f:
    for d in got:
        f.write(d.decode("utf-8", "replace").rstrip("\n") + "\n")
sys.exit(rc if rc >= 0 else 128 - rc)
