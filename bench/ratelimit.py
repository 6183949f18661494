#!/usr/bin/env python3
"""What the gateway's rate limit costs a request.

Starts two `keyway serve` processes on free loopback ports, one plain and one
with `--rate-limit` (a limit high enough that nothing is refused, so every
request pays for the check and still gets its 200), seeds the same key in
both, and then alternates short wrk runs of `GET /v1/keys/bench:key` (-t1
-c64, keep-alive) against one and the other, ROUNDS times. Alternating short
runs keeps the two sides under the same machine load; the noise on a shared
machine is larger than the effect. For each run it records req/s and the
server's CPU time per request (utime + stime from /proc, which other load on
the machine disturbs far less than throughput). Prints each round and the
medians of the with/without ratios. Both servers run with `save ""`: with
the limit on every request writes its counter, which would otherwise
trigger background snapshots mid-run. Loopback only; bounded in time.

    KEYWAY_BIN=.build/release/keyway python3 bench/ratelimit.py [ROUNDS] [SECONDS]
"""

from __future__ import annotations

import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 8
SECONDS = int(sys.argv[2]) if len(sys.argv) > 2 else 2
PATH = "/v1/keys/bench:key"
LIMIT = "1000000000/60"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)


def start(binary: str, workdir: str, extra: list[str]) -> tuple[subprocess.Popen, str]:
    port = free_port()
    config = os.path.join(workdir, "bench.conf")
    with open(config, "w") as f:
        f.write('save ""\n')
    proc = subprocess.Popen([binary, "serve", "--port", str(port), "--config", config, *extra],
                            cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={k: v for k, v in os.environ.items() if k != "KEYWAY_TOKEN"})
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1).read()
            break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        sys.exit(f"bench: {binary} did not start")
    request = urllib.request.Request(base + PATH, data=b'{"value":"hello"}', method="PUT",
                                     headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=5).read()
    return proc, base


def run_wrk(base: str, pid: int) -> tuple[float, float]:
    """One wrk run: (req/s, server CPU microseconds per request)."""
    ticks = cpu_ticks(pid)
    out = subprocess.run(["wrk", "-t1", "-c64", f"-d{SECONDS}s", base + PATH],
                         capture_output=True, text=True, timeout=SECONDS + 30).stdout
    used = cpu_ticks(pid) - ticks
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    if "Non-2xx" in out:
        sys.exit("bench: some requests were not answered 2xx:\n" + out)
    return rate, used / os.sysconf("SC_CLK_TCK") * 1e6 / max(requests, 1)


def main() -> None:
    binary = os.path.abspath(os.environ.get("KEYWAY_BIN", ".build/release/keyway"))
    with tempfile.TemporaryDirectory() as plain_dir, tempfile.TemporaryDirectory() as limited_dir:
        plain, plain_url = start(binary, plain_dir, [])
        limited, limited_url = start(binary, limited_dir, ["--rate-limit", LIMIT])
        try:
            run_wrk(plain_url, plain.pid)  # warm-up, not reported
            run_wrk(limited_url, limited.pid)
            rate_ratios, cpu_ratios = [], []
            print(f"GET {PATH}, wrk -t1 -c64 -d{SECONDS}s, alternating; --rate-limit {LIMIT} on the second server")
            print("| round | req/s without | req/s with | with/without | CPU µs/req without | with | with/without |")
            print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
            for i in range(1, ROUNDS + 1):
                order = [(plain_url, plain.pid), (limited_url, limited.pid)]
                if i % 2 == 0:
                    order.reverse()  # neither side always goes first
                results = {url: run_wrk(url, pid) for url, pid in order}
                (r0, c0), (r1, c1) = results[plain_url], results[limited_url]
                rate_ratios.append(r1 / r0)
                cpu_ratios.append(c1 / c0)
                print(f"| {i} | {r0:,.0f} | {r1:,.0f} | {r1 / r0:.2f} | {c0:.1f} | {c1:.1f} | {c1 / c0:.2f} |", flush=True)
            print(f"\nmedian req/s with/without: {statistics.median(rate_ratios):.2f}; "
                  f"median CPU per request with/without: {statistics.median(cpu_ratios):.2f}")
        finally:
            for proc in (plain, limited):
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()


if __name__ == "__main__":
    main()
