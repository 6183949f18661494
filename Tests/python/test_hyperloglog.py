"""HyperLogLog beside a real redis-server 7: the same members give the same
registers, the same bytes and the same counts; an HLL moves between the two
servers in an RDB file both ways and counts the same; a million distinct
members are counted within the standard error; and the upstash-redis SDK's
pfadd, pfcount and pfmerge work unchanged."""

from __future__ import annotations

import base64
import random

import pytest
import requests
from upstash_redis.errors import UpstashError

from conftest import start_server
from redis_reference import REDIS_SERVER, ReferenceRedis, assert_same, keyway_reply, reference_redis  # noqa: F401 (reference_redis is a fixture)

pytestmark = pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server not installed (make deps installs it)")


def test_same_members_same_bytes_and_counts(flush, reference_redis):
    rng = random.Random(7)
    for key in ("hll:a", "hll:b", "hll:c"):
        for _ in range(40):
            members = [f"user:{rng.randrange(100_000)}" for _ in range(rng.choice([1, 3, 20, 200]))]
            assert_same(flush, reference_redis, "PFADD", key, *members)
            assert_same(flush, reference_redis, "PFCOUNT", key)
            assert_same(flush, reference_redis, "PFDEBUG", "ENCODING", key)
        assert_same(flush, reference_redis, "GET", key)
        assert_same(flush, reference_redis, "PFDEBUG", "GETREG", key)  # turns it dense, in both
        assert_same(flush, reference_redis, "GET", key)
    assert_same(flush, reference_redis, "PFCOUNT", "hll:a", "hll:b", "hll:missing")
    assert_same(flush, reference_redis, "PFMERGE", "hll:ab", "hll:a", "hll:b")
    assert_same(flush, reference_redis, "PFCOUNT", "hll:ab")
    assert_same(flush, reference_redis, "PFMERGE", "hll:c", "hll:a")
    assert_same(flush, reference_redis, "PFCOUNT", "hll:c")
    assert_same(flush, reference_redis, "PFADD", "hll:empty")
    assert_same(flush, reference_redis, "PFADD", "hll:empty")
    assert_same(flush, reference_redis, "GET", "hll:empty")
    assert_same(flush, reference_redis, "PFCOUNT", "hll:empty")


def test_sparse_hlls_stay_sparse_and_merge_alike(flush, reference_redis):
    for count in (1, 5, 50, 300):
        key = f"hll:small{count}"
        assert_same(flush, reference_redis, "PFADD", key, *[f"m{n}" for n in range(count)])
        assert_same(flush, reference_redis, "PFDEBUG", "ENCODING", key)
        assert_same(flush, reference_redis, "PFDEBUG", "DECODE", key)
        assert_same(flush, reference_redis, "PFCOUNT", key)
    assert_same(flush, reference_redis, "PFMERGE", "hll:merged", "hll:small5", "hll:small50")
    assert_same(flush, reference_redis, "PFCOUNT", "hll:merged")
    assert_same(flush, reference_redis, "PFDEBUG", "GETREG", "hll:merged")


def test_errors_are_redis_errors(flush, reference_redis):
    assert_same(flush, reference_redis, "SET", "plain", "not an hll")
    assert_same(flush, reference_redis, "RPUSH", "list", "x")
    for command in (["PFADD", "plain", "a"], ["PFCOUNT", "plain"], ["PFCOUNT", "list"], ["PFADD", "list", "a"],
                    ["PFMERGE", "d", "plain"], ["PFCOUNT", "missing", "plain"], ["PFDEBUG", "ENCODING", "missing"],
                    ["PFDEBUG", "NOPE", "plain"], ["PFADD", "hll", "a"], ["PFDEBUG", "NOPE", "hll"],
                    ["PFDEBUG", "TODENSE", "hll"], ["PFDEBUG", "TODENSE", "hll"], ["PFDEBUG", "DECODE", "hll"],
                    ["PFADD"], ["PFCOUNT"], ["PFMERGE"], ["PFDEBUG", "GETREG"]):
        assert_same(flush, reference_redis, *command)
    # A string with the header of a sparse HLL and opcodes that cover too
    # many registers: both servers find it corrupted when they count it.
    corrupt = b"HYLL\x01\x00\x00\x00" + b"\x00" * 7 + b"\x80" + b"\x7f\xff\x7f\xff"
    reference_redis("SET", "bad", corrupt)
    r = requests.put(flush.url + "/v1/keys/bad", headers=flush.auth, timeout=10,
                     json={"value": base64.b64encode(corrupt).decode(), "encoding": "base64"})
    assert r.status_code in (200, 201), r.text
    assert_same(flush, reference_redis, "GET", "bad")
    assert_same(flush, reference_redis, "PFCOUNT", "bad")
    # redis-server 7.0 writes into such a value when the member's register
    # comes before the damage; Keyway reads the whole value first and refuses.
    assert keyway_reply(flush, "PFADD", "bad", "x") == ("error", "INVALIDOBJ Corrupted HLL object detected")
    assert_same(flush, reference_redis, "GET", "bad")


def test_a_million_distinct_members(flush, reference_redis):
    for start in range(0, 1_000_000, 20_000):
        members = [f"visitor:{n}" for n in range(start, start + 20_000)]
        keyway_reply(flush, "PFADD", "hll:million", *members)
        reference_redis("PFADD", "hll:million", *members)
    count = assert_same(flush, reference_redis, "PFCOUNT", "hll:million")
    # One estimate: within three standard errors (0.81% each) of the truth.
    assert abs(count - 1_000_000) / 1_000_000 < 3 * 0.0081, count
    assert_same(flush, reference_redis, "GET", "hll:million")


