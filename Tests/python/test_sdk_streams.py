"""Redis streams through the published Upstash Redis SDK (``upstash-redis``):
the event-log pattern with consumer groups, every stream command the SDK
offers (xadd ... xautoclaim, xinfo_*, Redis 8.2's xackdel/xdelex), blocking
XREADGROUP through the SDK's generic ``execute`` while another client adds,
and the ``/v1/streams`` resource routes with plain ``requests``.
"""

from __future__ import annotations

import threading
import time

import pytest
import requests
from upstash_redis import Redis
from upstash_redis.errors import UpstashError

pytestmark = pytest.mark.usefixtures("flush")


def ids(entries):
    return [entry[0] for entry in entries]


def pairs(flat):
    """A flat [k1, v1, k2, v2, ...] XINFO reply as a dict."""
    return dict(zip(flat[0::2], flat[1::2]))


def test_the_events_pattern(redis):
    assert redis.xgroup_create("events", "mygroup", "$", mkstream=True) == "OK"
    entry_id = redis.xadd("events", "*", {"type": "order.created", "orderId": "123", "amount": "49.99"})
    ms, seq = entry_id.split("-")
    assert int(ms) > 1_600_000_000_000 and seq == "0"
    read = redis.execute(["XREADGROUP", "GROUP", "mygroup", "consumer1", "COUNT", "10", "BLOCK", "5000", "STREAMS", "events", ">"])
    assert read == [["events", [[entry_id, ["type", "order.created", "orderId", "123", "amount", "49.99"]]]]]
    assert redis.xpending("events", "mygroup") == [1, entry_id, entry_id, [["consumer1", "1"]]]
    assert redis.xack("events", "mygroup", entry_id) == 1
    assert redis.xpending("events", "mygroup") == [0, None, None, None]


def test_xadd_ids_and_trimming(redis):
    assert redis.xadd("s", "1-1", {"a": "1"}) == "1-1"
    assert redis.xadd("s", "1-*", {"a": "2"}) == "1-2"
    with pytest.raises(UpstashError, match="equal or smaller than the target stream top item"):
        redis.xadd("s", "1-0", {"a": "3"})
    with pytest.raises(UpstashError, match="must be greater than 0-0"):
        redis.xadd("other", "0-0", {"a": "3"})
    for i in range(3, 13):
        redis.xadd("s", f"{i}-0", {"n": str(i)}, maxlen=5, approximate_trim=False)
    assert redis.xlen("s") == 5
    assert ids(redis.xrange("s")) == ["8-0", "9-0", "10-0", "11-0", "12-0"]
    assert redis.xadd("missing", "*", {"a": "b"}, nomkstream=True) is None
    assert redis.exists("missing") == 0
    redis.xadd("s", "13-0", {"n": "13"}, minid="12", approximate_trim=False)
    assert ids(redis.xrange("s")) == ["12-0", "13-0"]


def test_xrange_xrevrange_xdel_xtrim(redis):
    for i in range(1, 11):
        redis.xadd("log", f"{i}-0", {"i": str(i)})
    assert redis.xrange("log", "3", "4") == [["3-0", ["i", "3"]], ["4-0", ["i", "4"]]]
    assert ids(redis.xrange("log", "(8-0", "+")) == ["9-0", "10-0"]
    assert ids(redis.xrevrange("log", count=2)) == ["10-0", "9-0"]
    assert redis.xdel("log", "1-0", "2-0", "99-0") == 2
    assert redis.xtrim("log", maxlen=3, approximate=False) == 5
    assert ids(redis.xrange("log")) == ["8-0", "9-0", "10-0"]
    assert redis.xtrim("log", minid="10", approximate=False) == 2
    assert redis.xtrim("log", maxlen=0, approximate=False) == 1
    # An emptied stream keeps its key and last ID.
    assert redis.exists("log") == 1
    assert redis.xlen("log") == 0
    assert pairs(redis.execute(["XINFO", "STREAM", "log"]))["last-generated-id"] == "10-0"


def test_xread(redis):
    redis.xadd("a", "1-0", {"x": "1"})
    redis.xadd("a", "2-0", {"x": "2"})
    redis.xadd("b", "5-0", {"y": "5"})
    assert redis.xread({"a": "1-0", "b": "0"}) == [["a", [["2-0", ["x", "2"]]]], ["b", [["5-0", ["y", "5"]]]]]
    assert redis.xread({"a": "0-0"}, count=1) == [["a", [["1-0", ["x", "1"]]]]]
    assert redis.xread({"a": "$"}) == []
    assert redis.execute(["XREAD", "STREAMS", "a", "+"]) == [["a", [["2-0", ["x", "2"]]]]]


