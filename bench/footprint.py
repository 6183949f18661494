#!/usr/bin/env python3
"""Resident memory of an idle server, beside redis-server.

Starts `keyway serve` (release build, no data, no snapshots) on a free
loopback port, makes one request, waits, and prints VmRSS split into
anonymous and file-backed memory (/proc/PID/status) and the file-backed
mappings that hold the most (/proc/PID/smaps); then the same for an idle
redis-server if one is installed. Loopback only.

Then what linking costs by itself: three Swift programs that print and
sleep, built with `swiftc -O` (the same toolchain as Keyway), one linked
only with the Swift runtime, one importing FoundationEssentials and one
importing Foundation, each making one `Date` (a module nothing uses is
not linked). The difference between
them is the floor any Swift server linked with Foundation starts from.

    KEYWAY_BIN=.build/release/keyway python3 bench/footprint.py
"""

from __future__ import annotations

import collections
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def status(pid: int) -> dict[str, int]:
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "RssAnon", "RssFile", "Threads"):
                fields[name] = int(value.split()[0])
    return fields


def file_mappings(pid: int) -> list[tuple[int, str]]:
    totals: dict[str, int] = collections.Counter()
    name = None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            head = line.split()
            if "-" in head[0] and len(head) >= 5 and ":" in head[3]:
                name = head[5] if len(head) > 5 and head[5].startswith("/") else None
            elif head[0] == "Rss:" and name:
                totals[os.path.basename(name)] += int(head[1])
    return sorted(((kib, n) for n, kib in totals.items()), reverse=True)


def report(label: str, pid: int) -> None:
    fields = status(pid)
    print(f"{label}: VmRSS {fields['VmRSS'] / 1024:.1f} MiB, anonymous {fields['RssAnon'] / 1024:.1f} MiB, "
          f"file-backed {fields['RssFile'] / 1024:.1f} MiB, {fields['Threads']} threads")
    for kib, name in file_mappings(pid)[:10]:
        print(f"    {kib / 1024:5.1f} MiB  {name}")


LINKING_PROGRAMS = {
    "Swift runtime only": "import Glibc\n",
    "FoundationEssentials": "import FoundationEssentials\nimport Glibc\nprint(Date() > Date.distantPast)\n",
    "Foundation": "import Foundation\nprint(Date() > Date.distantPast)\n",
}
PROGRAM_BODY = 'print("ready")\nfflush(stdout)\nsleep(30)\n'


def linking_floor() -> None:
    """RSS of idle programs that differ only in what they import."""
    swiftc = shutil.which("swiftc")
    if not swiftc:
        print("linking floor: swiftc not found, skipped")
        return
    scratch = tempfile.mkdtemp(prefix="keyway-footprint-link-")
    for label, imports in LINKING_PROGRAMS.items():
        source = os.path.join(scratch, "main.swift")
        with open(source, "w") as f:
            f.write(imports + PROGRAM_BODY)
        # Not named after the module it imports: the output's name is the
        # program's module name.
        program = os.path.join(scratch, "idle_" + label.replace(" ", "_"))
        subprocess.run([swiftc, "-O", source, "-o", program], check=True, capture_output=True)
        process = subprocess.Popen([program], stdout=subprocess.PIPE)
        try:
            while process.stdout.readline().strip() != b"ready":
                pass
            time.sleep(1)
            report(f"a Swift program linked with {label}", process.pid)
        finally:
            process.kill()
            process.wait(timeout=10)


def main() -> None:
    binary = os.path.abspath(os.environ.get("KEYWAY_BIN", ".build/release/keyway"))
    port = free_port()
    server = subprocess.Popen([binary, "serve", "--port", str(port), "--save", "", "--log-level", "warning"],
                              cwd=tempfile.mkdtemp(prefix="keyway-footprint-"), stdout=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        time.sleep(2)
        report("keyway", server.pid)
    finally:
        server.terminate()
        server.wait(timeout=10)
    redis_binary = shutil.which("redis-server")
    if redis_binary:
        port = free_port()
        redis = subprocess.Popen([redis_binary, "--port", str(port), "--save", "", "--appendonly", "no"],
                                 stdout=subprocess.DEVNULL)
        try:
            time.sleep(1)
            with socket.create_connection(("127.0.0.1", port)) as s:
                s.sendall(b"*1\r\n$4\r\nPING\r\n")
                s.recv(64)
            time.sleep(1)
            report("redis-server", redis.pid)
        finally:
            redis.terminate()
            redis.wait(timeout=10)
    linking_floor()


if __name__ == "__main__":
    main()
