#!/usr/bin/env python3
"""What a big pipeline's reply costs: peak memory, and when its first bytes leave.

Starts the server (its own port and directory), warms it with one small
batch, then posts one `/pipeline` of N `INCR`s (default 200,000; the reply
is 3.5 MB of JSON) over a raw socket and reads the reply as it comes,
noting when the head and the first body bytes arrive and when the last
does. Reports the server's peak RSS (VmHWM) growth over the request, the
times, and whether the reply was chunked. Run it against two binaries to
compare (one run each, same machine):

    KEYWAY_BIN=.build/release/keyway python3 bench/big_pipeline_reply.py
    N_COMMANDS=20000 KEYWAY_BIN=... python3 bench/big_pipeline_reply.py
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KEYWAY_BIN = os.path.abspath(os.path.join(REPO, os.environ.get("KEYWAY_BIN", ".build/release/keyway")))
N = int(os.environ.get("N_COMMANDS", "200000"))


def status_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(field)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(port, body):
    sock = socket.create_connection(("127.0.0.1", port), timeout=300)
    sock.sendall((f"POST /pipeline HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  f"Content-Length: {len(body)}\r\n\r\n").encode() + body)
    return sock


def main():
    directory = tempfile.mkdtemp(prefix="keyway-bigreply-")
    port = free_port()
    proc = subprocess.Popen([KEYWAY_BIN, "serve", "--port", str(port), "--dir", directory, "--save", ""],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=directory)
    try:
        deadline = time.time() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.05)
        # Warm up: one big batch of another key, its reply read whole.
        warm = post(port, json.dumps([["INCR", "warm"]] * 20000).encode())
        data = b""
        while not (data.endswith(b"0\r\n\r\n") or (b"Content-Length" in data and data.endswith(b"]"))):
            chunk = warm.recv(1 << 20)
            if not chunk:
                break
            data += chunk
        warm.close()
        time.sleep(0.5)
        rss_before = status_kib(proc.pid, "VmRSS")
        hwm_before = status_kib(proc.pid, "VmHWM")
        body = json.dumps([["INCR", "n"]] * N).encode()
        start = time.monotonic()
        sock = post(port, body)
        received = b""
        head_at = first_body_at = None
        while True:
            chunk = sock.recv(1 << 20)
            if not chunk:
                break
            received += chunk
            if head_at is None and b"\r\n\r\n" in received:
                head_at = time.monotonic() - start
            if head_at is not None and first_body_at is None and len(received.split(b"\r\n\r\n", 1)[1]) > 0:
                first_body_at = time.monotonic() - start
            head = received.split(b"\r\n\r\n", 1)[0]
            if b"chunked" in head and received.endswith(b"0\r\n\r\n"):
                break
            if b"Content-Length" in head:
                length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
                if len(received.split(b"\r\n\r\n", 1)[1]) >= length:
                    break
        total = time.monotonic() - start
        sock.close()
        hwm_after = status_kib(proc.pid, "VmHWM")
        chunked = b"chunked" in received.split(b"\r\n\r\n", 1)[0]
        print(f"binary: {KEYWAY_BIN}")
        print(f"commands: {N}, body {len(body)} bytes, reply {len(received)} bytes on the wire, chunked: {chunked}")
        print(f"RSS before: {rss_before / 1024:.1f} MiB; peak RSS growth over the request: {(hwm_after - max(hwm_before, rss_before)) / 1024:.1f} MiB "
              f"(VmHWM {hwm_before / 1024:.1f} -> {hwm_after / 1024:.1f} MiB)")
        print(f"head after {head_at * 1000:.0f} ms, first body bytes after {first_body_at * 1000:.0f} ms, last after {total * 1000:.0f} ms")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
