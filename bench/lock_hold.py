#!/usr/bin/env python3
"""How long single commands hold the engine (every other client waits
meanwhile), for the commands whose cost grows with their input: the worst
cases a client can ask for.

Starts `keyway serve` (release build), fills a set, a sorted set, a hash
and a list of N members each plus N string keys (pipelines of 1000), then
runs each command once and reads its duration from SLOWLOG (measured inside
the engine lock), while a second client PINGs in a loop and records the
longest wait it saw. The same against redis-server (Debian's), over RESP,
in the same run. Loopback only; bounded.

    KEYWAY_BIN=.build/release/keyway python3 bench/lock_hold.py [N]
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "python"))
from resp_client import RespClient  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
TOKEN = "bench-token"

COMMANDS = [
    ["SRANDMEMBER", "set", "-1048576"],
    ["HRANDFIELD", "hash", "-1048576"],
    ["ZRANDMEMBER", "zset", "-1048576"],
    ["SMEMBERS", "set"],
    ["ZRANGE", "zset", "0", "-1"],
    ["LRANGE", "list", "0", "-1"],
    ["HGETALL", "hash"],
    ["KEYS", "*"],
    ["SUNIONSTORE", "set2", "set"],
    ["DEL", "set2"],
    ["DEL", "hash"],
    ["UNLINK", "zset"],
    ["FLUSHALL", "ASYNC"],
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(port, path, body):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(),
                                     headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=600) as response:
        return json.loads(response.read())


def fill(port):
    for start in range(0, N, 1000):
        members = [f"member:{i:012d}" for i in range(start, min(N, start + 1000))]
        pipeline = [["SADD", "set", *members], ["RPUSH", "list", *members],
                    ["ZADD", "zset", *[w for i, m in enumerate(members) for w in (str(start + i), m)]],
                    ["HSET", "hash", *[w for m in members for w in (m, "v")]],
                    ["MSET", *[w for m in members for w in ("key:" + m, "value-of-forty-bytes-0123456789abcdef")]]]
        post(port, "/pipeline", pipeline)


def fill_redis(client):
    for start in range(0, N, 1000):
        members = [f"member:{i:012d}" for i in range(start, min(N, start + 1000))]
        client("SADD", "set", *members)
        client("RPUSH", "list", *members)
        client("ZADD", "zset", *[w for i, m in enumerate(members) for w in (str(start + i), m)])
        client("HSET", "hash", *[w for m in members for w in (m, "v")])
        client("MSET", *[w for m in members for w in ("key:" + m, "value-of-forty-bytes-0123456789abcdef")])


def redis_figures():
    """{command: (micros in the command, longest PING wait)} from redis-server."""
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="keyway-bench-redis-")
    server = subprocess.Popen(["redis-server", "--port", str(port), "--save", "", "--appendonly", "no", "--dir", workdir,
                               "--slowlog-log-slower-than", "1000", "--slowlog-max-len", "1000"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    figures = {}
    try:
        for _ in range(100):
            try:
                client = RespClient(port)
                break
            except OSError:
                time.sleep(0.1)
        client.sock.settimeout(600)
        fill_redis(client)
        for command in COMMANDS:
            client("SLOWLOG", "RESET")
            worst = [0.0]
            stop = threading.Event()

            def pinger():
                pinging = RespClient(port)
                pinging.sock.settimeout(600)
                while not stop.is_set():
                    started = time.perf_counter()
                    pinging("PING")
                    worst[0] = max(worst[0], time.perf_counter() - started)
                pinging.close()

            thread = threading.Thread(target=pinger)
            thread.start()
            time.sleep(0.05)
            client(*command)
            time.sleep(0.05)
            stop.set()
            thread.join()
            entries = client("SLOWLOG", "GET", "-1")
            micros = max((e[2] for e in entries if e[3][0].upper() == command[0]), default=0)
            figures[" ".join(command)] = (micros, worst[0])
        client.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    return figures


def main() -> None:
    binary = os.path.abspath(os.environ.get("KEYWAY_BIN", ".build/release/keyway"))
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="keyway-bench-")
    server = subprocess.Popen([binary, "serve", "--port", str(port), "--token", TOKEN, "--save", "", "--log-level", "warning",
                               "--max-body", "1073741824"], cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1)
                break
            except Exception:
                time.sleep(0.1)
        fill(port)
        post(port, "/", ["CONFIG", "SET", "slowlog-log-slower-than", "1000", "slowlog-max-len", "1000"])
        reference = redis_figures()
        print(f"{N:,} members per collection and {N:,} string keys; milliseconds")
        print(f"{'command':<34} {'keyway lock':>12} {'keyway PING':>12} {'redis cmd':>10} {'redis PING':>11} {'reply bytes':>12}")
        for command in COMMANDS:
            post(port, "/", ["SLOWLOG", "RESET"])
            worst = [0.0]
            stop = threading.Event()

            def pinger():
                while not stop.is_set():
                    started = time.perf_counter()
                    post(port, "/", ["PING"])
                    worst[0] = max(worst[0], time.perf_counter() - started)

            thread = threading.Thread(target=pinger)
            thread.start()
            time.sleep(0.05)
            request = urllib.request.Request(f"http://127.0.0.1:{port}/", data=json.dumps(command).encode(),
                                             headers={"Authorization": f"Bearer {TOKEN}"})
            with urllib.request.urlopen(request, timeout=600) as response:
                size = len(response.read())
            time.sleep(0.05)
            stop.set()
            thread.join()
            entries = post(port, "/", ["SLOWLOG", "GET", "-1"])["result"]
            micros = max((e[2] for e in entries if e[3][0].upper() == command[0]), default=0)
            theirs, their_ping = reference[" ".join(command)]
            print(f"{' '.join(command):<34} {micros / 1000:>12.1f} {worst[0] * 1000:>12.1f} {theirs / 1000:>10.1f} {their_ping * 1000:>11.1f} {size:>12,}")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
