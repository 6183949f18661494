#!/usr/bin/env python3
"""Fan-out of one published message to thousands of SSE subscribers.

Starts `keyway serve` (release build) on a free loopback port, opens
SUBSCRIBERS raw connections to `GET /v1/subscribe?channel=fanout`, measures
the server's resident memory before and after (per idle subscriber), then
publishes ROUNDS messages and records, for every subscriber, the time from
the PUBLISH request leaving to the message arriving. Prints p50/p99/max and
the RSS figures. Loopback only; bounded in count and time.

    KEYWAY_BIN=.build/release/keyway python3 bench/sse_fanout.py [SUBSCRIBERS] [ROUNDS]
"""

from __future__ import annotations

import asyncio
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

SUBSCRIBERS = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


async def subscriber(port: int, arrivals: dict, index: int, ready: asyncio.Event, counter: list) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /v1/subscribe?channel=fanout HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
    await writer.drain()
    buffer = b""
    subscribed = False
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                return
            now = time.perf_counter()
            buffer += data
            if not subscribed and b"event: subscribe" in buffer:
                subscribed = True
                counter[0] += 1
                if counter[0] == SUBSCRIBERS:
                    ready.set()
            while b'"message":"t' in buffer:
                start = buffer.index(b'"message":"t') + len(b'"message":"t')
                end = buffer.index(b'"', start)
                round_number = int(buffer[start:end].split(b"-")[0])
                arrivals.setdefault(round_number, []).append(now)
                buffer = buffer[end:]
    finally:
        writer.close()


def publish(port: int, round_number: int) -> tuple[float, int]:
    body = f'["PUBLISH","fanout","t{round_number}-x"]'.encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    sent = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as response:
        receivers = int(response.read().decode().split(":")[1].rstrip("}"))
    return sent, receivers


async def main() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    binary = os.environ.get("KEYWAY_BIN", ".build/release/keyway")
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="keyway-fanout-")
    server = subprocess.Popen([binary, "serve", "--port", str(port), "--max-streams", str(SUBSCRIBERS + 100),
                               "--log-level", "warning"], cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        time.sleep(0.2)
        rss_before = rss_kib(server.pid)
        arrivals: dict[int, list[float]] = {}
        ready = asyncio.Event()
        counter = [0]
        tasks = []
        for index in range(SUBSCRIBERS):
            tasks.append(asyncio.create_task(subscriber(port, arrivals, index, ready, counter)))
            if index % 500 == 499:
                await asyncio.sleep(0.05)
        await asyncio.wait_for(ready.wait(), timeout=120)
        await asyncio.sleep(1.0)
        rss_idle = rss_kib(server.pid)
        latencies = []
        delivered = 0
        for round_number in range(ROUNDS):
            sent, receivers = await asyncio.get_running_loop().run_in_executor(None, publish, port, round_number)
            deadline = time.perf_counter() + 30
            while len(arrivals.get(round_number, [])) < SUBSCRIBERS and time.perf_counter() < deadline:
                await asyncio.sleep(0.005)
            got = arrivals.get(round_number, [])
            delivered += len(got)
            latencies += [(t - sent) * 1000 for t in got]
            assert receivers == SUBSCRIBERS, f"PUBLISH reached {receivers} of {SUBSCRIBERS}"
            await asyncio.sleep(0.2)
        latencies.sort()
        p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]
        per_subscriber = (rss_idle - rss_before) * 1024 / SUBSCRIBERS
        print(f"subscribers {SUBSCRIBERS}, rounds {ROUNDS}, deliveries {delivered}/{SUBSCRIBERS * ROUNDS}")
        print(f"publish-to-receive ms: p50 {p(0.50):.1f}  p99 {p(0.99):.1f}  max {latencies[-1]:.1f}  mean {statistics.mean(latencies):.1f}")
        print(f"server RSS: {rss_before} KiB before, {rss_idle} KiB with all subscribed idle: "
              f"{per_subscriber / 1024:.1f} KiB per idle subscriber")
        for task in tasks:
            task.cancel()
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    asyncio.run(main())
