"""Redis lists through the published Upstash Redis SDK (``upstash-redis``):
the job-queue and recent-activity patterns, every list command the SDK
offers, and blocking pops sent through the SDK's generic ``execute``
(the SDK has no blocking helpers of its own) while another client pushes.
"""

from __future__ import annotations

import threading
import time

import pytest
import requests
from upstash_redis import Redis
from upstash_redis.errors import UpstashError

pytestmark = pytest.mark.usefixtures("flush")

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


def test_recent_activity_keeps_the_last_hundred(redis):
    for i in range(150):
        redis.lpush("user:123:activity", f"Logged in at {i}")
    assert redis.ltrim("user:123:activity", 0, 99) == "OK"
    assert redis.llen("user:123:activity") == 100
    latest = redis.lrange("user:123:activity", 0, 9)
    assert latest[0] == "Logged in at 149"
    assert len(latest) == 10
    assert redis.lindex("user:123:activity", -1) == "Logged in at 50"


def test_job_queue_with_brpop_served_by_another_client(redis, server):
    results = {}

    def worker():
        consumer = Redis(url=server.url, token=server.token, rest_retries=0)
        results["job"] = consumer.execute(["BRPOP", "queue:emails", "10"])
        results["returned"] = time.monotonic()
        consumer.close()

    thread = threading.Thread(target=worker)
    thread.start()
    server.wait_for_blocked_clients(1)  # the worker is parked first
    pushed = time.monotonic()
    assert redis.lpush("queue:emails", '{"to":"user@example.com","subject":"Welcome"}') == 1
    thread.join(timeout=15)
    assert results["job"] == ["queue:emails", '{"to":"user@example.com","subject":"Welcome"}']
    # It waited for the push: its answer came only after it.
    assert results["returned"] >= pushed
    assert redis.llen("queue:emails") == 0


def test_brpop_times_out_with_nil(redis):
    started = time.monotonic()
    assert redis.execute(["BRPOP", "queue:empty", "0.3"]) is None
    assert 0.25 < time.monotonic() - started < 5


def test_push_pop_and_indexes(redis):
    assert redis.rpush("l", "a", "b", "c") == 3
    assert redis.lpush("l", "z") == 4
    assert redis.lpushx("missing", "x") == 0
    assert redis.rpushx("l", "d") == 5
    assert redis.lrange("l", 0, -1) == ["z", "a", "b", "c", "d"]
    assert redis.lpop("l") == "z"
    assert redis.rpop("l") == "d"
    assert redis.lpop("l", 2) == ["a", "b"]
    assert redis.rpop("missing") is None
    assert redis.lset("l", 0, "C") is True
    assert redis.linsert("l", "BEFORE", "C", "B") == 2
    assert redis.lrange("l", 0, -1) == ["B", "C"]
    assert redis.lpos("l", "C") == 1
    redis.rpush("l", "C", "C")
    assert redis.lpos("l", "C", count=0) == [1, 2, 3]
    assert redis.lrem("l", 0, "C") == 3
    assert redis.lrange("l", 0, -1) == ["B"]


def test_moves_between_lists(redis):
    redis.rpush("source", "one", "two", "three")
    assert redis.lmove("source", "destination", "RIGHT", "LEFT") == "three"
    assert redis.rpoplpush("source", "destination") == "two"
    assert redis.lrange("destination", 0, -1) == ["two", "three"]
    assert redis.execute(["LMPOP", "2", "nothing", "source", "LEFT", "COUNT", "5"]) == ["source", ["one"]]
    assert redis.exists("source") == 0


def test_unicode_and_binaryish_values(redis):
    values = ["héllo wörld", "日本語", "tab\tnew\nline", "quote\"back\\slash", ""]
    redis.rpush("u", *values)
    assert redis.lrange("u", 0, -1) == values


def test_pipeline_and_transaction(redis):
    pipeline = redis.pipeline()
    pipeline.rpush("p", "a", "b")
    pipeline.lpop("p")
    pipeline.llen("p")
    assert pipeline.exec() == [2, "a", 1]
    tx = redis.multi()
    tx.rpush("t", "x")
    tx.execute(["BLPOP", "never", "0"])  # no blocking inside a transaction
    tx.lrange("t", 0, -1)
    assert tx.exec() == [1, None, ["x"]]


def test_errors_surface_with_redis_wording(redis):
    redis.set("string", "v")
    with pytest.raises(UpstashError, match="WRONGTYPE"):
        redis.lpush("string", "x")
    with pytest.raises(UpstashError, match="ERR no such key"):
        redis.lset("missing", 0, "x")
    redis.rpush("l", "a")
    with pytest.raises(UpstashError, match="ERR index out of range"):
        redis.lset("l", 5, "x")
    with pytest.raises(UpstashError, match="timeout is negative"):
        redis.execute(["BLPOP", "l", "-1"])


def test_resource_api_sees_the_same_list(redis, server):
    redis.rpush("shared", "a", "b")
    r = requests.get(f"{server.url}/v1/lists/shared", headers=server.auth, timeout=10)
    assert r.status_code == 200
    assert r.json()["values"] == ["a", "b"]
    r = requests.post(f"{server.url}/v1/lists/shared/pop?end=left", headers=server.auth, timeout=10)
    assert r.json()["value"] == "a"
    assert redis.lrange("shared", 0, -1) == ["b"]
