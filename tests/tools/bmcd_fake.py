#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A small fake of the stock BMC daemon (bmcd 2.x) for tpkit --host's tests.

It answers as bmcd does to a client that is not on the BMC itself (no
loopback bypass): logins, Bearer tokens, the envelope and bmcd's error texts
(docs/serve.md follows the same API), power, reset, usb, other, about,
the flash flow with its raw transfer state, and the serial websocket
(/api/bmc/serial/ws?node=N, RFC 6455): on connect it sends the node's
"console" a line and a ping, and its UART echoes what the client writes,
as a terminal does. It keeps no board: power and USB are bmcd's records.

It is a double, not a peer, and it checks what it receives: every request
goes to the log (--log), one line each, and anything bmcd would not take
the way the client meant it (a POST where bmcd wants a GET, a 1-based node,
a parameter bmcd does not read, mode 3 or 7, an upload whose length or
SHA-256 differs from the request's, a websocket handshake that is not
RFC 6455's, an unmasked client frame, a ping left unanswered) is also
logged as "VIOLATION ...", which the test fails on.

    bmcd_fake.py --cert PEM --user NAME --password PW --log FILE

prints "port N" on stdout once it listens on 127.0.0.1:N.
"""
import argparse
import base64
import hashlib
import http.server
import json
import secrets
import ssl
import struct
import sys
import threading
import urllib.parse

REALM = 'realm="Access to Baseboard Management Controller"'
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455, section 1.3
KNOWN = {  # type -> the parameters bmcd reads for it, besides opt and type
    "power": {"node1", "node2", "node3", "node4"},
    "reset": {"node"},
    "usb": {"node", "mode"},
    "other": set(),
    "about": set(),
    "flash": {"file", "length", "node", "sha256", "skip_crc", "local"},
}


class Fake:
    def __init__(self, args):
        self.args = args
        self.tokens = set()
        self.power = {n: "0" for n in range(1, 5)}
        self.usb = {"mode": "Device", "node": "Node 1", "route": "Bmc", "bus_type": "Usb hub"}
        self.state = "Ready"
        self.flash = None  # the request a handle was given for
        self.lock = threading.Lock()
        self.log = open(args.log, "a", buffering=1)

    def note(self, line):
        self.log.write(line + "\n")

    def violation(self, what):
        self.note("VIOLATION " + what)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    fake = None

    def log_message(self, *a):
        pass

    def send(self, status, body, ctype="application/json", headers=()):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def envelope(self, status, result):
        self.send(status, json.dumps({"response": [{"result": result}]}, separators=(",", ":")))

    def authorised(self):
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Bearer ") and auth[7:] in self.fake.tokens:
            return True
        if auth.startswith("Bearer "):
            self.send(401, "token %s is not registered" % auth[7:], "text/plain",
                      [("WWW-Authenticate", 'Bearer %s error="invalid_token"' % REALM)])
        else:
            self.send(401, "no authorization header provided", "text/plain",
                      [("WWW-Authenticate", "Basic " + REALM)])
        return False

    def body(self):
        n = int(self.headers.get("Content-Length", "0"))
        return self.rfile.read(n)

    def do_POST(self):
        f = self.fake
        path = urllib.parse.urlsplit(self.path).path
        f.note("POST " + path)
        if path == "/api/bmc/authenticate":
            try:
                cred = json.loads(self.body())
            except ValueError as e:
                return self.send(403, "error trying to parse credentials: %s" % e, "text/plain")
            if cred.get("username") != f.args.user or cred.get("password") != f.args.password:
                return self.send(403, "credentials incorrect", "text/plain")
            tok = secrets.token_hex(32)
            f.tokens.add(tok)
            return self.send(200, json.dumps({"id": tok, "name": "User Session",
                                              "description": "User Session",
                                              "username": f.args.user}),
                             headers=[("X-Auth-Token", tok)])
        if path.startswith("/api/bmc/upload/"):
            data = self.body()
            if not self.authorised():
                return
            return self.upload(path.rsplit("/", 1)[1], data)
        f.violation("POST " + self.path + ": bmcd takes GET there")
        self.send(405, "")

    def upload(self, handle, data):
        f = self.fake
        req = f.flash
        if not req or str(req["handle"]) != handle:
            return self.envelope(400, "unauthorized request for handle")
        ctype = self.headers.get("Content-Type", "")
        if not ctype.startswith("multipart/form-data; boundary="):
            f.violation("upload as " + ctype)
            return self.envelope(400, "not multipart")
        boundary = ctype.split("boundary=", 1)[1].encode()
        # The first part's content: after its headers' blank line, up to
        # the closing delimiter.
        part = data.split(b"--" + boundary, 2)[1]
        content = part.split(b"\r\n\r\n", 1)[1].rsplit(b"\r\n", 1)[0]
        size = len(content)
        if size != req["length"]:
            f.violation("upload of %d bytes for length %d" % (size, req["length"]))
            f.state = {"Error": "transfer canceled"}
            return self.envelope(400, "missing %d bytes" % (req["length"] - size))
        got = hashlib.sha256(content).hexdigest()
        f.note("upload %d bytes sha256 %s" % (size, got))
        want = req.get("sha256")
        if want and want != got:
            f.state = {"Error": "sha256 checksum failed. Expected: %s, got: %s" % (want, got)}
        else:
            f.state = {"Done": [{"secs": 3, "nanos": 0}, size]}
        self.send(200, "", "text/plain")

    def do_GET(self):
        f = self.fake
        url = urllib.parse.urlsplit(self.path)
        f.note("GET " + self.path)
        if not url.path.startswith("/api/bmc"):
            return self.send(404, "")
        if not self.authorised():
            return
        if url.path == "/api/bmc/serial/ws":
            return self.serial_ws(urllib.parse.parse_qs(url.query))
        if url.path.startswith("/api/bmc/upload/") and url.path.endswith("/cancel"):
            f.state = {"Error": "transfer canceled"}
            return self.send(200, "", "text/plain")
        if url.path != "/api/bmc":
            return self.send(404, "")
        q = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        opt, typ = q.get("opt", [None])[0], q.get("type", [None])[0]
        if opt is None:
            return self.envelope(400, "Missing `opt` parameter")
        if typ is None:
            return self.envelope(400, "Missing `type` parameter")
        if typ not in KNOWN:
            return self.envelope(400, "Invalid `type` parameter %s" % typ)
        extra = set(q) - {"opt", "type"} - KNOWN[typ]
        if extra:
            f.violation("%s %s with %s, which bmcd does not read" % (opt, typ, sorted(extra)))
        with f.lock:
            getattr(self, "api_" + typ)(opt, {k: v[0] for k, v in q.items()})

    # ---- the serial websocket (docs/serve.md §5, bmcd's own) ----

    def ws_send(self, opcode, payload):
        n = len(payload)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([n])
        elif n < 65536:
            head += bytes([126]) + struct.pack(">H", n)
        else:
            head += bytes([127]) + struct.pack(">Q", n)
        self.wfile.write(head + payload)
        self.wfile.flush()

    def ws_read(self):
        """One frame from the client: (opcode, payload), None at EOF."""
        b = self.rfile.read(2)
        if len(b) < 2:
            return None
        opcode, masked, n = b[0] & 0x0F, b[1] & 0x80, b[1] & 0x7F
        if not b[0] & 0x80:
            self.fake.violation("ws: a fragmented frame (tpkit sends whole ones)")
        if n == 126:
            n = struct.unpack(">H", self.rfile.read(2))[0]
        elif n == 127:
            n = struct.unpack(">Q", self.rfile.read(8))[0]
        if not masked:
            self.fake.violation("ws: a client frame without a mask (RFC 6455 section 5.1)")
        key = self.rfile.read(4) if masked else b"\0\0\0\0"
        data = self.rfile.read(n)
        return opcode, bytes(c ^ key[i % 4] for i, c in enumerate(data))

    def serial_ws(self, q):
        f = self.fake
        if not self.authorised():
            return
        h = self.headers
        key = h.get("Sec-WebSocket-Key", "")
        if (h.get("Upgrade", "").lower() != "websocket" or
                "upgrade" not in h.get("Connection", "").lower() or
                h.get("Sec-WebSocket-Version") != "13" or len(base64.b64decode(key)) != 16):
            f.violation("ws: not an RFC 6455 handshake: %s" % dict(h))
            return self.send(400, "")
        node = q.get("node", [""])[0]
        if node not in ("0", "1", "2", "3"):
            f.violation("ws: node %r (0-based, 0-3)" % node)
            return self.send(400, "")
        accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        self.end_headers()
        f.note("ws node %s" % node)
        self.ws_send(2, b"fake uart of node %s\r\n" % node.encode())
        self.ws_send(9, b"fake")
        ponged = False
        while True:
            fr = self.ws_read()
            if fr is None:
                f.note("ws end")
                break
            op, data = fr
            if op in (1, 2):
                f.note("ws write %d bytes" % len(data))
                self.ws_send(2, data)  # the UART's echo
            elif op == 10:
                ponged = ponged or data == b"fake"
            elif op == 9:
                self.ws_send(10, data)
            elif op == 8:
                f.note("ws close")
                self.ws_send(8, data[:2])
                break
        if not ponged:
            f.violation("ws: the ping was never answered (bmcd closes such a socket)")
        self.close_connection = True

    def node(self, q):
        if "node" not in q:
            self.envelope(400, "Missing `node` parameter")
            return None
        try:
            n = int(q["node"]) & 0xFF
        except ValueError:
            self.envelope(400, "Parameter `node` is not a number")
            return None
        if n > 3:
            self.envelope(400, "Parameter `node` is out of range 0..3 of node IDs")
            return None
        return n

    def api_power(self, opt, q):
        f = self.fake
        if opt == "get":
            return self.envelope(200, [{"node%d" % n: f.power[n] for n in range(1, 5)}])
        keys = [k for k in q if k.startswith("node")]
        if not keys:
            return self.envelope(500, "empty node mask")
        for k in keys:
            if q[k] not in ("0", "1"):
                return self.envelope(400, "Invalid value `%s` for parameter `%s`" % (q[k], k))
        for k in keys:
            f.power[int(k[4:])] = q[k]
        self.envelope(200, "ok")

    def api_reset(self, opt, q):
        if self.node(q) is not None:
            self.envelope(200, "ok")  # bmcd's record is left as it was

    def api_usb(self, opt, q):
        f = self.fake
        if opt == "get":
            return self.envelope(200, [f.usb])
        n = self.node(q)
        if n is None:
            return
        mode = int(q.get("mode", "-1"))
        if mode & 3 == 3 or not 0 <= mode <= 7:
            f.violation("usb mode %d (bmcd panics)" % mode)
            return self.envelope(500, "panic")
        if mode & 3 == 0:
            return self.envelope(500, "Failed to set USB mode: Selecting one of the nodes as "
                                 "USB Host role is not supported by the current hardware")
        f.usb = {"mode": ["Host", "Device", "Flash"][mode & 3], "node": "Node %d" % (n + 1),
                 "route": "Bmc" if mode & 4 else "AlternativePort", "bus_type": "Usb hub"}
        self.envelope(200, "ok")

    def api_other(self, opt, q):
        self.envelope(200, [{"api": "1.1", "buildtime": "2024-08-12 10:00:00-00:00",
                             "ip": "192.0.2.10", "mac": "02:00:00:00:00:01",
                             "buildroot": '"Buildroot 2024.05.1"', "version": "2.0.5"}])

    def api_about(self, opt, q):
        self.envelope(200, {"board_model": "Turing Pi 2", "board_revision": "v2.5.1",
                            "hostname": "turingpi", "api": "1.1", "version": "2.0.5",
                            "bmcd_version": "2.0.5", "buildtime": "2024-08-12",
                            "buildroot": "Buildroot 2024.05.1"})

    def api_flash(self, opt, q):
        f = self.fake
        if opt == "get":
            return self.send(200, json.dumps(f.state), "text/plain")
        n = self.node(q)
        if n is None:
            return
        if "length" not in q and not q.get("file", "").startswith("http") and "local" not in q:
            return self.envelope(411, "Invalid `length` query parameter")
        handle = secrets.randbelow(2**32)
        f.flash = {"handle": handle, "length": int(q.get("length", "0")),
                   "sha256": q.get("sha256")}
        f.note("flash node %d file %s length %s" % (n, q.get("file"), q.get("length")))
        f.state = {"Transferring": {"id": handle, "process_name": "Node %d os install service"
                                    % (n + 1), "size": f.flash["length"], "cancelled": False,
                                    "bytes_written": 0}}
        self.send(200, json.dumps({"handle": handle}), "text/plain")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--log", required=True)
    args = ap.parse_args()
    Handler.fake = Fake(args)
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print("port %d" % srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
