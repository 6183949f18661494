#!/usr/bin/env python3
"""Fan-out of one published message to thousands of SSE subscribers.

Starts `keyway serve` (release build) on a free loopback port, opens
SUBSCRIBERS connections to `GET /v1/subscribe?channel=fanout` from a small
C client (bench/sse_client/sse_client.c, built here with cc: one Python
process reading 20,000 sockets in turn took longer than the server did),
measures the server's resident memory before and after (per idle
subscriber), then publishes ROUNDS messages and records, for every
subscriber, the time from the PUBLISH request leaving to the message
arriving (both clocks CLOCK_MONOTONIC). Prints p50/p99/max and the RSS
figures (also once idle again after all but the last message). Loopback only; bounded in count and time.

    KEYWAY_BIN=.build/release/keyway python3 bench/sse_fanout.py [SUBSCRIBERS] [ROUNDS]

SUBSCRIBERS is capped 200 below the hard limit on open files (a process
without CAP_SYS_RESOURCE cannot raise it), and says so.
"""

from __future__ import annotations

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
HERE = os.path.dirname(os.path.abspath(__file__))


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


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used: unlike wall-clock
    latency, not inflated when other work shares the machine."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def build_client(workdir: str) -> str:
    binary = os.path.join(workdir, "sse_client")
    subprocess.run(["cc", "-O2", "-o", binary, os.path.join(HERE, "sse_client", "sse_client.c")], check=True)
    return binary


def publish(port: int, round_number: int) -> tuple[float, int]:
    body = f'["PUBLISH","fanout","t{round_number}-x"]'.encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    sent = time.monotonic()
    with urllib.request.urlopen(request, timeout=30) as response:
        receivers = int(response.read().decode().split(":")[1].rstrip("}"))
    return sent, receivers


def main() -> None:
    global SUBSCRIBERS
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    # The server and the client each hold one descriptor per subscriber,
    # and neither may go past a hard limit it cannot raise.
    if hard != resource.RLIM_INFINITY and SUBSCRIBERS > hard - 200:
        print(f"{SUBSCRIBERS} subscribers asked for, {hard - 200} measured: the hard limit on open files is {hard}")
        SUBSCRIBERS = hard - 200
    binary = os.environ.get("KEYWAY_BIN", ".build/release/keyway")
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="keyway-fanout-")
    client_binary = build_client(workdir)
    # The server raises its own open-file limit to fit max-connections.
    server = subprocess.Popen([binary, "serve", "--port", str(port), "--save", "",
                               "--max-connections", str(SUBSCRIBERS + 100), "--max-streams", str(SUBSCRIBERS + 100),
                               "--log-level", "warning"], cwd=workdir, stdout=subprocess.DEVNULL)
    client = None
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        time.sleep(0.5)
        rss_before = rss_kib(server.pid)
        client = subprocess.Popen([client_binary, str(port), str(SUBSCRIBERS), str(ROUNDS)],
                                  stdout=subprocess.PIPE, text=True, bufsize=1)
        assert client.stdout.readline().strip() == "ready", "the subscribers did not all subscribe"
        time.sleep(2.0)
        rss_idle = rss_kib(server.pid)
        sent_at = {}
        arrivals: dict[int, list[float]] = {}
        cpu_before = cpu_seconds(server.pid)
        for round_number in range(ROUNDS):
            sent, receivers = publish(port, round_number)
            sent_at[round_number] = sent
            assert receivers == SUBSCRIBERS, f"PUBLISH reached {receivers} of {SUBSCRIBERS}"
            for line in client.stdout:
                parts = line.split()
                if parts[0] == "ARRIVAL":
                    arrivals.setdefault(int(parts[1]), []).append(float(parts[2]))
                elif parts[0] == "complete" and int(parts[1]) == round_number:
                    break
            time.sleep(0.2)
            if round_number == ROUNDS - 2:
                # Idle again, every subscriber still open (the client leaves
                # after the last round): what one holds once it has
                # received messages.
                rss_after = rss_kib(server.pid)
        cpu_used = cpu_seconds(server.pid) - cpu_before
        latencies = sorted((t - sent_at[r]) * 1000 for r, times in arrivals.items() for t in times)
        delivered = len(latencies)
        p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]
        per_subscriber = (rss_idle - rss_before) * 1024 / SUBSCRIBERS
        print(f"subscribers {SUBSCRIBERS}, rounds {ROUNDS}, deliveries {delivered}/{SUBSCRIBERS * ROUNDS}")
        print(f"publish-to-receive ms: p50 {p(0.50):.1f}  p99 {p(0.99):.1f}  max {latencies[-1]:.1f}  mean {statistics.mean(latencies):.1f}")
        print(f"server CPU: {cpu_used / ROUNDS * 1000:.0f} ms per published message "
              f"({cpu_used / ROUNDS / SUBSCRIBERS * 1e6:.1f} us per delivery)")
        print(f"server RSS: {rss_before} KiB before, {rss_idle} KiB with all subscribed idle: "
              f"{per_subscriber / 1024:.1f} KiB ({per_subscriber:.0f} B) per idle subscriber")
        if ROUNDS >= 2:
            print(f"server RSS idle after {ROUNDS - 1} messages: {rss_after} KiB: "
                  f"{(rss_after - rss_before) * 1024 / SUBSCRIBERS:.0f} B per subscriber")
    finally:
        if client is not None:
            client.kill()
            client.wait()
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
