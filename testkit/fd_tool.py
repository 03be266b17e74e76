#!/usr/bin/env python3
"""Test peer for socketbox: receives passed connections and proves they are real.

  fd_tool.py receive PATH NAME
      Bind a datagram socket at PATH ('@' = abstract) and serve every
      descriptor that arrives on it.
  fd_tool.py socketpair NAME [--close-after N] [--seqpacket] [--outlive] -- CMD...
      Run CMD with one end of a datagram (or seqpacket) socketpair as
      descriptor 3 and serve what arrives on the other end; after N
      connections close our end. Prints {"exit": STATUS} when CMD ends; with
      --outlive goes on serving until SIGTERM (CMD's descendants may hold it).
  fd_tool.py fds KIND... -- CMD...
      Exec CMD with one descriptor of each KIND from 3 on: pipe (a read end),
      stream, dgram or seqpacket (one end of a UNIX socketpair).
  fd_tool.py drain PATH NAME [RATE [hold]]
      (PATH "reg:SOCKET:SLOT": register for SLOT at a registration socket instead of
      binding; the end of that registration ends the tool as SIGTERM does)
      Bind a datagram socket at PATH and handle each connection inline, at
      most RATE per second (default unlimited): read the client's line (its
      sequence number), answer "ok NAME\\n", close. On SIGTERM print
      {"name", "count", "ordered", "first", "last"}: ordered is true when the
      sequence numbers arrived strictly increasing. With "hold" (RATE 0 =
      unlimited) nothing is read until SIGUSR1, so the queue fills up.
  fd_tool.py listener PORT -- CMD...
      Run CMD with a bound (not yet listening) IPv6 TCP socket on [::]:PORT as
      descriptor 3.
  fd_tool.py unread-terminal FILE -- CMD...
      Run CMD with its stderr on a terminal (a new pty) that nobody reads, as one
      stopped with Ctrl-S or never looked at: once the terminal's buffer is full, a
      blocking write to it waits for ever. Descriptor 3, when this tool has one, is
      passed on. Prints {"ready": true, "pid": PID}; on SIGUSR1 copies what the
      terminal holds to FILE (without the carriage returns it adds), prints
      {"drained": true} and goes on copying; prints {"exit": STATUS} when CMD ends.
  fd_tool.py flip TARGET PATH=SOCKET...
      A hostile receiver: until SIGTERM, as fast as it can, rename over each
      PATH in turn a hard link of SOCKET (a real socket) and a symlink to
      TARGET (a socket elsewhere). On SIGTERM print {"flips": N}.

Serving a connection: write "NAME local=[A]:P remote=[A]:P transparent=0|1\\n", read one line,
answer "NAME echo:LINE\\n", close. One JSON line per connection on stdout.
"""
import ctypes
import fcntl
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

from scm_rights import received_fds

IPV6_TRANSPARENT = 75
PR_SET_PDEATHSIG = 1


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def endpoint(addr):
    return "[%s]:%d" % (addr[0], addr[1])


def serve_connection(name, fd, extra):
    conn = socket.socket(fileno=fd)
    conn.settimeout(10)
    try:
        local, remote = endpoint(conn.getsockname()), endpoint(conn.getpeername())
        transparent = conn.getsockopt(socket.IPPROTO_IPV6, IPV6_TRANSPARENT)
        conn.sendall(("%s local=%s remote=%s transparent=%d\n" % (name, local, remote, transparent)).encode())
        line = b""
        while not line.endswith(b"\n"):
            chunk = conn.recv(1024)
            if not chunk:
                break
            line += chunk
        conn.sendall(b"%s echo:%s" % (name.encode(), line))
        emit({"name": name, "local": local, "remote": remote, "fds": 1 + extra, "transparent": transparent})
    except OSError as e:
        emit({"name": name, "error": str(e)})
    finally:
        conn.close()


