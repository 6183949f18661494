#!/usr/bin/env python3
"""What an idle SSE subscriber's memory is made of, by allocation site.

Runs `keyway serve` under heaptrack, opens SUBSCRIBERS subscriptions to one
channel with bench/sse_client (built here with cc), waits until they are
idle, then kills the server (SIGKILL) so that everything they hold is
still allocated, and reads heaptrack's list of unfreed allocations. Sites
allocating at least once per subscriber are printed per subscriber: bytes
asked of malloc, calls, and the glibc block those calls take (the request
plus 8 bytes, rounded up to 16, at least 32), which is what the heap
holds. heaptrack rounds its byte counts to 3-4 digits, so sizes are close,
not exact. libmicrohttpd's sites show as addresses in libmicrohttpd.so:
its connection pool (`client-header-buffer`), connection record, response
record and response headers. Needs heaptrack; one-off, not part of `make
bench`.

    KEYWAY_BIN=.build/release/keyway python3 bench/sse_allocations.py [SUBSCRIBERS]
"""

from __future__ import annotations

import collections
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

SUBSCRIBERS = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
HERE = os.path.dirname(os.path.abspath(__file__))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def size(text: str) -> float:
    m = re.match(r"([\d.]+)([KMG]?)", text)
    return float(m.group(1)) * {"": 1, "K": 1000, "M": 1e6, "G": 1e9}[m.group(2)]


def demangle(symbol: str) -> str:
    out = subprocess.run(["swift-demangle", "-simplified", "-compact", symbol], capture_output=True, text=True).stdout
    return (out.strip() or symbol)[:110]


def site(frames: list[str]) -> str:
    """The first frame that is Keyway's, or the library's own frames."""
    for frame in frames:
        if "Keyway" in frame:
            return demangle(frame.split(" ")[0])
    lib = "libmicrohttpd" if any("microhttpd" in f for f in frames) else "?"
    return f"{lib} {frames[0].split(' ')[0]}"


def main() -> None:
    binary = os.environ.get("KEYWAY_BIN", ".build/release/keyway")
    if shutil.which("heaptrack") is None:
        sys.exit("needs heaptrack")
    workdir = tempfile.mkdtemp(prefix="keyway-sse-alloc-")
    client_binary = os.path.join(workdir, "sse_client")
    subprocess.run(["cc", "-O2", "-o", client_binary, os.path.join(HERE, "sse_client", "sse_client.c")], check=True)
    port = free_port()
    output = os.path.join(workdir, "heap")
    tracker = subprocess.Popen(["heaptrack", "-o", output, binary, "serve", "--port", str(port), "--save", "",
                                "--max-connections", str(SUBSCRIBERS + 100), "--max-streams", str(SUBSCRIBERS + 100),
                                "--log-level", "warning"], cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    client = subprocess.Popen([client_binary, str(port), str(SUBSCRIBERS), "1"], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    assert client.stdout.readline().strip() == "ready", "the subscribers did not all subscribe"
    time.sleep(2.0)
    server = subprocess.run(["pgrep", "-P", str(tracker.pid)], capture_output=True, text=True).stdout.split()
    server_pid = next(int(p) for p in server if "serve" in open(f"/proc/{p}/cmdline").read())
    os.kill(server_pid, signal.SIGKILL)
    tracker.wait()
    client.kill()
    data = next(os.path.join(workdir, f) for f in os.listdir(workdir) if f.startswith("heap"))
    text = subprocess.run(["heaptrack_print", "-f", data, "--print-leaks", "1", "--print-peaks", "0",
                           "--print-allocators", "0", "--print-temporary", "0", "-n", "300", "-s", "300"],
                          capture_output=True, text=True).stdout.split("MEMORY LEAKS", 1)[1]
    # Sub-blocks: "<bytes> leaked over <n> calls from:" then one frame a line.
    blocks: list[list] = []
    for line in text.splitlines():
        m = re.match(r"^\s*(\S+) leaked over (\d+) calls from:$", line)
        if m:
            blocks.append([size(m.group(1)), int(m.group(2)), []])
        elif blocks and re.match(r"^ {4}\S", line):
            blocks[-1][2].append(line.strip())
        elif blocks and blocks[-1][2] and re.match(r"^ {6}in ", line):
            blocks[-1][2][-1] += " " + line.strip()
    sites = collections.defaultdict(lambda: [0.0, 0, 0.0])
    for total, calls, frames in blocks:
        # (heaptrack lists a few start-up sites with rounded-off sizes of 0)
        if calls < SUBSCRIBERS * 0.9 or total < calls or not frames:
            continue
        each = total / calls
        block = max(32, (int(round(each)) + 8 + 15) // 16 * 16)
        entry = sites[site(frames)]
        entry[0] += total
        entry[1] += calls
        entry[2] += block * calls
    asked = held = 0.0
    print(f"{SUBSCRIBERS} idle subscribers; per subscriber:")
    print(f"{'asked B':>8} {'calls':>6} {'held B':>7}  site")
    for name, (total, calls, blocks_bytes) in sorted(sites.items(), key=lambda kv: -kv[1][2]):
        print(f"{total / SUBSCRIBERS:8.0f} {calls / SUBSCRIBERS:6.2f} {blocks_bytes / SUBSCRIBERS:7.0f}  {name}")
        asked += total
        held += blocks_bytes
    print(f"{asked / SUBSCRIBERS:8.0f} {'':>6} {held / SUBSCRIBERS:7.0f}  total (tables that grow with the "
          "number of subscribers, such as dictionaries, not included)")
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
