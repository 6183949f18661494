#!/usr/bin/env python3
"""Cache hit ratio under maxmemory: Keyway against Debian's redis-server.

    make bench                                   # release build, then this
    KEYWAY_BIN=.build/release/keyway python3 bench/eviction_hit_ratio.py
    python3 bench/eviction_hit_ratio.py --keys 50000 --ops 200000   # quicker

The same cache-aside workload runs against both servers, once per policy
(allkeys-lru, allkeys-lfu), each time on a fresh server:

1. fill every key once with no limit and read `used_memory` before and
   after: the data's size as that server counts it;
2. FLUSHALL, then set `maxmemory` to the empty server's usage plus
   `--fraction` (default 20%) of the data's size, and the policy;
3. replay one Zipf-distributed key sequence (exponent `--zipf`, default 1.0,
   same seed for both servers): GET each key, SET it on a miss. The first
   `--warmup` share of the operations fills the cache; hits are counted
   over the rest.

Requests go in batches of `--batch` (GETs, then SETs for the misses):
RESP pipelining for Redis, `POST /pipeline` for Keyway, identical batches
for both. Both servers listen on 127.0.0.1 only, run in scratch directories
with persistence off, and are stopped on exit. Hit ratios depend on the
workload only, not on speed, except that both LRU clocks tick in seconds.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "Tests" / "python"))
from resp_client import RespClient  # noqa: E402

VALUE = "v" * 100


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not start within {timeout:.0f}s")


def used_memory(info_text: str) -> int:
    for line in info_text.splitlines():
        if line.startswith("used_memory:"):
            return int(line.split(":", 1)[1])
    raise RuntimeError("INFO memory has no used_memory")


class RedisServer:
    """A redis-server on a free loopback port, RESP pipelining."""

    name = "redis"

    def __init__(self, workdir: Path):
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server not found: apt-get install redis-server (make bench does)")
        self.port = free_port()
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(workdir), "--daemonize", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(self._ping, "redis-server")
        self.client = RespClient(self.port)

    def _ping(self) -> bool:
        client = RespClient(self.port)
        try:
            return client("PING") == "PONG"
        finally:
            client.close()

    def call(self, *args):
        return self.client(*args)

    def pipeline(self, commands: list[list[str]]) -> list:
        out = []
        for command in commands:
            out.append(b"*%d\r\n" % len(command))
            for arg in command:
                data = arg.encode()
                out.append(b"$%d\r\n%s\r\n" % (len(data), data))
        self.client.sock.sendall(b"".join(out))
        return [self.client._read() for _ in commands]

    def used_memory(self) -> int:
        return used_memory(self.call("INFO", "memory"))

    def stop(self) -> None:
        self.client.close()
        self.process.terminate()
        self.process.wait(timeout=10)


class KeywayServer:
    """A `keyway serve` on a free loopback port, batches on POST /pipeline."""

    name = "keyway"

    def __init__(self, workdir: Path, binary: Path):
        if not binary.is_file():
            raise SystemExit(f"Keyway binary not found at {binary}: swift build -c release, or set KEYWAY_BIN")
        self.port = free_port()
        self.process = subprocess.Popen(
            [str(binary), "serve", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--dir", str(workdir), "--log-level", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(self._ready, "keyway")
        self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)

    def _ready(self) -> bool:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
        try:
            connection.request("GET", "/readyz")
            return connection.getresponse().status == 200
        finally:
            connection.close()

    def _post(self, path: str, body) -> object:
        self.connection.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
        response = self.connection.getresponse()
        payload = json.loads(response.read())
        if response.status != 200:
            raise RuntimeError(f"keyway answered {response.status}: {payload}")
        return payload

    def call(self, *args):
        return self._post("/", list(args))["result"]

    def pipeline(self, commands: list[list[str]]) -> list:
        return [entry.get("result") for entry in self._post("/pipeline", commands)]

    def used_memory(self) -> int:
        return used_memory(self.call("INFO", "memory"))

    def stop(self) -> None:
        self.connection.close()
        self.process.terminate()
        self.process.wait(timeout=10)


def zipf_sequence(keys: int, exponent: float, count: int, seed: int) -> list[int]:
    weights = [1.0 / (rank ** exponent) for rank in range(1, keys + 1)]
    cumulative = list(itertools.accumulate(weights))
    rng = random.Random(seed)
    ranks = rng.choices(range(keys), cum_weights=cumulative, k=count)
    # Spread popularity over the key names so hot keys are not neighbours.
    names = list(range(keys))
    random.Random(seed + 1).shuffle(names)
    return [names[rank] for rank in ranks]


def key(index: int) -> str:
    return f"key:{index:07d}"


def run_one(server, policy: str, args, sequence: list[int]) -> dict:
    baseline = server.used_memory()
    for start in range(0, args.keys, args.batch):
        server.pipeline([["SET", key(i), VALUE] for i in range(start, min(start + args.batch, args.keys))])
    full = server.used_memory()
    data = full - baseline
    server.call("FLUSHALL")
    empty = server.used_memory()
    limit = empty + int(data * args.fraction)
    server.call("CONFIG", "SET", "maxmemory-policy", policy)
    server.call("CONFIG", "SET", "maxmemory", str(limit))

    warmup = int(len(sequence) * args.warmup)
    hits = lookups = 0
    started = time.monotonic()
    for start in range(0, len(sequence), args.batch):
        batch = sequence[start:start + args.batch]
        replies = server.pipeline([["GET", key(i)] for i in batch])
        misses = [i for i, reply in zip(batch, replies) if reply is None]
        if misses:
            server.pipeline([["SET", key(i), VALUE] for i in misses])
        if start >= warmup:
            lookups += len(batch)
            hits += len(batch) - len(misses)
    elapsed = time.monotonic() - started
    evicted = 0
    for line in server.call("INFO", "stats").splitlines():
        if line.startswith("evicted_keys:"):
            evicted = int(line.split(":", 1)[1])
    return {"server": server.name, "policy": policy, "hit_ratio": hits / max(lookups, 1), "data_bytes": data,
            "maxmemory": limit, "evicted": evicted, "seconds": elapsed}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keys", type=int, default=200_000)
    parser.add_argument("--ops", type=int, default=1_000_000, help="GETs in the replayed sequence")
    parser.add_argument("--zipf", type=float, default=1.0, help="Zipf exponent s")
    parser.add_argument("--fraction", type=float, default=0.2, help="maxmemory as a share of the data's size")
    parser.add_argument("--warmup", type=float, default=0.2, help="share of operations not counted")
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--policies", default="allkeys-lru,allkeys-lfu")
    parser.add_argument("--keyway-bin", type=Path,
                        default=Path(os.environ.get("KEYWAY_BIN", REPO / ".build" / "release" / "keyway")))
    args = parser.parse_args()
    if not (0 < args.fraction < 1 and 0 <= args.warmup < 1 and args.keys > 0 and args.ops > 0 and args.batch > 0):
        parser.error("need 0 < fraction < 1, 0 <= warmup < 1 and positive keys, ops and batch")

    sequence = zipf_sequence(args.keys, args.zipf, args.ops, args.seed)
    results = []
    for policy in args.policies.split(","):
        for make in (lambda d: KeywayServer(d, args.keyway_bin), RedisServer):
            workdir = Path(tempfile.mkdtemp(prefix="keyway-bench-"))
            server = None
            try:
                server = make(workdir)
                result = run_one(server, policy, args, sequence)
                results.append(result)
                print(f"{result['server']:7} {policy:12} hit ratio {result['hit_ratio']:.4f}  "
                      f"(data {result['data_bytes'] / 1e6:.1f} MB, maxmemory {result['maxmemory'] / 1e6:.1f} MB, "
                      f"evicted {result['evicted']}, {result['seconds']:.1f} s)", flush=True)
            finally:
                if server is not None:
                    server.stop()
                shutil.rmtree(workdir, ignore_errors=True)

    print(f"\n{args.keys} keys, {args.ops} GETs (Zipf s={args.zipf}, first {args.warmup:.0%} not counted), "
          f"maxmemory = {args.fraction:.0%} of the data\n")
    print("| policy | Keyway | Redis | difference (points) |")
    print("| --- | --- | --- | --- |")
    for policy in args.policies.split(","):
        mine = next(r for r in results if r["server"] == "keyway" and r["policy"] == policy)
        theirs = next(r for r in results if r["server"] == "redis" and r["policy"] == policy)
        print(f"| {policy} | {mine['hit_ratio']:.2%} | {theirs['hit_ratio']:.2%} | "
              f"{(mine['hit_ratio'] - theirs['hit_ratio']) * 100:+.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
