#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Scripted tp-twin client for the self-test; tp-twin runs it as COMMAND.

Each argument is one step:
  REQUEST TEXT        sent as one protocol line on the current connection;
                      prints "REQUEST TEXT => REPLY"
  write:REL=TEXT      write TEXT (backslash escapes allowed) to
                      $TPKIT_ROOT/REL with O_WRONLY|O_TRUNC, as tpkit does
  read:REL            print "read REL => CONTENT" (escaped)
  raw:TEXT            send TEXT as is (escapes allowed), print the reply
  conn                open a further connection and make it current
  close               close the current connection (back to the previous)
  exists:REL          print "exists REL => yes|no"
  env:NAME            print "env NAME => VALUE"
  expect:PREFIX       exit 3 unless the last reply starts with PREFIX
  exit:N              exit with status N
  signal:N            kill this process with signal N
"""
import os
import socket
import sys
import time


def unescape(s):
    return s.encode().decode("unicode_escape")


def connect():
    spec = os.environ["TPKIT_GPIO"]
    assert spec.startswith("sim:"), spec
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(spec[4:])
    return [s, s.makefile("rb")]


def main():
    conns = [connect()]
    last = ""
    for step in sys.argv[1:]:
        if step.startswith("write:"):
            rel, text = step[6:].split("=", 1)
            fd = os.open(os.path.join(os.environ["TPKIT_ROOT"], rel),
                         os.O_WRONLY | os.O_TRUNC)
            os.write(fd, unescape(text).encode())
            os.close(fd)
            print("write %s = %r" % (rel, unescape(text)), flush=True)
        elif step.startswith("read:"):
            with open(os.path.join(os.environ["TPKIT_ROOT"], step[5:]), "rb") as f:
                print("read %s => %r" % (step[5:], f.read()), flush=True)
        elif step.startswith("exists:"):
            path = os.path.join(os.environ["TPKIT_ROOT"], step[7:])
            print("exists %s => %s" % (step[7:], "yes" if os.path.exists(path) else "no"),
                  flush=True)
        elif step.startswith("env:"):
            print("env %s => %s" % (step[4:], os.environ.get(step[4:], "")), flush=True)
        elif step.startswith("signal:"):
            os.kill(os.getpid(), int(step[7:]))
        elif step == "conn":
            conns.append(connect())
        elif step == "close":
            conns.pop()[0].close()
        elif step.startswith("expect:"):
            if not last.startswith(step[7:]):
                print("EXPECTED %r, GOT %r" % (step[7:], last), flush=True)
                sys.exit(3)
        elif step.startswith("pause:"):
            # Real time passing, for --real-clock (what is measured, not a wait).
            time.sleep(int(step[6:]) / 1000)
        elif step.startswith("exit:"):
            sys.exit(int(step[5:]))
        else:
            raw = step.startswith("raw:")
            data = unescape(step[4:]).encode() if raw else (step + "\n").encode()
            conns[-1][0].sendall(data)
            last = conns[-1][1].readline().decode().rstrip("\n")
            print("%s => %s" % (step, last), flush=True)


main()