def test_hlls_move_between_keyway_and_redis_in_rdb_files(tmp_path):
    keyway_dir, redis_dir = tmp_path / "keyway", tmp_path / "redis"
    keyway_dir.mkdir()
    redis_dir.mkdir()
    server = start_server("--dir", str(keyway_dir))
    try:
        keyway_reply(server, "PFADD", "hll:sparse", *[f"a{n}" for n in range(100)])
        counts = {"hll:sparse": keyway_reply(server, "PFCOUNT", "hll:sparse")}
        keyway_reply(server, "PFADD", "hll:dense", *[f"b{n}" for n in range(20_000)])
        keyway_reply(server, "PFCOUNT", "hll:dense")
        keyway_reply(server, "PFADD", "hll:dense", "one-more")  # the cached count in the file is stale
        assert keyway_reply(server, "SAVE") == b"OK"
    finally:
        server.cleanup()
    from_keyway = ReferenceRedis(keyway_dir, raw=True)
    try:
        assert from_keyway.client("PFCOUNT", "hll:sparse") == counts["hll:sparse"]
        counts["hll:dense"] = from_keyway.client("PFCOUNT", "hll:dense")
        assert abs(counts["hll:dense"] - 20_001) / 20_001 < 0.03
        from_keyway.client("PFADD", "hll:redis", *[f"c{n}" for n in range(5_000)])
        counts["hll:redis"] = from_keyway.client("PFCOUNT", "hll:redis")
        from_keyway.client("PFADD", "hll:redis", "stale-cache")
        assert from_keyway.client("SAVE") == "OK"
    finally:
        from_keyway.stop()
    again = start_server("--dir", str(keyway_dir))
    try:
        assert keyway_reply(again, "PFCOUNT", "hll:sparse") == counts["hll:sparse"]
        assert keyway_reply(again, "PFCOUNT", "hll:dense") == counts["hll:dense"]
        assert abs(keyway_reply(again, "PFCOUNT", "hll:redis") - 5_001) <= 5_001 * 0.03
        assert keyway_reply(again, "PFDEBUG", "ENCODING", "hll:redis") == b"dense"
    finally:
        again.cleanup()


def test_hyperloglog_through_the_sdk(flush, redis):
    assert redis.pfadd("visitors:mon", "alice", "bob", "carol") == 1
    assert redis.pfadd("visitors:mon", "alice") == 0
    assert redis.pfadd("visitors:tue", "bob", "dave") == 1
    assert redis.pfcount("visitors:mon") == 3
    assert redis.pfcount("visitors:mon", "visitors:tue") == 4
    redis.pfmerge("visitors:week", "visitors:mon", "visitors:tue")
    assert redis.pfcount("visitors:week") == 4
    redis.set("plain", "x")
    with pytest.raises(UpstashError, match="not a valid HyperLogLog"):
        redis.pfadd("plain", "a")


def test_hyperloglog_routes(flush):
    base = flush.url + "/v1/hyperloglogs/"
    auth = flush.auth
    r = requests.post(base + "visitors%3Amon", json={"members": ["alice", "bob", "carol"]}, headers=auth, timeout=10)
    assert (r.status_code, r.json()) == (201, {"key": "visitors:mon", "changed": True})
    r = requests.post(base + "visitors%3Amon", json={"members": ["alice"]}, headers=auth, timeout=10)
    assert (r.status_code, r.json()) == (200, {"key": "visitors:mon", "changed": False})
    requests.post(base + "visitors%3Atue", json={"members": ["YWxpY2U=", "ZGF2ZQ=="], "encoding": "base64"}, headers=auth, timeout=10)
    assert requests.get(base + "visitors%3Amon/count", headers=auth, timeout=10).json() == {"key": "visitors:mon", "count": 3}
    r = requests.get(base + "visitors%3Amon/count", params=[("keys", "visitors:tue"), ("keys", "missing")], headers=auth, timeout=10)
    assert r.json()["count"] == 4 and r.json()["keys"] == ["visitors:tue", "missing"]
    assert requests.get(base + "missing/count", headers=auth, timeout=10).json()["count"] == 0
    r = requests.post(base + "visitors%3Aweek/merge", json={"keys": ["visitors:mon", "visitors:tue"]}, headers=auth, timeout=10)
    assert (r.status_code, r.json()) == (200, {"key": "visitors:week", "count": 4})
    assert flush.command("PFCOUNT", "visitors:week").json() == {"result": 4}

    flush.command("SET", "plain", "text")
    for method, path, kwargs, status, code in [
        ("POST", "plain", {"json": {"members": ["a"]}}, 409, "WRONGTYPE"),
        ("GET", "plain/count", {}, 409, "WRONGTYPE"),
        ("POST", "x/merge", {"json": {"keys": ["plain"]}}, 409, "WRONGTYPE"),
        ("POST", "x", {"json": {"members": []}}, 400, "BAD_REQUEST"),
        ("POST", "x", {"json": {"members": "a"}}, 400, "BAD_REQUEST"),
        ("POST", "x", {"data": "[1,", "headers": {**auth, "Content-Type": "application/json"}}, 400, "BAD_REQUEST"),
        ("POST", "x/merge", {"json": {}}, 400, "BAD_REQUEST"),
    ]:
        r = requests.request(method, base + path, **({"headers": auth} | kwargs), timeout=10)
        assert (r.status_code, r.json()["code"]) == (status, code), (method, path, r.text)
    assert flush.command("EXISTS", "x").json() == {"result": 0}