def receive_loop(sock, name, close_after=None):
    served = 0
    while close_after is None or served < close_after:
        try:
            _, anc, _, _ = sock.recvmsg(16, socket.CMSG_SPACE(16 * 4))
        except OSError:
            return
        fds = received_fds(anc)
        if not fds:
            continue
        for extra in fds[1:]:
            os.close(extra)
        threading.Thread(target=serve_connection, args=(name, fds[0], len(fds) - 1), daemon=True).start()
        served += 1
    sock.close()


def drain(path, name, rate, hold):
    sock = open_receiving_socket(path)
    released = threading.Event()
    signal.signal(signal.SIGUSR1, lambda *_: released.set())
    state = {"count": 0, "ordered": True, "first": None, "last": None}

    def report(*_):
        emit(dict(name=name, **state))
        os._exit(0)

    signal.signal(signal.SIGTERM, report)
    emit({"ready": True})
    if hold:
        while not released.wait(0.05):
            pass
    interval = 1.0 / rate if rate else 0
    next_at = time.monotonic()
    while True:
        data, anc, _, _ = sock.recvmsg(16, socket.CMSG_SPACE(16 * 4))
        if not data and not anc and sock.type == socket.SOCK_SEQPACKET:
            report()  # the registration server has gone
        fds = received_fds(anc)
        for extra in fds[1:]:
            os.close(extra)
        if not fds:
            continue
        conn = socket.socket(fileno=fds[0])
        conn.settimeout(5)
        try:
            seq = int(conn.recv(64).split(b"\n")[0])
            conn.sendall(b"ok " + name.encode() + b"\n")
            if state["last"] is not None and seq <= state["last"]:
                state["ordered"] = False
            if state["first"] is None:
                state["first"] = seq
            state["last"] = seq
            state["count"] += 1
        except (OSError, ValueError):
            pass
        conn.close()
        if interval:
            next_at += interval
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            else:
                next_at = time.monotonic()


def open_receiving_socket(path):
    """A datagram socket bound at PATH, or with "reg:SOCKET:SLOT" a registration (docs/wire-protocol.md)."""
    if not path.startswith("reg:"):
        return bind_datagram(path)
    api, slot = path[len("reg:"):].rsplit(":", 1)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    sock.connect(api)
    sock.send(struct.pack(">BBHI", 1, 0, 0, int(slot)))
    if sock.recv(16) != b"\x80\x00\x00\x00":
        sys.exit("registration refused")
    return sock


