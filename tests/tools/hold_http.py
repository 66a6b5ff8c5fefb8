#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""An HTTP server for one file that holds its answer half-way, for tests
that must act while a download is under way: it prints its port on
stdout, and for each GET sends the headers (with Content-Length) and the
first half of FILE (or its first BYTES), writes "half" to READY (a FIFO),
waits for a line on GO (another FIFO), then sends the rest, unless the
client has gone.

usage: hold_http.py FILE READY GO [BYTES]
"""
import http.server
import signal
import sys

FILE, READY, GO = sys.argv[1:4]
FIRST = int(sys.argv[4]) if len(sys.argv) > 4 else None
# A test that failed half-way leaves nobody at the FIFOs: end anyway.
signal.alarm(300)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        data = open(FILE, "rb").read()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        first = len(data) // 2 if FIRST is None else FIRST
        self.wfile.write(data[:first])
        self.wfile.flush()
        with open(READY, "w") as f:
            f.write("half\n")
        with open(GO) as f:
            f.readline()
        try:
            self.wfile.write(data[first:])
        except (BrokenPipeError, ConnectionResetError):
            pass


s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(s.server_address[1], flush=True)
s.serve_forever()
