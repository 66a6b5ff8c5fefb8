#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A minimal websocket client (RFC 6455) for tpkit serve's serial websocket,
written for the tests: wsclient.py URL EXPECT [SEND EXPECT2]. It connects
(TLS with any certificate) and waits until the bytes received contain
EXPECT; then it sends SEND as a masked text frame and waits until the bytes
received after that contain EXPECT2. It prints everything received on
stdout, and exits 1 if what it waits for does not come within 20 s or the
upgrade is refused."""
import base64, os, socket, ssl, struct, sys, urllib.parse


def frame(op, payload):
    mask = os.urandom(4)
    n = len(payload)
    head = bytes([0x80 | op])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack(">H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack(">Q", n)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def read_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError("connection closed")
        buf += chunk
    return buf


def main():
    url, expect = sys.argv[1], sys.argv[2].encode()
    send = sys.argv[3].encode() if len(sys.argv) > 3 else None
    expect2 = sys.argv[4].encode() if len(sys.argv) > 4 else b""
    u = urllib.parse.urlsplit(url)
    raw = socket.create_connection((u.hostname, u.port), timeout=20)
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    s = ctx.wrap_socket(raw, server_hostname=u.hostname)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET {u.path}?{u.query} HTTP/1.1\r\nHost: {u.netloc}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
               f"Sec-WebSocket-Version: 13\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(1)
        if not chunk:
            sys.exit(f"wsclient: closed during the upgrade: {head!r}")
        head += chunk
    if not head.startswith(b"HTTP/1.1 101"):
        sys.exit(f"wsclient: upgrade refused: {head.splitlines()[0]!r}")
    got = b""
    sent = None
    while True:
        b0, b1 = read_exact(s, 2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack(">H", read_exact(s, 2))[0]
        elif n == 127:
            n = struct.unpack(">Q", read_exact(s, 8))[0]
        payload = read_exact(s, n)
        op = b0 & 0x0F
        if op == 0x9:
            s.sendall(frame(0xA, payload))
            continue
        if op == 0x8:
            break
        got += payload
        if sent is not None and expect2 in got[sent:]:
            break
        if sent is None and expect in got:
            if send is None:
                break
            s.sendall(frame(0x1, send))
            sent = len(got)
    sys.stdout.buffer.write(got)
    s.sendall(frame(0x8, b""))


if __name__ == "__main__":
    try:
        main()
    except (OSError, EOFError) as e:
        sys.exit(f"wsclient: {e}")
