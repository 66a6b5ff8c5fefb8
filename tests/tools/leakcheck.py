#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Fail if a secret of tpkit's state directories appears in an output.

    leakcheck.py --states DIR... --outputs FILE...   (-- ends a list)

Every secret of each state's secrets/ directory (docs/config.md, "Secrets")
is looked for as stored, as raw bytes, in hex either case and in base64; for
each private host key, every base64 line of its file and the key material
inside it (the ed25519 seed; RSA's d, iqmp, p and q). Prints one LEAK line
per find and a count; exit status 1 on a leak.
"""
import base64, glob, os, struct, sys


def args():
    states, outputs, cur = [], [], None
    for a in sys.argv[1:]:
        if a == "--states":
            cur = states
        elif a == "--outputs":
            cur = outputs
        elif cur is not None:
            cur.append(a)
    return states, outputs


states, outputs = args()
secrets = {}  # label -> bytes to look for

def add(label, raw):
    if len(raw) < 8:
        return
    secrets[label + " (bytes)"] = raw
    secrets[label + " (hex)"] = raw.hex().encode()
    secrets[label + " (HEX)"] = raw.hex().upper().encode()
    secrets[label + " (base64)"] = base64.b64encode(raw).rstrip(b"=")

for state in states:
    for f in ["cluster-token"] + sorted(glob.glob(state + "/slot*/node-password")) + \
            sorted(glob.glob(state + "/slot*/report-key")):
        path = f if f.startswith("/") else os.path.join(state, f)
        if not os.path.exists(path):
            continue
        text = open(path, "rb").read().strip()
        secrets[path + " (as stored)"] = text
        add(path, bytes.fromhex(text.decode()))

    for path in sorted(glob.glob(state + "/slot*/ssh_host_*_key")):
        lines = open(path, "rb").read().split(b"\n")
        body = [l for l in lines if l and not l.startswith(b"-----")]
        for i, l in enumerate(body[1:], 1):  # line 0 is the fixed magic header
            secrets["%s line %d" % (path, i)] = l
        raw = base64.b64decode(b"".join(body))
        magic = b"openssh-key-v1\0"
        assert raw.startswith(magic), path
        rest = raw[len(magic):]
        for _ in range(3):  # cipher, kdf, kdf options
            n = struct.unpack(">I", rest[:4])[0]
            rest = rest[4 + n:]
        rest = rest[4:]  # number of keys
        n = struct.unpack(">I", rest[:4])[0]
        rest = rest[4 + n:]  # public blob
        n = struct.unpack(">I", rest[:4])[0]
        section = rest[4:4 + n]
        body = section[8:]  # two check integers
        parts = []
        while len(body) >= 4:
            n = struct.unpack(">I", body[:4])[0]
            if n > len(body) - 4:
                break
            parts.append(body[4:4 + n])
            body = body[4 + n:]
        if parts[0] == b"ssh-ed25519":
            add(path + " seed", parts[2][:32])
        else:  # ssh-rsa: n e d iqmp p q
            for name, v in zip(["d", "iqmp", "p", "q"], parts[3:7]):
                add(path + " " + name, v.lstrip(b"\0"))

bad = 0
for o in outputs:
    data = open(o, "rb").read()
    for label, s in secrets.items():
        if s in data:
            print("LEAK: %s found in %s" % (label, o))
            bad += 1
print("checked %d secrets against %d outputs" % (len(secrets), len(outputs)))
sys.exit(1 if bad else 0)
