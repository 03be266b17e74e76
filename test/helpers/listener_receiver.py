#!/usr/bin/env python3
"""A listener-mode receiver (docs/fast-path.md) for tests.

  listener_receiver.py SOCKET SLOT NAME [hold]

Registers for SLOT at the registration socket SOCKET with command 2. Prints
{"ready", "listener", "netns"}: whether the grant carried a listening socket,
and the network namespace this process runs in. Then serves connections from
both sources, the listener (the kernel fast path) and the registration
connection (what took the accept loops): reads the client's first line and
answers "ok NAME\\n", as testkit/load-generator.ts expects. With "hold" it
takes nothing until SIGUSR1. SIGTERM, or the end of the registration, prints
{"name", "fast", "classic"} (connections served from each source) and exits 0;
on the end of the registration it first takes what is still queued on the
listener, as socketbox-inetd-p does.
"""
import json
import os
import select
import signal
import socket
import struct
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "testkit"))
from scm_rights import received_fds  # noqa: E402

GRANTED = b"\x80\x00\x00\x00"


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def register(path, slot):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(path)
    s.send(struct.pack(">BBHI", 2, 0, 0, slot))
    data, anc, _, _ = s.recvmsg(16, socket.CMSG_SPACE(4 * 4))
    if data != GRANTED:
        emit({"refused": True})
        sys.exit(1)
    fds = received_fds(anc)
    listener = socket.socket(fileno=fds[0]) if fds else None
    return s, listener


def answer(conn, name):
    conn.settimeout(5)
    try:
        conn.recv(64)
        conn.sendall(b"ok " + name.encode() + b"\n")
    except OSError:
        pass
    finally:
        conn.close()


def main():
    path, slot, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    hold = len(sys.argv) > 4 and sys.argv[4] == "hold"
    released = threading.Event()
    signal.signal(signal.SIGUSR1, lambda *_: released.set())
    counts = {"fast": 0, "classic": 0}

    def report(*_):
        emit(dict(name=name, **counts))
        os._exit(0)

    signal.signal(signal.SIGTERM, report)
    reg, listener = register(path, slot)
    emit({"ready": True, "listener": listener is not None, "netns": os.readlink("/proc/self/ns/net")})
    if hold:
        while not released.wait(0.05):
            pass
    watched = [reg] + ([listener] if listener else [])
    while True:
        readable, _, _ = select.select(watched, [], [])
        if listener in readable:
            conn, _ = listener.accept()
            answer(conn, name)
            counts["fast"] += 1
        if reg in readable:
            data, anc, _, _ = reg.recvmsg(16, socket.CMSG_SPACE(16 * 4))
            fds = received_fds(anc)
            if not data and not fds:
                if listener:  # take what the fast path already queued
                    listener.setblocking(False)
                    try:
                        while True:
                            conn, _ = listener.accept()
                            conn.setblocking(True)
                            answer(conn, name)
                            counts["fast"] += 1
                    except OSError:
                        pass
                report()
            for extra in fds[1:]:
                os.close(extra)
            if fds:
                answer(socket.socket(fileno=fds[0]), name)
                counts["classic"] += 1


main()
