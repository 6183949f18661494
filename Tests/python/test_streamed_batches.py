"""Big batch replies stream out while the batch runs.

A /pipeline or /multi-exec body above 64 KiB runs on a worker thread; once
more than 64 KiB of results are ready, the reply goes out chunked, piece by
piece, and the worker waits while the client is behind (so the reply's
memory is bounded). These tests drive it over real sockets: identical JSON
to the built-whole reply, the batch pausing while the client does not read,
a client leaving mid-reply, and `appendfsync always` releasing only what is
on disk.
"""

import json
import resource
import socket
import time

import pytest
import requests

from conftest import start_server, wait_until


def post_raw(port, token, path, body, rcvbuf=None):
    """Sends a POST and returns the connected socket, reply unread."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(120)
    sock.connect(("127.0.0.1", port))
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    sock.sendall(head + body)
    return sock


def read_head(sock):
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = sock.recv(65536)
        assert chunk, "connection closed before the reply's head"
        received += chunk
    head, rest = received.split(b"\r\n\r\n", 1)
    return head.decode("latin-1"), rest


def dechunk(data):
    """The body of a complete chunked message."""
    body = b""
    while True:
        line, data = data.split(b"\r\n", 1)
        size = int(line.split(b";")[0], 16)
        if size == 0:
            return body
        body += data[:size]
        data = data[size + 2:]


def read_all(sock):
    data = b""
    while not data.endswith(b"0\r\n\r\n"):
        chunk = sock.recv(1 << 20)
        assert chunk, "connection closed before the reply's end"
        data += chunk
    return data


def counter(server, key):
    return int(server.command("GET", key).json()["result"] or 0)


def test_streamed_pipeline_reply_is_the_built_whole_reply(server):
    # The same mixed commands as one big (streamed) batch and as small
    # batches answered in one buffer give the same JSON, byte for byte.
    commands = []
    for i in range(4_000):
        commands += [["SET", f"s:{i}", f"value-{i}"], ["GET", f"s:{i}"], ["INCR", "s:n"], ["LPUSH", f"s:{i}", "x"],
                     ["HSET", f"h:{i}", "a", "1", "b", "é\u0000"], ["HGETALL", f"h:{i}"], ["GET", "nosuchkey"],
                     ["INCRBYFLOAT", "s:f", "0.5"]]
    server.command("FLUSHALL")
    r = requests.post(server.url + "/pipeline", json=commands, headers=server.auth, timeout=120)
    assert r.status_code == 200
    assert r.headers.get("Transfer-Encoding") == "chunked"
    assert "Content-Length" not in r.headers
    streamed = r.content
    server.command("FLUSHALL")
    parts = []
    for start in range(0, len(commands), 400):
        small = requests.post(server.url + "/pipeline", json=commands[start:start + 400], headers=server.auth, timeout=60)
        assert small.status_code == 200 and "Content-Length" in small.headers
        parts.append(small.content[1:-1])
    assert streamed == b"[" + b",".join(parts) + b"]"


def test_200k_pipeline_reply_is_exact(server):
    count = 200_000
    body = json.dumps([["INCR", "big:n"]] * count).encode()
    sock = post_raw(server.port, server.token, "/pipeline", body)
    with sock:
        head, rest = read_head(sock)
        assert head.startswith("HTTP/1.1 200"), head
        assert "Transfer-Encoding: chunked" in head
        data = rest
        while not data.endswith(b"0\r\n\r\n"):
            chunk = sock.recv(1 << 20)
            assert chunk
            data += chunk
    expected = ("[" + ",".join('{"result":%d}' % i for i in range(1, count + 1)) + "]").encode()
    assert len(expected) == 3_488_896
    assert dechunk(data) == expected


def test_a_big_batch_with_a_small_reply_keeps_its_content_length(server):
    body = [["SET", f"k:{i:05d}", "v" * 60] for i in range(2_000)]  # ~150 KiB in, 32 KiB out
    r = requests.post(server.url + "/pipeline", json=body, headers=server.auth, timeout=60)
    assert r.status_code == 200
    assert "Transfer-Encoding" not in r.headers
    assert r.json() == [{"result": "OK"}] * 2_000


def test_the_batch_waits_while_the_client_does_not_read_then_completes():
    srv = start_server()
    try:
        count = 600_000
        body = json.dumps([["INCR", "n"]] * count).encode()
        sock = post_raw(srv.port, srv.token, "/pipeline", body, rcvbuf=32 * 1024)
        with sock:
            head, rest = read_head(sock)
            assert head.startswith("HTTP/1.1 200") and "chunked" in head
            # The first results are out; the rest of the batch waits for
            # the client, which reads nothing now.
            seen = [counter(srv, "n")]

            def settled():
                seen.append(counter(srv, "n"))
                return seen[-1] == seen[-2]

            wait_until(settled, timeout=60, what="the batch to wait for the client")
            time.sleep(0.5)
            paused_at = counter(srv, "n")
            assert paused_at < count, "the whole batch ran though the client read nothing"
            # Other clients are served meanwhile.
            assert srv.command("PING").json() == {"result": "PONG"}
            data = rest + read_all(sock)
        replies = json.loads(dechunk(data))
        assert len(replies) == count
        assert replies[-1] == {"result": count}
        assert counter(srv, "n") == count
    finally:
        srv.cleanup()


def leave_mid_reply(srv, body):
    """Posts `body`, reads the reply's head and closes; returns once the
    counter `n` has stopped moving, with how far the batch got."""
    before = counter(srv, "n")
    sock = post_raw(srv.port, srv.token, "/pipeline", body, rcvbuf=32 * 1024)
    head, _ = read_head(sock)
    assert head.startswith("HTTP/1.1 200")
    sock.close()
    seen = [counter(srv, "n")]

    def settled():
        time.sleep(0.2)
        seen.append(counter(srv, "n"))
        return seen[-1] == seen[-2]

    wait_until(settled, timeout=60, what="the batch to stop")
    return seen[-1] - before


def test_a_client_leaving_mid_reply_stops_the_batch():
    srv = start_server()
    try:
        count = 600_000
        body = json.dumps([["INCR", "n"]] * count).encode()
        for _ in range(2):
            assert leave_mid_reply(srv, body) < count, "the batch ran to its end for a client that left"
        assert srv.command("PING").json() == {"result": "PONG"}
    finally:
        srv.cleanup()


@pytest.mark.xfail(strict=False, reason="known: a connection left mid-reply sometimes stays listed (CLIENT LIST) "
                                        "after its batch stopped; see docs/BENCHMARKS.md, Big pipelines")
def test_a_client_leaving_mid_reply_releases_its_connection():
    srv = start_server()
    try:
        body = json.dumps([["INCR", "n"]] * 600_000).encode()
        clients = lambda: srv.command("CLIENT", "LIST").json()["result"].strip().splitlines()
        idle_clients = len(clients())
        for _ in range(3):
            leave_mid_reply(srv, body)
        wait_until(lambda: len(clients()) == idle_clients, timeout=10, what="the gone clients to be released")
    finally:
        srv.cleanup()


def test_big_multi_exec_streams_the_same_reply_and_stays_atomic(server):
    count = 30_000
    body = [["RPUSH", "tx:list", f"item:{i:06d}"] for i in range(count)]
    r = requests.post(server.url + "/multi-exec", json=body, headers=server.auth, timeout=120)
    assert r.status_code == 200
    assert r.headers.get("Transfer-Encoding") == "chunked"
    assert r.content == ("[" + ",".join('{"result":%d}' % i for i in range(1, count + 1)) + "]").encode()
    aborted = body + [["NOSUCHCOMMAND"]]
    r = requests.post(server.url + "/multi-exec", json=aborted, headers=server.auth, timeout=120)
    assert r.status_code == 400
    assert r.json()["error"].startswith("EXECABORT")
    assert server.command("LLEN", "tx:list").json()["result"] == count


def aof_sets(path):
    return path.read_bytes().count(b"\r\nSET\r\n")


def test_always_streams_only_results_whose_writes_are_in_the_file(tmp_path):
    srv = start_server("--dir", str(tmp_path), "--save", "", "--appendonly", "yes", "--appendfsync", "always")
    try:
        aof = tmp_path / "appendonly.aof"
        count = 40_000
        body = json.dumps([["SET", f"d:{i:06d}", "v" * 40] for i in range(count)]).encode()
        sock = post_raw(srv.port, srv.token, "/pipeline", body, rcvbuf=32 * 1024)
        with sock:
            head, data = read_head(sock)
            assert head.startswith("HTTP/1.1 200")
            while not data.endswith(b"0\r\n\r\n"):
                # Every result received so far belongs to a write already
                # in the file (written, then fsynced, before release).
                assert data.count(b'"OK"') <= aof_sets(aof)
                chunk = sock.recv(16 * 1024)
                assert chunk
                data += chunk
        assert json.loads(dechunk(data)) == [{"result": "OK"}] * count
    finally:
        srv.cleanup()


def test_always_a_failure_mid_stream_answers_the_undone_results_with_misconf(tmp_path):
    srv = start_server("--dir", str(tmp_path), "--save", "", "--appendonly", "yes", "--appendfsync", "always")
    try:
        aof = tmp_path / "appendonly.aof"
        assert srv.command("SET", "first", "1").json() == {"result": "OK"}
        # Room for about 10,000 SETs: their replies (over 64 KiB) start the
        # stream before the file fills up.
        resource.prlimit(srv.process.pid, resource.RLIMIT_FSIZE, (aof.stat().st_size + 800_000, resource.RLIM_INFINITY))
        count = 30_000
        commands = [["SET", f"m:{i:06d}", "v" * 40] for i in range(count)]
        r = requests.post(srv.url + "/pipeline", json=commands, headers=srv.auth, timeout=120)
        assert r.status_code == 200
        assert r.headers.get("Transfer-Encoding") == "chunked"
        replies = r.json()
        assert len(replies) == count
        answered_ok = [i for i, reply in enumerate(replies) if reply == {"result": "OK"}]
        refused = [reply for reply in replies if "error" in reply]
        assert answered_ok and refused
        assert all(reply["error"].startswith("MISCONF") for reply in refused)
        resource.prlimit(srv.process.pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        # No write was answered OK, then lost.
        check = requests.post(srv.url + "/pipeline", json=[["EXISTS", f"m:{i:06d}"] for i in answered_ok],
                              headers=srv.auth, timeout=60)
        assert all(reply == {"result": 1} for reply in check.json())
    finally:
        srv.cleanup()