def bind_datagram(path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if path.startswith("@"):
        sock.bind("\0" + path[1:])
    else:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        sock.bind(path)
        os.chmod(path, 0o666)  # a server that dropped privileges must still reach it
    return sock


def hand_over_as_fd3(sock):
    """Make sock descriptor 3 for the child, whatever numbers Python picked."""
    high = fcntl.fcntl(sock.fileno(), fcntl.F_DUPFD_CLOEXEC, 10)
    sock.close()
    os.dup2(high, 3, inheritable=True)
    os.close(high)


def die_with_parent():
    """Runs in the child before exec: end it when this wrapper is killed."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def unread_terminal(copy_to, cmd):
    keep = (3,) if fd_is_open(3) else ()  # before openpty, which may take number 3
    master, slave = os.openpty()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave,
                            pass_fds=keep, preexec_fn=die_with_parent)
    os.close(slave)
    for fd in keep:
        os.close(fd)
    reading = threading.Event()
    signal.signal(signal.SIGUSR1, lambda *_: reading.set())
    emit({"ready": True, "pid": proc.pid})
    while not reading.wait(0.05):
        pass
    with open(copy_to, "ab", buffering=0) as out:
        os.set_blocking(master, False)
        still_open = copy_terminal(master, out)
        emit({"drained": True})
        os.set_blocking(master, True)
        if still_open:
            copy_terminal(master, out)
    emit({"exit": proc.wait()})


def copy_terminal(master, out):
    """Copies what the terminal shows until it holds no more (True) or its other side is closed (False)."""
    while True:
        try:
            chunk = os.read(master, 65536)
        except BlockingIOError:
            return True
        except OSError:  # EIO: every descriptor of the terminal's other side is closed
            return False
        if not chunk:
            return False
        out.write(chunk.replace(b"\r", b""))


def fd_is_open(fd):
    try:
        os.fstat(fd)
        return True
    except OSError:
        return False


def split_command(args):
    if "--" not in args:
        sys.exit("missing -- CMD")
    i = args.index("--")
    return args[:i], args[i + 1 :]


SOCKETPAIR_TYPES = {"stream": socket.SOCK_STREAM, "dgram": socket.SOCK_DGRAM, "seqpacket": socket.SOCK_SEQPACKET}


def exec_with_fds(kinds, cmd):
    """Only these descriptors matter: the other ends are not inheritable and close at exec."""
    made = []
    for kind in kinds:
        if kind == "pipe":
            made.append(os.pipe()[0])
        else:
            made.append(socket.socketpair(socket.AF_UNIX, SOCKETPAIR_TYPES[kind])[0].detach())
    high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 100) for fd in made]
    for i, fd in enumerate(high):
        os.dup2(fd, 3 + i, inheritable=True)
    os.execvp(cmd[0], cmd)


def flip(target, pairs):
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    flips = 0
    emit({"ready": True})
    while not stopping:
        for path, sock in pairs:
            spare = path + ".next"
            os.link(sock, spare)
            os.rename(spare, path)
            os.symlink(target, spare)
            os.rename(spare, path)
            flips += 2
    emit({"flips": flips})


def main():
    mode = sys.argv[1]
    if mode == "receive":
        sock = bind_datagram(sys.argv[2])
        emit({"ready": True})
        receive_loop(sock, sys.argv[3])
    elif mode == "drain":
        rate = float(sys.argv[4]) if len(sys.argv) > 4 else 0
        drain(sys.argv[2], sys.argv[3], rate, len(sys.argv) > 5 and sys.argv[5] == "hold")
    elif mode == "socketpair":
        opts, cmd = split_command(sys.argv[2:])
        name = opts[0]
        close_after = int(opts[opts.index("--close-after") + 1]) if "--close-after" in opts else None
        kind = socket.SOCK_SEQPACKET if "--seqpacket" in opts else socket.SOCK_DGRAM
        ours, theirs = socket.socketpair(socket.AF_UNIX, kind)
        ours = socket.socket(fileno=fcntl.fcntl(ours.detach(), fcntl.F_DUPFD_CLOEXEC, 10))
        hand_over_as_fd3(theirs)
        proc = subprocess.Popen(cmd, pass_fds=(3,), preexec_fn=die_with_parent)
        os.close(3)
        emit({"ready": True, "pid": proc.pid})
        threading.Thread(target=receive_loop, args=(ours, name, close_after), daemon=True).start()
        emit({"exit": proc.wait()})
        if "--outlive" in opts:
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
            signal.sigwait({signal.SIGTERM})
    elif mode == "listener":
        opts, cmd = split_command(sys.argv[2:])
        sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("::", int(opts[0])))
        hand_over_as_fd3(sock)
        proc = subprocess.Popen(cmd, pass_fds=(3,), preexec_fn=die_with_parent)
        os.close(3)
        emit({"ready": True, "pid": proc.pid})
        emit({"exit": proc.wait()})
    elif mode == "unread-terminal":
        opts, cmd = split_command(sys.argv[2:])
        unread_terminal(opts[0], cmd)
    elif mode == "fds":
        kinds, cmd = split_command(sys.argv[2:])
        exec_with_fds(kinds, cmd)
    elif mode == "flip":
        flip(sys.argv[2], [arg.split("=", 1) for arg in sys.argv[3:]])
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
