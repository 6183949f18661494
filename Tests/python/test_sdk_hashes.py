"""Hash commands through the published Upstash Redis SDK (``upstash-redis``).

Uses the session ``server`` fixture (``.url``, ``.token``) and the ``flush``
fixture from conftest.py, so each test starts with an empty keyspace.
"""

from __future__ import annotations

import time

import pytest
import requests
from upstash_redis.errors import UpstashError

pytestmark = pytest.mark.usefixtures("flush")

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


def test_user_profile_pattern(redis):
    assert redis.hset("user:123", values={"name": "Alice", "email": "alice@example.com", "role": "admin"}) == 3
    assert redis.hget("user:123", "name") == "Alice"
    assert redis.hgetall("user:123") == {"name": "Alice", "email": "alice@example.com", "role": "admin"}
    assert redis.hincrby("user:123", "login_count", 1) == 1
    assert redis.hincrby("user:123", "login_count", 1) == 2
    assert redis.type("user:123") == "hash"


def test_hset_hsetnx_hmset_hmget(redis):
    assert redis.hset("h", "a", "1") == 1
    assert redis.hset("h", values={"a": "10", "b": "2"}) == 1
    assert redis.hsetnx("h", "a", "x") in (0, False)
    assert redis.hsetnx("h", "c", "3") in (1, True)
    assert redis.hmset("h", {"d": "4"}) in ("OK", True)  # the SDK turns OK into True
    assert redis.hmget("h", "a", "b", "nope", "d") == ["10", "2", None, "4"]
    assert redis.hget("h", "nope") is None
    assert redis.hget("missing", "a") is None
    assert redis.hgetall("missing") == {}


def test_hdel_hexists_hlen_hstrlen_hkeys_hvals(redis):
    redis.hset("h", values={"a": "1", "b": "22", "c": "333"})
    assert redis.hexists("h", "b") in (1, True)
    assert redis.hexists("h", "zz") in (0, False)
    assert redis.hlen("h") == 3
    assert redis.hstrlen("h", "c") == 3
    assert redis.hstrlen("h", "zz") == 0
    assert sorted(redis.hkeys("h")) == ["a", "b", "c"]
    assert sorted(redis.hvals("h")) == ["1", "22", "333"]
    assert redis.hdel("h", "a", "c", "nope") == 2
    assert redis.hgetall("h") == {"b": "22"}
    assert redis.hdel("h", "b") == 1
    assert redis.exists("h") == 0


def test_counters_and_their_errors(redis):
    assert redis.hincrby("c", "n", 5) == 5
    assert redis.hincrby("c", "n", -7) == -2
    assert float(redis.hincrbyfloat("c", "f", 2.5)) == 2.5
    assert float(redis.hincrbyfloat("c", "f", 3.5)) == 6
    assert redis.hget("c", "f") == "6"
    redis.hset("c", "name", "Alice")
    with pytest.raises(UpstashError, match="ERR hash value is not an integer"):
        redis.hincrby("c", "name", 1)
    with pytest.raises(UpstashError, match="ERR hash value is not a float"):
        redis.hincrbyfloat("c", "name", 1.5)
    redis.hset("c", "max", "9223372036854775807")
    with pytest.raises(UpstashError, match="increment or decrement would overflow"):
        redis.hincrby("c", "max", 1)


def test_wrong_type(redis):
    redis.set("s", "v")
    for call in (
        lambda: redis.hset("s", "f", "v"),
        lambda: redis.hget("s", "f"),
        lambda: redis.hgetall("s"),
        lambda: redis.hincrby("s", "f", 1),
        lambda: redis.hexpire("s", "f", 10),
        lambda: redis.hgetdel("s", "f"),
    ):
        with pytest.raises(UpstashError, match=WRONGTYPE):
            call()


def test_hrandfield(redis):
    fields = {f"f{i}": f"v{i}" for i in range(10)}
    redis.hset("r", values=fields)
    assert redis.hrandfield("r") in fields
    picked = redis.hrandfield("r", count=5)
    assert len(picked) == 5 and len(set(picked)) == 5 and set(picked) <= set(fields)
    assert sorted(redis.hrandfield("r", count=20)) == sorted(fields)
    assert len(redis.hrandfield("r", count=-30)) == 30
    with_values = redis.hrandfield("r", count=3, withvalues=True)
    assert len(with_values) == 3
    assert all(fields[f] == v for f, v in with_values.items())
    assert redis.hrandfield("missing") is None
    assert redis.hrandfield("missing", count=3) == []