def test_groups_consumers_and_info(redis):
    for i in range(1, 4):
        redis.xadd("s", f"{i}-0", {"n": str(i)})
    assert redis.xgroup_create("s", "g", "0") == "OK"
    with pytest.raises(UpstashError, match="BUSYGROUP Consumer Group name already exists"):
        redis.xgroup_create("s", "g", "0")
    with pytest.raises(UpstashError, match="requires the key to exist"):
        redis.xgroup_create("nostream", "g")
    assert redis.xgroup_createconsumer("s", "g", "bob") == 1
    got = redis.xreadgroup("g", "alice", {"s": ">"}, count=2)
    assert got == [["s", [["1-0", ["n", "1"]], ["2-0", ["n", "2"]]]]]
    groups = [pairs(g) for g in redis.xinfo_groups("s")]
    assert groups == [{"name": "g", "consumers": 2, "pending": 2, "last-delivered-id": "2-0", "entries-read": 2, "lag": 1}]
    consumers = [pairs(c) for c in redis.xinfo_consumers("s", "g")]
    assert [c["name"] for c in consumers] == ["alice", "bob"]
    assert [c["pending"] for c in consumers] == [2, 0]
    assert consumers[1]["inactive"] == -1
    stream = pairs(redis.execute(["XINFO", "STREAM", "s"]))
    assert stream["length"] == 3 and stream["groups"] == 1 and stream["entries-added"] == 3
    assert stream["first-entry"] == ["1-0", ["n", "1"]]
    assert redis.xgroup_delconsumer("s", "g", "alice") == 2
    assert redis.xgroup_setid("s", "g", "0", entries_read=0) == "OK"
    assert ids(redis.xreadgroup("g", "carol", {"s": ">"}, noack=True)[0][1]) == ["1-0", "2-0", "3-0"]
    assert redis.xpending("s", "g")[0] == 0
    assert redis.xgroup_destroy("s", "g") == 1
    assert redis.xgroup_destroy("s", "g") == 0
    with pytest.raises(UpstashError, match="NOGROUP"):
        redis.xreadgroup("g", "alice", {"s": ">"})


def test_pending_claim_autoclaim(redis):
    for i in range(1, 6):
        redis.xadd("jobs", f"{i}-0", {"job": str(i)})
    redis.xgroup_create("jobs", "workers", "0")
    redis.xreadgroup("workers", "w1", {"jobs": ">"})
    # Idle times are real time: w1's entries idle 0.6 s, comfortably over
    # the 300 ms XAUTOCLAIM threshold, while entries claimed just before it
    # stay under it even on a loaded machine.
    time.sleep(0.6)
    detailed = redis.xpending("jobs", "workers", "-", "+", 10, "w1", idle=20)
    assert [row[0] for row in detailed] == ["1-0", "2-0", "3-0", "4-0", "5-0"]
    assert all(row[1] == "w1" and row[2] >= 20 and row[3] == 1 for row in detailed)
    assert redis.xpending("jobs", "workers", "-", "+", 10, "nobody") == []
    assert redis.xclaim("jobs", "workers", "w2", 10, "1-0") == [["1-0", ["job", "1"]]]
    assert redis.xclaim("jobs", "workers", "w2", 3_600_000, "2-0") == []
    assert redis.xclaim("jobs", "workers", "w2", 0, "2-0", justid=True) == ["2-0"]
    redis.xdel("jobs", "4-0")
    claimed = redis.xautoclaim("jobs", "workers", "w3", 300, "0-0", count=10, justid=True)
    assert claimed == ["0-0", ["3-0", "5-0"], ["4-0"]]
    rows = redis.xpending("jobs", "workers", "-", "+", 10)
    assert [(r[0], r[1], r[3]) for r in rows] == [("1-0", "w2", 2), ("2-0", "w2", 1), ("3-0", "w3", 1), ("5-0", "w3", 1)]
    assert redis.xack("jobs", "workers", "1-0", "2-0", "3-0", "5-0") == 4


def test_xackdel_and_xdelex(redis):
    for i in range(1, 4):
        redis.xadd("s", f"{i}-0", {"n": str(i)})
    redis.xgroup_create("s", "g", "0")
    redis.xreadgroup("g", "c", {"s": ">"}, count=2)
    assert redis.xdelex("s", "1-0", "3-0", option="ACKED") == [2, 2]
    assert redis.xackdel("s", "g", "1-0", option="ACKED") == [1]
    assert redis.xackdel("s", "g", "2-0", "9-0") == [1, -1]
    assert redis.xdelex("s", "3-0", option="DELREF") == [1]
    assert redis.xdelex("nope", "1-0") == [-1]
    assert redis.xlen("s") == 0


