#!/usr/bin/env python3
"""bench/instructions.py: instructions per request, Keyway beside the libmicrohttpd floor.

    make bench                                   # runs this among the others
    KEYWAY_BIN=.build/release/keyway python3 bench/instructions.py [REQUESTS]

Throughput on a 2-core machine shared with the load generator moves by
tenths between runs; the number of instructions a request costs does not.
This starts the floor (bench/floor/floor.c, as bench/floor.sh builds it) and
`keyway serve` each under valgrind's callgrind, sends every case a warm-up,
zeroes the counters, sends REQUESTS requests (default 20,000) over 8
keep-alive connections, and divides the instructions the server executed
(user space: every thread, libmicrohttpd included, the kernel not) by the
number of requests. Prints each case, its ratio to the floor, the
instructions above the floor, and the calls to Swift's retain and release
per request (atomic operations, dearer than their instruction count).

Two runs agree to within a few hundred instructions (timers and the
allocator's housekeeping). callgrind counts each byte of a `rep stos` as
an instruction: libmicrohttpd clears each connection's whole pool
between requests (7 KiB now; with the 36 KiB pool before, some 55,000 of
the floor's 62,000).
"""
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KEYWAY = os.environ.get("KEYWAY_BIN", os.path.join(REPO, ".build/release/keyway"))
FLOOR = os.path.join(REPO, ".build/bench-floor")
CONNECTIONS = 8
WARM_UP = 1000
# Swift's atomic reference counting: each call is a locked instruction,
# which costs far more than its count of instructions says.
REFCOUNT_CALLS = {"swift_retain", "swift_release", "swift_retain_n", "swift_release_n"}

KEY = "user:session:00000001"
VALUE = "v" * 40
BIG_KEY = "user:profile:cache:000000000001"
BIG_VALUE = "p" * 1000


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def request_bytes(method, path, body=b"", content_type=None):
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    if content_type:
        head += f"Content-Type: {content_type}\r\n"
    if body or method in ("POST", "PUT"):
        head += f"Content-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


