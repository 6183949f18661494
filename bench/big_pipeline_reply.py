#!/usr/bin/env python3
"""What a big pipeline's reply costs: peak memory, and when its first bytes leave.

Starts the server (its own port and directory), warms it with one
20,000-command batch, then posts a `/pipeline` of N `INCR`s (default
200,000; the reply is 3.5 MB of JSON) over a raw socket ROUNDS times
(default 3), one after another, and reads each reply as it comes. Reports
the server's peak RSS (VmHWM) growth over the requests, when the first
round's head and first body bytes arrived, each round's time to the
reply's last byte and their median, and whether the reply was chunked.
The client reads into one growing buffer and parses the head once, so
its own cost is linear in the reply (goal 2 of issue #13 compares N =
20,000 with N = 200,000). Run it against two binaries to compare (same
machine, one after the other):

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
# Requests of N commands, one after another; the median time is reported.
ROUNDS = int(os.environ.get("ROUNDS", "3"))


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


def read_reply(port, body):
    """Posts `body` and reads the reply to its end: (the bytes, when the
    head came, when the first body bytes came, when the last did). The
    buffer grows in place and the head is parsed once, so the client's own
    work stays linear in the reply's size."""
    start = time.monotonic()
    sock = post(port, body)
    received = bytearray()
    head_at = first_body_at = None
    body_start = None
    chunked = False
    length = None
    while True:
        chunk = sock.recv(1 << 20)
        if not chunk:
            break
        received += chunk
        if body_start is None:
            end = received.find(b"\r\n\r\n")
            if end < 0:
                continue
            head_at = time.monotonic() - start
            body_start = end + 4
            head = bytes(received[:end])
            chunked = b"chunked" in head
            if b"Content-Length: " in head:
                length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
        if first_body_at is None and len(received) > body_start:
            first_body_at = time.monotonic() - start
        if chunked and received.endswith(b"0\r\n\r\n"):
            break
        if length is not None and len(received) - body_start >= length:
            break
    total = time.monotonic() - start
    sock.close()
    return bytes(received), head_at, first_body_at, total


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
        read_reply(port, json.dumps([["INCR", "warm"]] * 20000).encode())
        time.sleep(0.5)
        rss_before = status_kib(proc.pid, "VmRSS")
        hwm_before = status_kib(proc.pid, "VmHWM")
        body = json.dumps([["INCR", "n"]] * N).encode()
        rounds = []
        for _ in range(ROUNDS):
            rounds.append(read_reply(port, body))
        hwm_after = status_kib(proc.pid, "VmHWM")
        received, head_at, first_body_at, _ = rounds[0]
        totals = sorted(total for _, _, _, total in rounds)
        chunked = b"chunked" in received.split(b"\r\n\r\n", 1)[0]
        print(f"binary: {KEYWAY_BIN}")
        print(f"commands: {N}, body {len(body)} bytes, reply {len(received)} bytes on the wire, chunked: {chunked}")
        print(f"RSS before: {rss_before / 1024:.1f} MiB; peak RSS growth over the requests: {(hwm_after - max(hwm_before, rss_before)) / 1024:.1f} MiB "
              f"(VmHWM {hwm_before / 1024:.1f} -> {hwm_after / 1024:.1f} MiB)")
        print(f"first round: head after {head_at * 1000:.0f} ms, first body bytes after {first_body_at * 1000:.0f} ms")
        print(f"whole reply read after (ms, {ROUNDS} rounds): " + " ".join(f"{r[3] * 1000:.0f}" for r in rounds)
              + f"; median {totals[len(totals) // 2] * 1000:.0f} ms")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
