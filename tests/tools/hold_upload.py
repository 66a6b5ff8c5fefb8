#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Upload a file to tpkit serve's POST /api/bmc/upload/<handle> as tpi does
(multipart/form-data, Content-Length known), but in two halves, with the
test in charge of when the second goes: after the first half it writes
"half" to READY (a FIFO) and waits for a line on GO (another FIFO). Then it
sends the rest and prints the answer ("STATUS BODY"), or, when the server
has closed the connection on an upload it no longer wants, "closed ERROR".

usage: hold_upload.py HOST PORT HANDLE FILE READY GO
"""
import http.client
import signal
import ssl
import sys


def main():
    # A test that failed half-way leaves nobody at the FIFOs: end anyway.
    signal.alarm(300)
    host, port, handle, path, ready, go = sys.argv[1:7]
    data = open(path, "rb").read()
    boundary = "tpkit-test-boundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"{path}\"\r\nContent-Type: application/octet-stream\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    body = head + data + tail
    half = len(head) + len(data) // 2

    ctx = ssl._create_unverified_context()
    conn = http.client.HTTPSConnection(host, int(port), context=ctx, timeout=120)
    conn.putrequest("POST", f"/api/bmc/upload/{handle}")
    conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    conn.putheader("Content-Length", str(len(body)))
    conn.endheaders()
    # The test waits on READY whatever happens: a server that refused the
    # upload is said there, not left for the test to wait on for ever.
    try:
        conn.send(body[:half])
        said = "half"
    except (BrokenPipeError, ConnectionResetError, ssl.SSLError) as e:
        said = "closed " + type(e).__name__
    with open(ready, "w") as f:
        f.write(said + "\n")
    with open(go) as f:
        f.readline()
    try:
        conn.send(body[half:])
        resp = conn.getresponse()
        print(resp.status, resp.read().decode(errors="replace"))
    except (BrokenPipeError, ConnectionResetError, ssl.SSLError) as e:
        print("closed", type(e).__name__)


if __name__ == "__main__":
    main()