def test_blocking_xreadgroup_served_by_another_client(redis, server):
    redis.xgroup_create("orders", "shipping", "$", mkstream=True)
    results = {}

    def worker():
        consumer = Redis(url=server.url, token=server.token, rest_retries=0)
        results["read"] = consumer.execute(["XREADGROUP", "GROUP", "shipping", "w1", "BLOCK", "10000", "STREAMS", "orders", ">"])
        results["returned"] = time.monotonic()
        consumer.close()

    thread = threading.Thread(target=worker)
    thread.start()
    server.wait_for_blocked_clients(1)
    added = time.monotonic()
    entry_id = redis.xadd("orders", "*", {"orderId": "42"})
    thread.join(timeout=15)
    assert results["read"] == [["orders", [[entry_id, ["orderId", "42"]]]]]
    assert results["returned"] >= added


def test_blocking_xread_with_dollar_sees_only_new_entries(redis, server):
    redis.xadd("feed", "1-0", {"old": "1"})
    results = {}

    def reader():
        client = Redis(url=server.url, token=server.token, rest_retries=0)
        results["read"] = client.execute(["XREAD", "BLOCK", "10000", "STREAMS", "feed", "$"])
        client.close()

    thread = threading.Thread(target=reader)
    thread.start()
    server.wait_for_blocked_clients(1)
    redis.xadd("feed", "2-0", {"new": "1"})
    thread.join(timeout=15)
    assert results["read"] == [["feed", [["2-0", ["new", "1"]]]]]


def test_xread_block_times_out_with_nil(redis, server):
    started = time.monotonic()
    # The SDK formats XREAD's nil as an empty list; the wire reply is null.
    assert redis.execute(["XREAD", "BLOCK", "200", "STREAMS", "quiet", "$"]) == []
    assert 0.15 < time.monotonic() - started < 5
    raw = server.command("XREAD", "BLOCK", "100", "STREAMS", "quiet", "$")
    assert raw.status_code == 200 and raw.json() == {"result": None}


def test_resource_routes(server):
    base = server.url + "/v1/streams/orders"
    auth = server.auth
    r = requests.post(base + "/entries", json={"fields": {"type": "order.created", "orderId": "123"}, "id": "1-0"}, headers=auth)
    assert r.status_code == 201 and r.json() == {"key": "orders", "id": "1-0"}
    r = requests.post(base + "/groups", json={"group": "g", "id": "0"}, headers=auth)
    assert r.status_code == 201
    r = requests.post(base + "/groups", json={"group": "g", "id": "0"}, headers=auth)
    assert r.status_code == 409 and r.json()["code"] == "BUSYGROUP"
    assert r.headers["Content-Type"] == "application/problem+json"
    r = requests.get(base + "/entries", params={"start": "-", "end": "+"}, headers=auth)
    assert r.json()["entries"] == [{"id": "1-0", "fields": {"type": "order.created", "orderId": "123"}}]
    requests.post(server.url + "/", json=["XREADGROUP", "GROUP", "g", "c1", "STREAMS", "orders", ">"], headers=auth)
    r = requests.get(base + "/groups/g/pending", headers=auth)
    assert r.json()["pending"] == 1 and r.json()["consumers"] == [{"name": "c1", "pending": 1}]
    r = requests.post(base + "/groups/g/claim", json={"consumer": "c2", "minIdle": 0, "ids": ["1-0"]}, headers=auth)
    assert r.json()["claimed"][0]["id"] == "1-0"
    r = requests.post(base + "/groups/g/ack", json={"ids": ["1-0"]}, headers=auth)
    assert r.json()["acked"] == 1
    info = requests.get(base, headers=auth).json()["info"]
    assert info["length"] == 1 and info["lastGeneratedId"] == "1-0"
    assert requests.get(base + "/groups", headers=auth).json()["groups"][0]["name"] == "g"
    assert requests.delete(base + "/groups/g", headers=auth).status_code == 204
    assert requests.delete(base + "/groups/g", headers=auth).json()["code"] == "NOGROUP"
    assert requests.delete(base, headers=auth).status_code == 204
    assert requests.get(base + "/entries", headers=auth).status_code == 404
