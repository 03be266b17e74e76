#!/usr/bin/env python3
"""Raw client of socketbox's registration protocol (docs/wire-protocol.md#registration), for tests.

  registration_tool.py fuzz SOCKET SEED COUNT SLOT
      COUNT malformed or unauthorised registrations, each on its own API
      connection (commands 01 and 02, listener mode, alike): random lengths
      and bytes, the right length with reserved bytes set, unknown commands, slot numbers that do not exist, a second
      registration for SLOT (taken by someone else), packets carrying
      descriptors. Prints {"sent", "granted", "answers"}: granted counts the
      "80 00 00 00" answers (there must be none), answers any reply at all.
  registration_tool.py upstream SOCKET PORT
      A stand-in registration server for `socketbox -P`: grants one
      registration, then sends what a confused or hostile server might: a
      pipe, a datagram socket with two extra descriptors, a packet with no
      descriptor, a listening TCP socket, and one real TCP connection
      (accepted on [::1]:PORT from a client of its own, which must get
      "routed" back from the receiver). Prints {"sent"}, then waits for a line
      on stdin before closing the registration.
  registration_tool.py limit SOCKET N
      Opens N API connections without registering and reports how many the
      server closed at once: {"opened", "closed"}.
"""
import json
import os
import random
import socket
import struct
import sys
import time

GRANTED = b"\x80\x00\x00\x00"


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(path if not path.startswith("@") else "\0" + path[1:])
    return s


def malformed_packet(rng, slot):
    kind = rng.randrange(7)
    if kind == 0:  # a random length other than 8
        n = rng.choice([0, 1, 4, 7, 9, 12, 64, 4096])
        return bytes(rng.randrange(256) for _ in range(n)), None
    command = rng.choice([1, 2])  # classic or listener mode: the same checks apply
    if kind == 1:  # right length, reserved bytes set
        b = bytearray(struct.pack(">BBHI", command, 0, 0, slot))
        b[rng.randrange(1, 4)] = rng.randrange(1, 256)
        return bytes(b), None
    if kind == 2:  # unknown command (2 is listener mode)
        return struct.pack(">BBHI", rng.choice([0, 3, 0x80, 0xff]), 0, 0, slot), None
    if kind == 3:  # a slot that does not exist
        return struct.pack(">BBHI", command, 0, 0, rng.choice([1000, 65535, 0xFFFFFFFF])), None
    if kind == 4:  # the slot another receiver holds
        return struct.pack(">BBHI", command, 0, 0, slot), None
    if kind == 5:  # a valid-looking packet with descriptors attached
        r, w = os.pipe()
        return struct.pack(">BBHI", command, 0, 0, slot), [r, w]
    return bytes(rng.randrange(256) for _ in range(8)), None  # 8 random bytes


def fuzz(path, seed, count, slot):
    rng = random.Random(seed)
    granted = answers = 0
    for _ in range(count):
        s = connect(path)
        s.settimeout(2)
        packet, fds = malformed_packet(rng, slot)
        try:
            if fds:
                s.sendmsg([packet], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("%di" % len(fds), *fds))])
                for fd in fds:
                    os.close(fd)
            elif packet:
                s.send(packet)
            else:
                s.send(b"")  # an empty packet
            reply = s.recv(64)
            if reply:
                answers += 1
                granted += reply == GRANTED
        except (ConnectionResetError, BrokenPipeError, socket.timeout):
            pass
        finally:
            s.close()
    print(json.dumps({"sent": count, "granted": granted, "answers": answers}), flush=True)


def limit(path, n):
    conns = [connect(path) for _ in range(n)]
    time.sleep(0.3)
    closed = 0
    for s in conns:
        s.setblocking(False)
        try:
            if s.recv(64) == b"":
                closed += 1
        except BlockingIOError:
            pass
        except ConnectionResetError:
            closed += 1
    print(json.dumps({"opened": n, "closed": closed}), flush=True)
    for s in conns:
        s.close()


def send_fds(conn, fds):
    conn.sendmsg([b"\x03\x00\x00\x00"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("%di" % len(fds), *fds))] if fds else [])


def upstream(path, port):
    if os.path.exists(path):
        os.unlink(path)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    srv.bind(path)
    srv.listen(1)
    print(json.dumps({"ready": True}), flush=True)
    conn, _ = srv.accept()
    request = conn.recv(64)
    if len(request) != 8 or request[0] != 1:
        sys.exit("unexpected registration %r" % request)
    conn.send(GRANTED)
    r, w = os.pipe()
    send_fds(conn, [r])
    dgram = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    send_fds(conn, [dgram.fileno(), r, w])
    send_fds(conn, [])
    tcp_listener = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    tcp_listener.bind(("::1", port))
    tcp_listener.listen(4)
    send_fds(conn, [tcp_listener.fileno()])
    client = socket.create_connection(("::1", port))
    accepted, _ = tcp_listener.accept()
    send_fds(conn, [accepted.fileno()])
    accepted.close()
    client.settimeout(10)
    greeting = client.recv(256).decode()
    print(json.dumps({"sent": 5, "greeting": greeting.strip(), "pipe": os.fstat(r).st_ino}), flush=True)
    sys.stdin.readline()
    conn.close()


def main():
    if len(sys.argv) == 6 and sys.argv[1] == "fuzz":
        fuzz(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    elif len(sys.argv) == 4 and sys.argv[1] == "upstream":
        upstream(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) == 4 and sys.argv[1] == "limit":
        limit(sys.argv[2], int(sys.argv[3]))
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
