#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Load for bench/serve.sh: N client threads, each on one kept-alive HTTPS
connection, asking tpkit serve for status (get flash, get power, get usb,
get node_info in turn) every INTERVAL ms (0: as fast as answered), until
the file STOP exists. A kept connection the server closed while idle is
opened again and the request sent once more, as HTTP clients do (RFC 9112,
section 9.3.1); that is counted as a reconnect, not a failure. Prints: requests,
failures (not 200, or a request that failed on a fresh connection),
reconnects, and the slowest answer in ms.

    serve_load.py BASE_URL THREADS STOP_FILE [INTERVAL_MS]"""
import http.client, os, ssl, sys, threading, time, urllib.parse

base, threads, stop = sys.argv[1], int(sys.argv[2]), sys.argv[3]
interval = int(sys.argv[4]) / 1000 if len(sys.argv) > 4 else 0
u = urllib.parse.urlsplit(base)
ctx = ssl.create_default_context()
ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
queries = ["opt=get&type=flash", "opt=get&type=power", "opt=get&type=usb",
           "opt=get&type=node_info"]
lock = threading.Lock()
total = {"n": 0, "fail": 0, "worst": 0.0, "errors": [], "reconnects": 0}


def client():
    c = http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=30)
    n = fail = reconnects = 0
    worst = 0.0
    i = 0
    errors = []
    while not os.path.exists(stop):
        t = time.monotonic()
        q = "/api/bmc?" + queries[i % len(queries)]
        for attempt in (0, 1):
            try:
                c.request("GET", q)
                r = c.getresponse()
                r.read()
                if r.status != 200:
                    fail += 1
                    errors.append(f"{q}: {r.status}")
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as e:
                c.close()
                c = http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=30)
                if attempt:
                    fail += 1
                    errors.append(f"{q}: {e}")
                else:
                    reconnects += 1
            except (OSError, http.client.HTTPException) as e:
                fail += 1
                errors.append(f"{q}: {e}")
                c.close()
                c = http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=30)
                break
        took = time.monotonic() - t
        worst = max(worst, took)
        n += 1
        i += 1
        if interval > took:
            time.sleep(interval - took)
    with lock:
        total["n"] += n
        total["fail"] += fail
        total["reconnects"] += reconnects
        total["worst"] = max(total["worst"], worst)
        total["errors"] += errors[:3]


ts = [threading.Thread(target=client) for _ in range(threads)]
for t in ts:
    t.start()
for t in ts:
    t.join()
print(f"requests {total['n']} failures {total['fail']} worst_ms {total['worst'] * 1000:.0f} "
      f"reconnects {total['reconnects']}")
for e in total["errors"][:5]:
    print("  " + e)
