#!/usr/bin/env python3
"""A stand-in for systemd's notification socket (Node cannot bind UNIX datagram sockets).

  notify_listener.py PATH
      Bind a datagram socket at PATH ('@' = abstract) with SO_PASSCRED, print
      {"ready": true}, then one JSON line per datagram received:
      {"fields": {"READY": "1", ...}, "pid": SENDER_PID, "monotonic_usec": N}
      where monotonic_usec is CLOCK_MONOTONIC at receipt, to compare with
      MONOTONIC_USEC=. Exits on SIGTERM or when its parent dies.
"""
import ctypes
import json
import os
import signal
import socket
import struct
import sys
import time

PR_SET_PDEATHSIG = 1


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def bind_datagram(path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if path.startswith("@"):
        sock.bind("\0" + path[1:])
    else:
        if os.path.exists(path):
            os.unlink(path)
        sock.bind(path)
    # Like systemd: the kernel attaches the sender's credentials to each datagram.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    return sock


def parse(payload):
    fields = {}
    for line in payload.decode("utf-8", "replace").split("\n"):
        if "=" in line:
            key, value = line.split("=", 1)
            fields[key] = value
    return fields


def main():
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    sock = bind_datagram(sys.argv[1])
    emit({"ready": True})
    creds_size = struct.calcsize("3i")
    while True:
        payload, anc, _, _ = sock.recvmsg(4096, socket.CMSG_SPACE(creds_size))
        pid = None
        for level, kind, data in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid = struct.unpack("3i", data[:creds_size])[0]
        emit({"fields": parse(payload), "pid": pid, "monotonic_usec": time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000})


if __name__ == "__main__":
    main()
