"""many_receivers.py DIR COUNT: one process receiving on COUNT datagram sockets DIR/t-NNNNN.sock
(NNNNN = 1..COUNT, five digits, as socketbox -U writes #//7_ for 2001:db8::N in decimal), answering
each connection "ok t-NNNNN" as fd_tool.py drain does, and reporting what it saw about the sender:

  {"ready": true}                     once every socket is bound
  {"count": N, "senders": [...], "sendBack": [...]} on SIGTERM

senders: the distinct source addresses recvmsg reported (an unnamed sender reads as "");
sendBack: the errors of trying to send a datagram back to each of them (a hostile receiver's
attempt to reach socketbox).
"""
import errno
import json
import os
import select
import signal
import socket
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "testkit"))
from scm_rights import received_fds  # noqa: E402


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main():
    directory, count = sys.argv[1], int(sys.argv[2])
    socks = {}
    for n in range(1, count + 1):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(os.path.join(directory, "t-%05d.sock" % n))
        sock.setblocking(False)
        socks[sock.fileno()] = (sock, "t-%05d" % n)
    state = {"count": 0, "senders": set(), "sendBack": set()}

    def report(*_):
        emit({"count": state["count"], "senders": sorted(state["senders"]), "sendBack": sorted(state["sendBack"])})
        os._exit(0)

    signal.signal(signal.SIGTERM, report)
    poller = select.epoll()
    for fd in socks:
        poller.register(fd, select.EPOLLIN)
    emit({"ready": True})
    while True:
        for fd, _ in poller.poll():
            sock, name = socks[fd]
            try:
                _, anc, _, sender = sock.recvmsg(16, socket.CMSG_SPACE(16 * 4))
            except BlockingIOError:
                continue
            # An unnamed sender reads as None (or ""): there is no address to answer to.
            state["senders"].add(sender.decode(errors="replace") if isinstance(sender, bytes) else (sender or ""))
            try:
                # The only address a receiver learns of socketbox's side: try to answer there.
                if sender:
                    sock.sendto(b"hostile", sender)
                else:
                    sock.send(b"hostile")  # no address: the socket is not connected to anything
                state["sendBack"].add("sent")
            except OSError as e:
                state["sendBack"].add(errno.errorcode.get(e.errno, str(e.errno)))
            fds = received_fds(anc)
            for extra in fds[1:]:
                os.close(extra)
            if not fds:
                continue
            conn = socket.socket(fileno=fds[0])
            conn.settimeout(5)
            try:
                conn.recv(64)
                conn.sendall(b"ok " + name.encode() + b"\n")
                state["count"] += 1
            except OSError:
                pass
            conn.close()


main()
