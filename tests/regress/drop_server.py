#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# A tiny HTTP server for tpkit's resume test: serves files from ROOT,
# honours "Range: bytes=N-", and on the first GET of each file sends the
# full Content-Length but drops the connection after DROP bytes. With
# ignore-range it answers every request with 200 and the whole file, as
# servers without Range support do (the request's Range is still logged).
# Usage: drop_server.py PORT ROOT DROP [ignore-range]
#        (binds 127.0.0.1; prints "ready")
import http.server, os, sys

port, root, drop = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
ignore_range = sys.argv[4:] == ["ignore-range"]
seen = set()


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.requestline, self.headers.get("Range", "-")))

    def do_GET(self):
        p = os.path.join(root, self.path.lstrip("/"))
        if not os.path.isfile(p):
            self.send_error(404)
            return
        data = open(p, "rb").read()
        start, code = 0, 200
        r = self.headers.get("Range")
        if r and r.startswith("bytes=") and r.endswith("-") and not ignore_range:
            start, code = int(r[6:-1]), 206
        self.send_response(code)
        self.send_header("Content-Length", str(len(data) - start))
        if code == 206:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))
        self.end_headers()
        body = data[start:]
        if self.path not in seen:
            seen.add(self.path)
            self.wfile.write(body[:drop])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)


srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), H)
print("ready", flush=True)
srv.serve_forever()