class Connection:
    """One keep-alive connection that reads whole responses (Content-Length framed)."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def read_response(self):
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = int(re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head).group(1))
        while len(rest) < length:
            self.buffer = rest
            self._fill()
            rest = self.buffer
        self.buffer = rest[length:]
        return status

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buffer += chunk

    def close(self):
        self.sock.close()


def send(port, request, count):
    """Sends `count` copies of `request`, CONNECTIONS at a time, each answer checked."""
    connections = [Connection(port) for _ in range(CONNECTIONS)]
    sent = 0
    while sent < count:
        batch = connections[: min(CONNECTIONS, count - sent)]
        for connection in batch:
            connection.sock.sendall(request)
        for connection in batch:
            status = connection.read_response()
            if not 200 <= status < 300:
                raise RuntimeError(f"status {status} for {request[:60]!r}")
        sent += len(batch)
    for connection in connections:
        connection.close()


class Profiled:
    """A server running under callgrind, with counters zeroed and dumped on demand."""

    def __init__(self, argv, port, directory, cwd=None):
        self.port = port
        self.out = os.path.join(directory, f"callgrind.{port}")
        self.process = subprocess.Popen(
            ["valgrind", "--tool=callgrind", "--quiet", f"--callgrind-out-file={self.out}"] + argv,
            cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 120
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline or self.process.poll() is not None:
                    raise RuntimeError(f"{argv[0]} did not start under valgrind")
                time.sleep(0.2)
        self.dumps = 0

    def measure(self, request, count):
        """Instructions and reference-count operations per request."""
        send(self.port, request, WARM_UP)
        self._control("--zero")
        send(self.port, request, count)
        self._control("--dump")
        self.dumps += 1
        total, refcounts = None, 0
        names, callee = {}, None
        with open(f"{self.out}.{self.dumps}") as dump:
            for line in dump:
                if line.startswith(("summary:", "totals:")):
                    total = int(line.split()[1])
                elif line.startswith("cfn="):
                    # cfn=(id) name, the name only the first time an id appears.
                    ident, _, name = line[4:].strip().partition(" ")
                    if name:
                        names[ident] = name
                    callee = names.get(ident)
                elif line.startswith("fn="):
                    ident, _, name = line[3:].strip().partition(" ")
                    if name:
                        names[ident] = name
                elif line.startswith("calls=") and callee:
                    if callee in REFCOUNT_CALLS:
                        refcounts += int(line.split()[0][6:])
                    callee = None
        if total is None:
            raise RuntimeError("no totals in the callgrind dump")
        return total / count, refcounts / count

    def _control(self, action):
        subprocess.run(["callgrind_control", action, str(self.process.pid)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "libmicrohttpd"], check=True,
                           capture_output=True, text=True).stdout.split()
    subprocess.run(["cc", "-O2", "-Wall", "-o", FLOOR, os.path.join(REPO, "bench/floor/floor.c")] + flags, check=True)
    scratch = tempfile.mkdtemp()
    threads = str(os.cpu_count())
    servers = []
    try:
        floor_port = free_port()
        floor = Profiled([FLOOR, str(floor_port), threads], floor_port, scratch)
        servers.append(floor)
        # Valgrind 3.19 cannot read the DWARF 5 debug info Swift emits; the
        # symbol table is all callgrind needs.
        keyway_bin = os.path.join(scratch, "keyway")
        subprocess.run(["objcopy", "--strip-debug", KEYWAY, keyway_bin], check=True)
        keyway_port = free_port()
        keyway = Profiled([keyway_bin, "serve", "--port", str(keyway_port), "--save", "", "--log-level", "warning",
                           "--threads", threads], keyway_port, scratch, cwd=scratch)
        servers.append(keyway)
        put_body = ('{"value":"%s"}' % VALUE).encode()
        set_body = ('["SET","%s","%s"]' % (KEY, VALUE)).encode()
        send(keyway_port, request_bytes("PUT", f"/v1/keys/{KEY}", put_body, "application/json"), 1)
        # A larger value beside the usual one, as bench/floor.sh has.
        send(keyway_port, request_bytes("PUT", f"/v1/keys/{BIG_KEY}", ('{"value":"%s"}' % BIG_VALUE).encode(),
                                        "application/json"), 1)

        floor_cost, _ = floor.measure(request_bytes("GET", "/"), count)
        cases = [
            ("GET /healthz", request_bytes("GET", "/healthz")),
            ("GET /v1/keys/{key}", request_bytes("GET", f"/v1/keys/{KEY}")),
            ("GET /v1/keys/{31 B key} (1000 B)", request_bytes("GET", f"/v1/keys/{BIG_KEY}")),
            ("PUT /v1/keys/{key}", request_bytes("PUT", f"/v1/keys/{KEY}", put_body, "application/json")),
            ("GET /get/{key} (command API)", request_bytes("GET", f"/get/{KEY}")),
            ("POST / SET (command API)", request_bytes("POST", "/", set_body, "application/json")),
        ]
        print(f"{count} requests per case over {CONNECTIONS} keep-alive connections; user-space instructions "
              f"per request (callgrind), those above the floor, and Swift retain/release calls per request")
        print(f"{'case':<34} {'instr/req':>10} {'x floor':>8} {'above':>8} {'retain+release':>15}")
        print(f"{'libmicrohttpd floor':<34} {floor_cost:>10.0f} {1.0:>8.2f} {0:>8.0f} {0:>15.0f}")
        for name, request in cases:
            cost, refcounts = keyway.measure(request, count)
            print(f"{name:<34} {cost:>10.0f} {cost / floor_cost:>8.2f} {cost - floor_cost:>8.0f} {refcounts:>15.0f}", flush=True)
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
