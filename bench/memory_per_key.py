#!/usr/bin/env python3
"""Bytes per key for small strings, Keyway beside redis-server.

Loads the same N keys into a fresh Keyway and a fresh Debian redis-server
(11-byte keys `key:0000001`, 13-byte values, no TTL), both on loopback:
Redis through pipelined RESP (MSET of BATCH pairs), Keyway through
`POST /` MSET of BATCH pairs over one keep-alive HTTP connection. Then it
reports, per key:

- the growth of each process's resident memory (VmRSS after - before);
- Redis's own `used_memory` growth (what `INFO memory` reports, the figure
  Redis users quote) and Keyway's `used_memory` growth when its INFO has a
  memory section.

    KEYWAY_BIN=.build/release/keyway python3 bench/memory_per_key.py
    N_KEYS=200000 python3 bench/memory_per_key.py

Every server is started here on a free port in a temporary directory with
persistence off, and stopped at the end; every wait has a deadline.
"""

from __future__ import annotations

import http.client
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
REDIS_SERVER = os.environ.get("REDIS_SERVER") or shutil.which("redis-server") or "redis-server"
N_KEYS = int(os.environ.get("N_KEYS", "1000000"))
BATCH = 1000
START_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def wait_for_port(port: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def key(i: int) -> bytes:
    return b"key:%07d" % i          # 11 bytes


def value(i: int) -> bytes:
    return b"value:%07d" % i        # 13 bytes


# ---------------------------------------------------------------- Redis ---

def resp_command(*args: bytes) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        out.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(out)


def read_reply(sock_file) -> bytes:
    line = sock_file.readline()
    if line[:1] == b"$":
        length = int(line[1:])
        return b"" if length < 0 else sock_file.read(length + 2)[:-2]
    if line[:1] == b"-":
        raise RuntimeError(line.decode())
    return line


def redis_used_memory(sock, sock_file) -> int:
    sock.sendall(resp_command(b"INFO", b"memory"))
    text = read_reply(sock_file).decode()
    for line in text.splitlines():
        if line.startswith("used_memory:"):
            return int(line.split(":")[1])
    raise RuntimeError("no used_memory")


def measure_redis(workdir: str) -> dict:
    port = free_port()
    proc = subprocess.Popen([REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", workdir],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        sock = socket.create_connection(("127.0.0.1", port))
        sock_file = sock.makefile("rb")
        rss_before = rss_bytes(proc.pid)
        used_before = redis_used_memory(sock, sock_file)
        for start in range(0, N_KEYS, BATCH):
            args = [b"MSET"]
            for i in range(start, min(start + BATCH, N_KEYS)):
                args += [key(i), value(i)]
            sock.sendall(resp_command(*args))
            read_reply(sock_file)
        time.sleep(0.5)
        return {"rss": rss_bytes(proc.pid) - rss_before, "used": redis_used_memory(sock, sock_file) - used_before}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


# --------------------------------------------------------------- Keyway ---

def keyway_call(conn: http.client.HTTPConnection, command: list) -> object:
    conn.request("POST", "/", body=json.dumps(command), headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    body = response.read()
    if response.status != 200:
        raise RuntimeError(f"{response.status}: {body[:200]!r}")
    return json.loads(body)["result"]


def keyway_used_memory(conn) -> int | None:
    text = keyway_call(conn, ["INFO", "memory"])
    for line in text.splitlines():
        if line.startswith("used_memory:"):
            return int(line.split(":")[1])
    return None


def measure_keyway(workdir: str) -> dict:
    port = free_port()
    proc = subprocess.Popen([KEYWAY_BIN, "serve", "--port", str(port), "--dir", workdir, "--save", "",
                             "--appendonly", "no", "--log-level", "error"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        rss_before = rss_bytes(proc.pid)
        used_before = keyway_used_memory(conn)
        for start in range(0, N_KEYS, BATCH):
            command = ["MSET"]
            for i in range(start, min(start + BATCH, N_KEYS)):
                command += [key(i).decode(), value(i).decode()]
            keyway_call(conn, command)
        assert keyway_call(conn, ["DBSIZE"]) == N_KEYS
        time.sleep(0.5)
        used_after = keyway_used_memory(conn)
        used = None if used_before is None or used_after is None else used_after - used_before
        return {"rss": rss_bytes(proc.pid) - rss_before, "used": used}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    if not os.path.exists(KEYWAY_BIN):
        sys.exit(f"no server binary at {KEYWAY_BIN}: build it with `swift build -c release`")
    with tempfile.TemporaryDirectory() as keyway_dir, tempfile.TemporaryDirectory() as redis_dir:
        keyway = measure_keyway(keyway_dir)
        redis = measure_redis(redis_dir)
    per = lambda total: total / N_KEYS
    print(f"{N_KEYS} keys, 11-byte keys, 13-byte values")
    print(f"| | Keyway | Redis | Keyway/Redis |")
    print(f"| --- | ---: | ---: | ---: |")
    print(f"| RSS growth per key (bytes) | {per(keyway['rss']):.0f} | {per(redis['rss']):.0f} | "
          f"{keyway['rss'] / redis['rss']:.2f}x |")
    if keyway["used"] is not None:
        print(f"| used_memory growth per key (bytes) | {per(keyway['used']):.0f} | {per(redis['used']):.0f} | "
              f"{keyway['used'] / redis['used']:.2f}x |")
    print(f"| Keyway RSS per key vs Redis used_memory per key | | | {keyway['rss'] / redis['used']:.2f}x |")


if __name__ == "__main__":
    main()
