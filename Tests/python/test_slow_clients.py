"""Slow and hostile clients must not lock out the others: read deadlines
for headers and bodies (slowloris), room made for newcomers by pushing out
connections that never authenticated, and a per-address cap.

Linux routes all of 127.0.0.0/8 to the loopback interface, so an "attacker"
on 127.0.0.1 and a legitimate client on 127.0.0.2 are two addresses here.
"""

from __future__ import annotations

import http.client
import json
import socket
import statistics
import threading
import time

import requests

from conftest import TOKEN, closed_by_server, rss_mib, start_server

LEGITIMATE = "127.0.0.2"


def info_field(server, name):
    text = requests.post(server.url + "/", json=["INFO", "clients"], headers=server.auth, timeout=10).json()["result"]
    for line in text.splitlines():
        if line.startswith(name + ":"):
            return int(line.split(":", 1)[1])
    raise AssertionError(f"{name} not in INFO clients")


def slow_socket(port, source="127.0.0.1"):
    """A socket that has sent the start of a request and nothing more."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0))
    s.sendall(b"GET /v1/keys/x HTTP/1.1\r\nHost: localhost\r\n")
    return s




def client_list(port):
    """CLIENT LIST's lines, asked from the legitimate address; None where
    CLIENT is refused (a cluster gateway: it is per node there)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(LEGITIMATE, 0))
    connection.request("POST", "/", body=json.dumps(["CLIENT", "LIST"]),
                       headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    reply = json.loads(connection.getresponse().read())
    connection.close()
    return reply["result"].splitlines() if "result" in reply else None


def timed_request(port, path="/v1/keys/k"):
    """One request on a new connection from the legitimate address."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(LEGITIMATE, 0))
    started = time.perf_counter()
    connection.request("GET", path, headers={"Authorization": f"Bearer {TOKEN}"})
    response = connection.getresponse()
    response.read()
    elapsed = time.perf_counter() - started
    connection.close()
    return response.status, elapsed


def test_a_slowloris_flood_does_not_lock_out_a_client_with_a_token():
    server = start_server("--max-connections", "300")
    stop = threading.Event()
    sockets = []
    try:
        assert requests.post(server.url + "/", json=["SET", "k", "v"], headers=server.auth, timeout=10).status_code == 200
        for _ in range(300):
            sockets.append(slow_socket(server.port))

        def attack():
            # One more header line per socket every half second; a socket
            # the server closed is replaced at once, keeping the pool full.
            while not stop.is_set():
                for index, s in enumerate(sockets):
                    try:
                        s.sendall(b"X-Slow: 1\r\n")
                    except OSError:
                        try:
                            s.close()
                            sockets[index] = slow_socket(server.port)
                        except OSError:
                            pass
                stop.wait(0.5)

        attacker = threading.Thread(target=attack, daemon=True)
        attacker.start()
        time.sleep(1.0)
        results = [timed_request(server.port) for _ in range(200)]
        statuses = {status for status, _ in results}
        durations = sorted(elapsed for _, elapsed in results)
        p99 = durations[int(len(durations) * 0.99) - 1]
        assert statuses == {200}, statuses
        assert p99 < 0.1, f"p99 {p99 * 1000:.1f} ms, median {statistics.median(durations) * 1000:.1f} ms"
        assert info_field(server, "connections_evicted") >= 1  # the pool was full: room was made
    finally:
        stop.set()
        for s in sockets:
            s.close()
        server.cleanup()


def test_headers_and_bodies_have_deadlines_idle_keep_alive_does_not():
    server = start_server("--client-header-timeout", "1000", "--client-body-timeout", "1000")
    try:
        # Headers dribbled a line at a time: closed after the deadline,
        # although each line comes well within the idle timeout.
        dribbler = slow_socket(server.port)
        # A body that never completes.
        body = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        body.sendall(b"PUT /v1/keys/b HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " + TOKEN.encode()
                     + b"\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"value\":")
        # A keep-alive connection that answered a request and idles.
        idle = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        idle.request("GET", "/v1/keys/k", headers={"Authorization": f"Bearer {TOKEN}"})
        assert idle.getresponse().read() is not None
        # A keep-alive connection that then starts a request it never finishes.
        second = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        second.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert b"200" in second.recv(4096)
        time.sleep(0.2)
        second.sendall(b"GET /healthz HTTP/1.1\r\n")

        started = time.monotonic()
        for _ in range(6):
            time.sleep(0.4)
            for s in (dribbler, second):
                try:
                    s.sendall(b"X-Slow: 1\r\n")
                except OSError:
                    pass
        assert closed_by_server(dribbler, 2.0)
        assert closed_by_server(body, 2.0)
        assert closed_by_server(second, 2.0)
        assert time.monotonic() - started < 6.0
        # The idle one is still served.
        idle.request("GET", "/v1/keys/k", headers={"Authorization": f"Bearer {TOKEN}"})
        assert idle.getresponse().status == 404
        assert info_field(server, "slow_clients_closed") >= 3
    finally:
        server.cleanup()


def test_one_address_cannot_hold_more_than_its_cap():
    server = start_server("--max-connections-per-address", "5")
    held = []
    try:
        # The start-up probes came from 127.0.0.1 too: wait until the server
        # has let their connections go, or one of them counts against the cap.
        deadline = time.time() + 10
        while time.time() < deadline:
            lines = client_list(server.port)
            if lines is None:
                time.sleep(0.2)  # no CLIENT LIST to ask: the probes closed their connections
                break
            if not any(" addr=127.0.0.1:" in f" {line}" for line in lines):
                break
            time.sleep(0.05)
        for _ in range(5):
            connection = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            # Answered, so counted: the server's threads accept in parallel,
            # and a connection not yet counted could let the extra one in.
            connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
            assert connection.recv(4096).startswith(b"HTTP/1.1 200")
            held.append(connection)
        extra = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        extra.settimeout(5)
        try:
            answer = extra.recv(4096)
        except OSError:
            answer = b""
        assert answer == b"", answer
        status, _ = timed_request(server.port, "/healthz")
        assert status == 200
    finally:
        for s in held:
            s.close()
        server.cleanup()




def test_memory_of_closed_connections_is_given_back():
    """Each connection holds a buffer pool (7 KiB, from malloc); once 6,000
    connections that made one request each have closed, the server's
    resident memory is back near where it started: the allocator kept the
    pools of closed connections for good until they were trimmed."""
    import asyncio
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 8192)), hard))
    server = start_server("--max-connections", "7000")
    try:
        request = (f"GET /v1/keys/k HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n\r\n").encode()

        async def one(sem):
            async with sem:
                reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
                writer.write(request)
                await writer.drain()
                await reader.readuntil(b"\r\n\r\n")
                return writer

        async def wave():
            sem = asyncio.Semaphore(300)
            writers = await asyncio.gather(*(one(sem) for _ in range(6000)))
            during = rss_mib(server.process.pid)
            for writer in writers:
                writer.close()
            await asyncio.gather(*(w.wait_closed() for w in writers), return_exceptions=True)
            return during

        before = rss_mib(server.process.pid)
        during = asyncio.run(wave())
        assert during - before > 30, f"{before:.0f} -> {during:.0f} MiB: 6,000 open connections should hold some 45 MB"
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and rss_mib(server.process.pid) - before > 10:
            time.sleep(0.2)
        after = rss_mib(server.process.pid)
        assert after - before <= 10, f"RSS {before:.0f} MiB at rest, {during:.0f} with 6,000 connections, {after:.0f} after they closed"
    finally:
        server.cleanup()
