#!/usr/bin/env python3
"""Sends one datagram carrying many descriptors (SCM_RIGHTS) to a receiver.

  fd_flood.py PATH COUNT [--first-fd N] [--wait SECONDS]

Opens COUNT descriptors (pipe read ends, UNIX stream socketpair ends, unbound
TCP and UDP sockets, in turn; a pipe first) and sends them in ONE sendmsg with payload "\\0"
to the datagram socket at PATH ('@' = abstract). With --first-fd, inherited
descriptor N (a real connection) goes first and COUNT-1 are opened. Our copies
of the sent descriptors are closed right after sending.

For socketpair ends and pipe read ends we keep the other end, so we can see
from outside when the last copy of a sent one is gone: the stream peer reads
EOF, the pipe write end polls POLLERR. After sending, waits up to --wait
seconds (default 5) for all of them, then prints one JSON line:
  {"sent": COUNT, "watched": W, "closed": C, "open": [kinds still open]}
"""
import array
import json
import os
import resource
import select
import socket
import sys
import time

SCM_MAX_FD = 253  # the kernel's limit per message


def raise_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < 4096:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(4096, hard), hard))


def open_descriptor(i):
    """Returns (fd to send, kept end to watch or None, kind)."""
    kind = i % 5
    if kind in (0, 2):  # a pipe first: no receiver may take it for a connection
        read_end, write_end = os.pipe()
        return read_end, write_end, "pipe"
    if kind in (1, 3):
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        ours.setblocking(False)
        return theirs.detach(), ours, "unix-stream"
    family, type_ = (socket.AF_INET6, socket.SOCK_STREAM) if i % 2 else (socket.AF_INET, socket.SOCK_DGRAM)
    return socket.socket(family, type_).detach(), None, "tcp" if type_ == socket.SOCK_STREAM else "udp"


def peer_gone(kept):
    """True once every copy of the sent end is closed."""
    if isinstance(kept, socket.socket):
        try:
            return kept.recv(1) == b""
        except BlockingIOError:
            return False
        except OSError:
            return True
    p = select.poll()
    p.register(kept, select.POLLOUT)
    return any(ev & select.POLLERR for _, ev in p.poll(0))


def main():
    args = sys.argv[1:]
    path, count = args[0], int(args[1])
    first = int(args[args.index("--first-fd") + 1]) if "--first-fd" in args else None
    wait = float(args[args.index("--wait") + 1]) if "--wait" in args else 5.0
    if not 1 <= count <= SCM_MAX_FD:
        sys.exit("COUNT must be 1..%d" % SCM_MAX_FD)
    raise_fd_limit()

    sent, watched = [], []
    if first is not None:
        sent.append(first)
    for i in range(count - len(sent)):
        fd, kept, kind = open_descriptor(i)
        sent.append(fd)
        if kept is not None:
            watched.append((kept, kind))

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    address = "\0" + path[1:] if path.startswith("@") else path
    sock.settimeout(10)
    sock.sendmsg([b"\0"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", sent))], 0, address)
    for fd in sent:
        os.close(fd)
    sock.close()

    deadline = time.monotonic() + wait
    pending = list(watched)
    while pending and time.monotonic() < deadline:
        pending = [(kept, kind) for kept, kind in pending if not peer_gone(kept)]
        if pending:
            time.sleep(0.02)
    print(json.dumps({"sent": len(sent), "watched": len(watched), "closed": len(watched) - len(pending),
                      "open": sorted(kind for _, kind in pending)}), flush=True)


if __name__ == "__main__":
    main()
