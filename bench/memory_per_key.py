#!/usr/bin/env python3
"""Bytes per key for the key and value sizes applications have, Keyway beside redis-server.

For each shape below, loads the same keys into a fresh Keyway and a fresh
Debian redis-server (both on loopback, persistence off) and reports, per
key, the growth of each process's resident memory (VmRSS after - before)
and of `used_memory` (INFO memory: Redis's own count, Keyway's estimate).

Strings (N_KEYS keys each, no TTL), key bytes x value bytes:

- 7 x 8      `k000001` -> `00000001`, the tiniest case
- 21 x 40    `user:session:00000001` -> a 40-byte token
- 35 x 200   `cache:product:details:v2:0000000001` -> a 200-byte fragment
- 16 x 1000  `img:thumb:000001` -> a 1000-byte blob

Collections (N_KEYS / 100 keys, 100 small members each, which Redis 7.0
keeps as listpacks, except sets of strings, which it keeps as hash tables):

- hash: fields `field:001` (9 B) with 8-byte values
- set: members `member:00001` (12 B)
- zset: the same members, scores 0-99
- list: elements `item:000001` (11 B), RPUSH

Redis is loaded with pipelined RESP, Keyway with `POST /pipeline` over one
keep-alive HTTP connection (MSET of 1,000 pairs for strings, one command
per collection key). Before the "before" reading, each server first gets
one batch of the same size that stores nothing (EXISTS with the same
arguments), so buffers that any first request grows once are not counted
per key.

    KEYWAY_BIN=.build/release/keyway python3 bench/memory_per_key.py
    N_KEYS=200000 SHAPES=21x40,hash python3 bench/memory_per_key.py

Every server is started here on a free port in a temporary directory and
stopped at the end; every wait has a deadline.
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
MEMBERS = 100
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


def padded(prefix: str, i: int, length: int) -> str:
    """`prefix` + i, padded with 'x' (or cut) to exactly `length` bytes."""
    text = f"{prefix}{i}"
    return (text + "x" * length)[:length]


# ---------------------------------------------------------------- shapes ---

class StringShape:
    def __init__(self, name: str, key_format: str, key_length: int, value_length: int):
        self.name, self.key_format = name, key_format
        self.key_length, self.value_length = key_length, value_length
        self.keys = N_KEYS

    def key(self, i: int) -> str:
        key = self.key_format % i
        assert len(key) == self.key_length, key
        return key

    def value(self, i: int) -> str:
        return padded(f"{i}:", i, self.value_length)

    def warm_up(self):
        """A batch like the first one that stores nothing."""
        return [["EXISTS"] + command[1:] for command in next(iter(self.commands()))]

    def commands(self):
        """Batches of commands, each batch one pipeline round trip."""
        for start in range(0, self.keys, 1000):
            command = ["MSET"]
            for i in range(start, min(start + 1000, self.keys)):
                command += [self.key(i), self.value(i)]
            yield [command]


class CollectionShape:
    def __init__(self, name: str, build):
        self.name, self.build = name, build
        self.keys = max(1, N_KEYS // MEMBERS)

    def warm_up(self):
        return [["EXISTS"] + command[1:] for command in next(iter(self.commands()))]

    def commands(self):
        for start in range(0, self.keys, 100):
            yield [self.build(f"{self.name}:{i:08d}") for i in range(start, min(start + 100, self.keys))]


def hash_command(key: str) -> list:
    command = ["HSET", key]
    for m in range(MEMBERS):
        command += [f"field:{m:03d}", f"{m:08d}"]
    return command


def set_command(key: str) -> list:
    return ["SADD", key] + [f"member:{m:05d}" for m in range(MEMBERS)]


def zset_command(key: str) -> list:
    command = ["ZADD", key]
    for m in range(MEMBERS):
        command += [str(m), f"member:{m:05d}"]
    return command


def list_command(key: str) -> list:
    return ["RPUSH", key] + [f"item:{m:06d}" for m in range(MEMBERS)]


SHAPES = {
    "7x8": StringShape("7x8", "k%06d", 7, 8),
    "21x40": StringShape("21x40", "user:session:%08d", 21, 40),
    "35x200": StringShape("35x200", "cache:product:details:v2:%010d", 35, 200),
    "16x1000": StringShape("16x1000", "img:thumb:%06d", 16, 1000),
    "hash": CollectionShape("hash", hash_command),
    "set": CollectionShape("set", set_command),
    "zset": CollectionShape("zset", zset_command),
    "list": CollectionShape("list", list_command),
}


# ---------------------------------------------------------------- Redis ---

def resp_command(args: list) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
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
    sock.sendall(resp_command(["INFO", "memory"]))
    for line in read_reply(sock_file).decode().splitlines():
        if line.startswith("used_memory:"):
            return int(line.split(":")[1])
    raise RuntimeError("no used_memory")


def measure_redis(shape, workdir: str) -> dict:
    port = free_port()
    proc = subprocess.Popen([REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", workdir],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        sock = socket.create_connection(("127.0.0.1", port))
        sock_file = sock.makefile("rb")
        warm_up = shape.warm_up()
        sock.sendall(b"".join(resp_command(command) for command in warm_up))
        for _ in warm_up:
            read_reply(sock_file)
        rss_before = rss_bytes(proc.pid)
        used_before = redis_used_memory(sock, sock_file)
        for batch in shape.commands():
            sock.sendall(b"".join(resp_command(command) for command in batch))
            for _ in batch:
                read_reply(sock_file)
        time.sleep(0.5)
        return {"rss": rss_bytes(proc.pid) - rss_before, "used": redis_used_memory(sock, sock_file) - used_before}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


# --------------------------------------------------------------- Keyway ---

def keyway_request(conn: http.client.HTTPConnection, path: str, body: object) -> object:
    conn.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    payload = response.read()
    if response.status != 200:
        raise RuntimeError(f"{response.status}: {payload[:200]!r}")
    return json.loads(payload)


def keyway_used_memory(conn) -> int:
    text = keyway_request(conn, "/", ["INFO", "memory"])["result"]
    for line in text.splitlines():
        if line.startswith("used_memory:"):
            return int(line.split(":")[1])
    raise RuntimeError("no used_memory")


def measure_keyway(shape, workdir: str) -> dict:
    port = free_port()
    proc = subprocess.Popen([KEYWAY_BIN, "serve", "--port", str(port), "--dir", workdir, "--save", "",
                             "--appendonly", "no", "--log-level", "error"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        keyway_request(conn, "/pipeline", shape.warm_up())
        rss_before = rss_bytes(proc.pid)
        used_before = keyway_used_memory(conn)
        for batch in shape.commands():
            for reply in keyway_request(conn, "/pipeline", batch):
                if "error" in reply:
                    raise RuntimeError(reply["error"])
        assert keyway_request(conn, "/", ["DBSIZE"])["result"] == shape.keys
        time.sleep(0.5)
        return {"rss": rss_bytes(proc.pid) - rss_before, "used": keyway_used_memory(conn) - used_before}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    if not os.path.exists(KEYWAY_BIN):
        sys.exit(f"no server binary at {KEYWAY_BIN}: build it with `swift build -c release`")
    names = os.environ.get("SHAPES", ",".join(SHAPES)).split(",")
    print(f"{N_KEYS} string keys per shape; {max(1, N_KEYS // MEMBERS)} collection keys of {MEMBERS} members")
    print("| shape | keys | Keyway RSS/key | Redis RSS/key | RSS ratio | Keyway used/key | Redis used/key |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name in names:
        shape = SHAPES[name]
        with tempfile.TemporaryDirectory() as keyway_dir, tempfile.TemporaryDirectory() as redis_dir:
            keyway = measure_keyway(shape, keyway_dir)
            redis = measure_redis(shape, redis_dir)
        per = lambda total: total / shape.keys
        print(f"| {name} | {shape.keys} | {per(keyway['rss']):.0f} | {per(redis['rss']):.0f} | "
              f"{keyway['rss'] / redis['rss']:.2f}x | {per(keyway['used']):.0f} | {per(redis['used']):.0f} |",
              flush=True)


if __name__ == "__main__":
    main()
