#!/usr/bin/env python3
"""A TCP client for tests whose clients live in another network namespace (run it
there with nsenter): it dials what it is told and reports what it saw.

  dial.py PLAN

PLAN is JSON: {"timeout": SECONDS, "parallel": N, "dials": [{"host": ADDR, "port": P}, ...]}.
Each dial connects, reads everything the server writes until it closes (sending
nothing, half-closing once connected), and prints one JSON line:
  {"i": INDEX, "host", "port", "source": [ADDR, PORT], "reply": TEXT}   connected
  {"i": INDEX, "host", "port", "error": "ENETUNREACH", "connected": BOOL}  it failed
At most N dials run at once; the tool exits 0 once every dial has reported.
"""
import errno
import json
import socket
import sys
import threading


def dial(i, host, port, timeout, out, lock):
    result = {"i": i, "host": host, "port": port}
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.settimeout(timeout)
    connected = False
    try:
        s.connect((host, port))
        connected = True
        result["source"] = list(s.getsockname()[:2])
        s.shutdown(socket.SHUT_WR)
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        result["reply"] = data.decode(errors="replace")
    except OSError as e:
        code = errno.errorcode.get(e.errno, "ETIMEDOUT" if isinstance(e, TimeoutError) else str(e))
        result["error"] = code
        result["connected"] = connected
    finally:
        s.close()
    with lock:
        out.write(json.dumps(result) + "\n")
        out.flush()


def main():
    plan = json.loads(sys.argv[1])
    timeout = float(plan.get("timeout", 5))
    slots = threading.BoundedSemaphore(int(plan.get("parallel", 1)))
    lock = threading.Lock()
    threads = []

    def run(i, d):
        try:
            dial(i, d["host"], int(d["port"]), timeout, sys.stdout, lock)
        finally:
            slots.release()

    for i, d in enumerate(plan["dials"]):
        slots.acquire()
        t = threading.Thread(target=run, args=(i, d))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
