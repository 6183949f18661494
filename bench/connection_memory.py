#!/usr/bin/env python3
"""Memory held for connections, and whether it comes back when they close.

Starts `keyway serve` (release build) on a free loopback port and records
its resident memory (RSS): at rest, with CONNECTIONS connections open that
each made one authenticated request, and a few seconds after they all
closed. Then the same again (a second wave), which shows whether memory
freed by the first wave is reused or given back. Loopback only; bounded
in count and time. Then, as the reference, redis-server (if installed)
with the same number of connections that each sent one PING.

    KEYWAY_BIN=.build/release/keyway python3 bench/connection_memory.py [CONNECTIONS]
"""

from __future__ import annotations

import asyncio
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

CONNECTIONS = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
TOKEN = "bench-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def open_and_request(port: int, request: bytes, sem: asyncio.Semaphore):
    async with sem:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request)
        await writer.drain()
        header = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in header.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        await reader.readexactly(length)
        return writer


async def wave(port: int, count: int, pid: int) -> tuple[int, int]:
    request = (f"GET /v1/keys/user:session:00000001 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               f"Authorization: Bearer {TOKEN}\r\n\r\n").encode()
    sem = asyncio.Semaphore(500)
    writers = await asyncio.gather(*(open_and_request(port, request, sem) for _ in range(count)))
    await asyncio.sleep(1)
    during = rss_kib(pid)
    for writer in writers:
        writer.close()
    await asyncio.gather(*(writer.wait_closed() for writer in writers), return_exceptions=True)
    await asyncio.sleep(4)
    after = rss_kib(pid)
    return during, after


async def redis_wave(port: int, count: int, pid: int) -> int:
    async def one(sem):
        async with sem:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"*1\r\n$4\r\nPING\r\n")
            await writer.drain()
            await reader.readuntil(b"\r\n")
            return writer
    sem = asyncio.Semaphore(500)
    writers = await asyncio.gather(*(one(sem) for _ in range(count)))
    await asyncio.sleep(1)
    during = rss_kib(pid)
    for writer in writers:
        writer.close()
    return during


def redis_reference() -> None:
    """redis-server's memory per idle connection, measured the same way."""
    import shutil
    binary = shutil.which("redis-server")
    if binary is None:
        print("redis-server not installed: no reference")
        return
    port = free_port()
    redis = subprocess.Popen([binary, "--port", str(port), "--save", "", "--appendonly", "no",
                              "--maxclients", str(CONNECTIONS + 1000)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1)
        rest = rss_kib(redis.pid)
        during = asyncio.run(redis_wave(port, CONNECTIONS, redis.pid))
        print(f"redis-server: RSS at rest {rest / 1024:.1f} MiB, with {CONNECTIONS} connections open "
              f"{during / 1024:.1f} MiB ({(during - rest) * 1024 / CONNECTIONS:,.0f} B per connection)")
    finally:
        redis.terminate()
        redis.wait(timeout=10)


def main() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, CONNECTIONS + 1024)), hard))
    binary = os.path.abspath(os.environ.get("KEYWAY_BIN", ".build/release/keyway"))
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="keyway-bench-")
    server = subprocess.Popen([binary, "serve", "--port", str(port), "--token", TOKEN, "--save", "",
                               "--max-connections", str(CONNECTIONS + 1000), "--log-level", "warning"],
                              cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1)
                break
            except Exception:
                time.sleep(0.1)
        time.sleep(0.5)
        rest = rss_kib(server.pid)
        first_during, first_after = asyncio.run(wave(port, CONNECTIONS, server.pid))
        second_during, second_after = asyncio.run(wave(port, CONNECTIONS, server.pid))
        per = lambda kib: kib * 1024 / CONNECTIONS
        print(f"connections per wave: {CONNECTIONS}")
        print(f"RSS at rest:                 {rest / 1024:8.1f} MiB")
        print(f"RSS with wave 1 open:        {first_during / 1024:8.1f} MiB  ({per(first_during - rest):,.0f} B per connection)")
        print(f"RSS after wave 1 closed:     {first_after / 1024:8.1f} MiB  ({per(first_after - rest):,.0f} B per connection kept)")
        print(f"RSS with wave 2 open:        {second_during / 1024:8.1f} MiB")
        print(f"RSS after wave 2 closed:     {second_after / 1024:8.1f} MiB  ({(second_after - rest) / 1024:.1f} MiB over rest)")
    finally:
        server.terminate()
        server.wait(timeout=10)
    redis_reference()


if __name__ == "__main__":
    main()
