"""Streams delivered as Server-Sent Events, read with ``httpx-sse``: a tail
that resumes with Last-Event-ID (no gap, no duplicate), and consumer groups
over SSE: two consumers splitting work, pending entries after a consumer
dies, redelivery on reconnect, claiming, acking, and ``ack=auto``.
"""

from __future__ import annotations

import json
import time

import httpx
import pytest

from test_sse_pubsub import Subscriber

pytestmark = pytest.mark.usefixtures("flush")


def xadd(server, key: str, **fields: str) -> str:
    words = ["XADD", key, "*"]
    for name, value in fields.items():
        words += [name, value]
    return server.command(*words).json()["result"]


def entries(sub: Subscriber, n: int, timeout: float = 5.0) -> list:
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < n:
        event = sub.next("entry", timeout=max(0.05, deadline - time.monotonic()))
        body = json.loads(event.data)
        assert event.id == body["id"]
        got.append(body)
    return got


def test_tail_then_resume_with_last_event_id(server):
    first = Subscriber(f"{server.url}/v1/streams/events/events?from=$", server.auth, ready_on=None)
    ids = [xadd(server, "events", type="order.created", orderId=str(i)) for i in range(2)]
    got = entries(first, 2)
    assert [e["id"] for e in got] == ids
    assert got[0]["fields"] == {"type": "order.created", "orderId": "0"}
    first.close()
    # Entries added while disconnected arrive after resuming, exactly once.
    later = [xadd(server, "events", type="user.login", userId=str(i)) for i in range(2)]
    resumed = Subscriber(f"{server.url}/v1/streams/events/events", {**server.auth, "Last-Event-ID": ids[-1]}, ready_on=None)
    try:
        assert [e["id"] for e in entries(resumed, 2)] == later
        with pytest.raises(Exception):
            resumed.next("entry", timeout=0.3)
    finally:
        resumed.close()


def test_tail_from_an_id_replays_the_backlog(server):
    ids = [xadd(server, "log", n=str(i)) for i in range(5)]
    sub = Subscriber(f"{server.url}/v1/streams/log/events?from={ids[1]}&count=2", server.auth, ready_on=None)
    try:
        assert [e["id"] for e in entries(sub, 3)] == ids[2:]
    finally:
        sub.close()


def test_two_consumers_split_the_work(server):
    server.command("XGROUP", "CREATE", "jobs", "workers", "$", "MKSTREAM")
    c1 = Subscriber(f"{server.url}/v1/streams/jobs/groups/workers/events?consumer=c1&count=1", server.auth, ready_on=None)
    c2 = Subscriber(f"{server.url}/v1/streams/jobs/groups/workers/events?consumer=c2&count=1", server.auth, ready_on=None)
    try:
        time.sleep(0.3)
        ids = {xadd(server, "jobs", job=str(i)) for i in range(10)}
        seen1, seen2 = set(), set()
        deadline = time.monotonic() + 5
        while len(seen1) + len(seen2) < 10 and time.monotonic() < deadline:
            for sub, seen in ((c1, seen1), (c2, seen2)):
                try:
                    seen.add(json.loads(sub.next("entry", timeout=0.1).data)["id"])
                except Exception:
                    pass
        assert seen1 | seen2 == ids
        assert not seen1 & seen2
        assert seen1 and seen2, "both consumers should get work"
        pending = server.command("XPENDING", "jobs", "workers").json()["result"]
        assert pending[0] == 10
    finally:
        c1.close()
        c2.close()


def test_a_dead_consumers_entries_stay_pending_and_can_be_claimed(server):
    server.command("XGROUP", "CREATE", "tasks", "g", "$", "MKSTREAM")
    worker = Subscriber(f"{server.url}/v1/streams/tasks/groups/g/events?consumer=dead", server.auth, ready_on=None)
    time.sleep(0.2)
    ids = [xadd(server, "tasks", task=str(i)) for i in range(3)]
    assert [e["id"] for e in entries(worker, 3)] == ids
    worker.close()  # crashes before acking
    summary = server.command("XPENDING", "tasks", "g").json()["result"]
    assert summary[0] == 3 and summary[3] == [["dead", "3"]]
    # Reconnecting redelivers the pending entries first.
    again = Subscriber(f"{server.url}/v1/streams/tasks/groups/g/events?consumer=dead", server.auth, ready_on=None)
    try:
        assert [e["id"] for e in entries(again, 3)] == ids
    finally:
        again.close()
    # Another consumer claims them, then acks them.
    claim = httpx.post(f"{server.url}/v1/streams/tasks/groups/g/claim",
                       json={"consumer": "rescuer", "minIdle": 0, "ids": ids}, headers=server.auth, timeout=5)
    assert claim.status_code == 200
    ack = httpx.post(f"{server.url}/v1/streams/tasks/groups/g/ack", json={"ids": ids}, headers=server.auth, timeout=5)
    assert ack.json()["acked"] == 3
    assert server.command("XPENDING", "tasks", "g").json()["result"][0] == 0


def test_auto_ack_leaves_nothing_pending(server):
    server.command("XGROUP", "CREATE", "auto", "g", "$", "MKSTREAM")
    sub = Subscriber(f"{server.url}/v1/streams/auto/groups/g/events?consumer=c&ack=auto", server.auth, ready_on=None)
    try:
        time.sleep(0.2)
        xadd(server, "auto", k="v")
        entries(sub, 1)
        time.sleep(0.1)
        assert server.command("XPENDING", "auto", "g").json()["result"][0] == 0
    finally:
        sub.close()


def test_bad_requests_before_streaming(server):
    server.command("XADD", "s", "*", "a", "1")
    r = httpx.get(f"{server.url}/v1/streams/s/groups/nogroup/events?consumer=c", headers=server.auth, timeout=5)
    assert r.status_code == 404 and r.json()["code"] == "NOGROUP"
    r = httpx.get(f"{server.url}/v1/streams/missing/groups/g/events?consumer=c", headers=server.auth, timeout=5)
    assert r.status_code == 404 and r.json()["code"] == "NO_SUCH_KEY"
    server.command("XGROUP", "CREATE", "s", "g", "0")
    r = httpx.get(f"{server.url}/v1/streams/s/groups/g/events", headers=server.auth, timeout=5)
    assert r.status_code == 400 and r.json()["code"] == "BAD_REQUEST"
    r = httpx.get(f"{server.url}/v1/streams/s/events?count=0", headers=server.auth, timeout=5)
    assert r.status_code == 400
    r = httpx.get(f"{server.url}/v1/streams/s/events?from=nonsense", headers=server.auth, timeout=5)
    assert r.status_code == 400
    server.command("SET", "str", "v")
    r = httpx.get(f"{server.url}/v1/streams/str/events", headers=server.auth, timeout=5)
    assert r.status_code == 409 and r.json()["code"] == "WRONGTYPE"
