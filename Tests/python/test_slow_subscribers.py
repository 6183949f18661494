"""Subscribers that do not read must not take the server's memory: Redis's
client-output-buffer-limit pubsub (hard and soft) per event stream, and a
total over all of them. A cut consumer-group stream loses nothing: its
entries stay pending and come back first when it reconnects."""

from __future__ import annotations

import json
import socket
import time

import requests

from conftest import TOKEN, closed_by_server, rss_mib, start_server, wait_until

MIB = 1024 * 1024


def cmd(server, *words):
    r = requests.post(server.url + "/", json=list(words), headers=server.auth, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["result"]


def info_clients(server):
    text = cmd(server, "INFO", "clients")
    return {k: int(v) for k, v in (line.split(":", 1) for line in text.splitlines() if ":" in line) if v.strip().lstrip("-").isdigit()}




def stalled_reader(port, path):
    """Opens an event stream and never reads it (a tiny receive buffer, so
    the server's queue for it grows at once)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port))
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {TOKEN}\r\nAccept: text/event-stream\r\n\r\n".encode())
    return s






def test_fifty_stalled_subscribers_are_cut_at_the_total_and_readers_keep_up():
    server = start_server()
    stalled = []
    try:
        for _ in range(50):
            stalled.append(stalled_reader(server.port, "/v1/subscribe?channel=news"))
        reader = requests.get(server.url + "/v1/subscribe?channel=news", headers=server.auth, stream=True, timeout=60)
        assert reader.status_code == 200
        lines = reader.iter_lines(chunk_size=1 << 16)
        wait_until(lambda: cmd(server, "PUBSUB", "NUMSUB", "news")[1] == 51, what="51 subscribers")
        before = rss_mib(server.process.pid)
        received = 0
        for i in range(12):
            assert cmd(server, "PUBLISH", "news", str(i) * MIB) >= 1
            # The reader keeps up: it gets every message.
            for line in lines:
                if line.startswith(b"data:") and b'"message"' in line[:200]:
                    message = json.loads(line[5:])
                    assert message["message"] == str(i) * MIB
                    received += 1
                    break
        assert received == 12
        grown = rss_mib(server.process.pid) - before
        # Without limits: 50 x 12 MiB queued. The total (128 MB) bounds it.
        assert grown < 200, f"RSS grew {grown:.0f} MiB"
        clients = info_clients(server)
        assert clients["client_output_buffer_limit_disconnections"] >= 25, clients
        assert clients["pubsub_output_buffer_bytes"] <= 128 * MIB + 12 * MIB, clients
        cut = sum(1 for s in stalled if closed_by_server(s, 5.0))
        assert cut >= 25
        reader.close()
    finally:
        for s in stalled:
            s.close()
        server.cleanup()


def test_hard_and_soft_limits_cut_one_stalled_subscriber():
    # The kernel takes a few MB of a stalled socket's data itself (tcp_wmem),
    # so the amounts below are well past what it can absorb.
    server = start_server("--client-output-buffer-limit", "pubsub 16mb 1mb 1")
    try:
        hard = stalled_reader(server.port, "/v1/subscribe?channel=a")
        soft = stalled_reader(server.port, "/v1/subscribe?channel=b")
        wait_until(lambda: cmd(server, "PUBSUB", "NUMSUB", "a", "b") == ["a", 1, "b", 1], what="subscribers")
        # Hard: past 16 MB at once.
        for _ in range(24):
            cmd(server, "PUBLISH", "a", "x" * MIB)
        assert closed_by_server(hard, 10.0)
        # Soft: above 1 MB, still there more than a second later.
        cmd(server, "PUBLISH", "b", "y" * 6 * MIB)
        assert cmd(server, "PUBSUB", "NUMSUB", "b") == ["b", 1]
        time.sleep(1.5)
        cmd(server, "PUBLISH", "b", "y")
        assert closed_by_server(soft, 10.0)
        wait_until(lambda: cmd(server, "PUBSUB", "NUMSUB", "a", "b") == ["a", 0, "b", 0], what="both unsubscribed")
        assert info_clients(server)["client_output_buffer_limit_disconnections"] == 2
        assert info_clients(server)["pubsub_output_buffer_bytes"] == 0
    finally:
        server.cleanup()


def test_a_cut_consumer_group_stream_gets_its_pending_entries_back():
    server = start_server("--client-output-buffer-limit", "pubsub 2mb 0 0")
    try:
        cmd(server, "XGROUP", "CREATE", "jobs", "workers", "$", "MKSTREAM")
        slow = stalled_reader(server.port, "/v1/streams/jobs/groups/workers/events?consumer=w1")
        wait_until(lambda: cmd(server, "XINFO", "CONSUMERS", "jobs", "workers") != [], what="the consumer")
        ids = [cmd(server, "XADD", "jobs", "*", "payload", str(i) * (MIB // 2)) for i in range(16)]
        assert closed_by_server(slow, 10.0)
        pending = cmd(server, "XPENDING", "jobs", "workers")
        assert pending[0] >= 1
        # Reconnecting, the same consumer is handed its pending entries first,
        # a batch of `count` at a time, each once the reader took the last:
        # 8 MB of history does not pass the 2 MB limit of a reader that reads.
        again = requests.get(server.url + "/v1/streams/jobs/groups/workers/events?consumer=w1&count=1",
                             headers=server.auth, stream=True, timeout=30)
        seen = []
        for line in again.iter_lines(chunk_size=1 << 16):
            if line.startswith(b"id:"):
                seen.append(line[3:].strip().decode())
                if len(seen) == len(ids):
                    break
        again.close()
        assert seen == ids
    finally:
        server.cleanup()


def test_output_buffer_limit_values_are_checked_at_start():
    """Out-of-range values stop the server with the setting named, instead
    of overflowing later when a stream's soft limit is timed."""
    import subprocess

    from conftest import require_keyway_bin

    for value in ["pubsub 1mb 1mb 9999999999999999", "pubsub -1 0 0", "pubsub 1mb", "queue 1mb 1mb 1"]:
        result = subprocess.run([str(require_keyway_bin()), "serve", "--port", "0", "--client-output-buffer-limit", value],
                                capture_output=True, text=True, timeout=30)
        assert result.returncode != 0, value
        assert "client-output-buffer-limit" in result.stdout + result.stderr, (value, result.stdout, result.stderr)
