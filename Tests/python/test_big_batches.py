"""Big /pipeline and /multi-exec batches: right replies, and other
connections keep being served while one runs.

A batch body above 64 KiB is read, run and answered on a worker thread with
its connection parked, so the HTTP thread that received it goes on serving
its other connections; the engine lock is taken per slice of commands. (How
the reply streams out: test_streamed_batches.py.)
"""

import json
import socket
import threading
import time

import requests

from conftest import start_server, wait_until


def test_big_pipeline_answers_every_command_in_order(server):
    count = 20_000
    body = [["INCR", "big:counter"] for _ in range(count)] + [["GET", "big:counter"]]
    r = requests.post(server.url + "/pipeline", json=body, headers=server.auth, timeout=120)
    assert r.status_code == 200, r.text[:300]
    replies = r.json()
    assert len(replies) == count + 1
    assert [reply["result"] for reply in replies[:count]] == list(range(1, count + 1))
    assert replies[-1] == {"result": str(count)}


def test_big_pipeline_keeps_per_command_errors_and_refusals(server):
    body = []
    for i in range(5_000):
        body += [["SET", f"k:{i}", "v" * 20], ["LPUSH", f"k:{i}", "x"], ["SUBSCRIBE", "c"]]
    r = requests.post(server.url + "/pipeline", json=body, headers=server.auth, timeout=120)
    assert r.status_code == 200
    replies = r.json()
    assert len(replies) == 15_000
    assert replies[0] == {"result": "OK"}
    assert replies[1]["error"].startswith("WRONGTYPE")
    assert replies[2]["error"] == "ERR SUBSCRIBE is not allowed in a pipeline"
    assert replies[-3:] == replies[:3]


def test_big_multi_exec_is_atomic_and_aborts_whole(server):
    body = [["RPUSH", "big:list", f"item:{i:06d}"] for i in range(10_000)]
    r = requests.post(server.url + "/multi-exec", json=body, headers=server.auth, timeout=120)
    assert r.status_code == 200
    assert r.json()[-1] == {"result": 10_000}
    aborted = body + [["NOSUCHCOMMAND"]]
    r = requests.post(server.url + "/multi-exec", json=aborted, headers=server.auth, timeout=120)
    assert r.status_code == 400
    assert r.json()["error"].startswith("EXECABORT")
    assert server.command("LLEN", "big:list").json()["result"] == 10_000


def test_big_malformed_batch_gets_the_json_error(server):
    body = json.dumps([["SET", f"k:{i}", "v"] for i in range(5_000)])[:-1]  # no closing bracket
    r = requests.post(server.url + "/pipeline", data=body, headers={**server.auth, "Content-Type": "application/json"}, timeout=60)
    assert r.status_code == 400
    assert r.json()["error"].startswith("ERR malformed JSON")


def test_other_connections_are_served_while_a_big_pipeline_runs():
    # One HTTP thread: were the batch run on it, every other connection
    # would wait for the whole batch.
    srv = start_server("--threads", "1")
    try:
        body = json.dumps([["SET", f"bulk:{i:08d}", "v" * 40] for i in range(60_000)]).encode()
        head = (f"POST /pipeline HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {srv.token}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
        answered = threading.Event()

        def big_batch():
            with socket.create_connection(("127.0.0.1", srv.port), timeout=300) as sock:
                sock.sendall(head + body)
                received = b""
                while b"\r\n\r\n" not in received:
                    chunk = sock.recv(65536)
                    assert chunk, "connection closed before the batch's reply"
                    received += chunk
                assert received.startswith(b"HTTP/1.1 200"), received[:200]
                # The reply streams while the batch runs: the batch is over
                # when its reply ends (a client that leaves stops it).
                while not received.endswith(b"0\r\n\r\n"):
                    chunk = sock.recv(65536)
                    assert chunk, "connection closed before the reply's end"
                    received += chunk
                answered.set()

        worker = threading.Thread(target=big_batch)
        worker.start()
        # Wait until the batch has begun to run: its first keys appear.
        wait_until(lambda: srv.command("EXISTS", "bulk:00000000").json()["result"] == 1 or answered.is_set(),
                   timeout=120, what="the batch to start")
        served = 0
        with requests.Session() as session:
            while not answered.is_set():
                r = session.post(srv.url + "/", json=["DBSIZE"], headers=srv.auth, timeout=60)
                assert r.status_code == 200
                if not answered.is_set():
                    served += 1
        worker.join(timeout=300)
        assert srv.command("DBSIZE").json()["result"] == 60_000
        # Dozens of small requests were answered while the batch ran.
        assert served >= 10, f"only {served} requests answered while the batch ran"
    finally:
        srv.cleanup()