def test_hscan_walks_every_field(redis):
    fields = {f"field:{i}": str(i) for i in range(500)}
    redis.hset("big", values=fields)
    cursor, seen = 0, {}
    while True:
        cursor, page = redis.hscan("big", cursor, count=50)
        items = page.items() if isinstance(page, dict) else zip(page[0::2], page[1::2])
        for field, value in items:
            seen[field] = value
        if cursor == 0:
            break
    assert seen == fields
    cursor, page = redis.hscan("big", 0, match="field:42*", count=10_000)
    assert cursor == 0
    names = set(page) if isinstance(page, dict) else set(page[0::2])
    assert names == {"field:42"} | {f"field:42{i}" for i in range(10)}


def test_field_ttls(redis):
    redis.hset("s", values={"token": "abc", "user": "alice"})
    assert redis.hexpire("s", ["token", "nope"], 100) == [1, -2]
    assert redis.httl("s", ["token", "user"]) == [100, -1]
    assert redis.hpexpire("s", "token", 50_000, gt=True) == [0]
    assert redis.hpexpire("s", "token", 200_000, gt=True) == [1]
    assert 199_000 < redis.hpttl("s", "token")[0] <= 200_000
    at = int(time.time()) + 3600
    assert redis.hexpireat("s", "user", at) == [1]
    assert redis.hexpiretime("s", "user") == [at]
    assert redis.hpexpiretime("s", "user") == [at * 1000]
    assert redis.hpersist("s", ["user", "nope"]) == [1, -2]
    assert redis.httl("s", "user") == [-1]
    assert redis.hpexpireat("s", "user", 1) == [2]
    assert redis.hexists("s", "user") in (0, False)
    assert redis.httl("missing", "a") == [-2]
    with pytest.raises(UpstashError, match="invalid expire time"):
        redis.hexpire("s", "token", -1)


def test_field_expires(redis):
    redis.hset("e", values={"short": "1", "long": "2"})
    assert redis.hpexpire("e", "short", 100) == [1]
    time.sleep(0.3)
    assert redis.hget("e", "short") is None
    assert redis.hgetall("e") == {"long": "2"}
    redis.hpexpire("e", "long", 100)
    time.sleep(0.3)
    assert redis.exists("e") == 0


def test_hgetex_hsetex_hgetdel(redis):
    assert redis.hsetex("x", values={"a": "1", "b": "2"}, ex=100) == 1
    assert redis.httl("x", ["a", "b"]) == [100, 100]
    assert redis.hsetex("x", "a", "again", fnx=True) == 0
    assert redis.hsetex("x", "a", "kept", keepttl=True) == 1
    assert redis.hget("x", "a") == "kept"
    assert redis.httl("x", "a") == [100]
    assert redis.hsetex("x", "zz", "v", fxx=True) == 0
    assert redis.hgetex("x", "a", "b", "nope", persist=True) == ["kept", "2", None]
    assert redis.httl("x", ["a", "b"]) == [-1, -1]
    assert redis.hgetex("x", "a", px=5000) == ["kept"]
    assert 4000 < redis.hpttl("x", "a")[0] <= 5000
    assert redis.hgetdel("x", "a", "nope") == ["kept", None]
    assert redis.hgetall("x") == {"b": "2"}
    assert redis.hgetdel("x", "b") == ["2"]
    assert redis.exists("x") == 0


def test_pipeline_and_transaction(redis):
    pipe = redis.pipeline()
    pipe.hset("p", values={"a": "1"})
    pipe.hincrby("p", "a", 41)
    pipe.hgetall("p")
    assert pipe.exec() == [1, 42, {"a": "42"}]
    tx = redis.multi()
    tx.hdel("p", "a")
    tx.hlen("p")
    assert tx.exec() == [1, 0]


def test_resource_api_sees_sdk_writes(redis, server):
    redis.hset("user:123", values={"name": "Alice", "role": "admin"})
    auth = {"Authorization": f"Bearer {server.token}"}
    whole = requests.get(f"{server.url}/v1/hashes/user:123", headers=auth, timeout=10)
    assert whole.status_code == 200
    assert whole.json() == {"key": "user:123", "fields": {"name": "Alice", "role": "admin"}, "encoding": "utf-8"}
    field = requests.post(f"{server.url}/v1/hashes/user:123/fields/login_count/incr", json={"by": 1}, headers=auth, timeout=10)
    assert field.json()["value"] == 1
    assert redis.hget("user:123", "login_count") == "1"
    missing = requests.get(f"{server.url}/v1/hashes/user:123/fields/age", headers=auth, timeout=10)
    assert missing.status_code == 404 and missing.json()["code"] == "NO_SUCH_FIELD"
