"""Redis sets through the published Upstash Redis SDK (``upstash-redis``),
plus the same data read back through the ``/v1/sets`` resource API.

The SDK sends ``Upstash-Encoding: base64`` and decodes every string, so
binary-safe round trips are checked here as a real client sees them.
"""

from __future__ import annotations

import pytest
import requests
from upstash_redis.errors import UpstashError

pytestmark = pytest.mark.usefixtures("flush")

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


def get(server, path, **kwargs):
    return requests.get(server.url + path, headers=server.auth, timeout=10, **kwargs)


# --- the patterns users know ---------------------------------------------------


def test_tags_membership_and_common_interests(redis, server):
    assert redis.sadd("post:123:tags", "rust", "backend", "axum") == 3
    assert redis.sadd("post:123:tags", "rust") == 0
    assert redis.sismember("post:123:tags", "rust") is True
    assert redis.sismember("post:123:tags", "go") is False
    assert set(redis.smembers("post:123:tags")) == {"rust", "backend", "axum"}

    redis.sadd("user:123:interests", "rust", "chess", "hiking")
    redis.sadd("user:456:interests", "hiking", "rust", "jazz")
    assert set(redis.sinter("user:123:interests", "user:456:interests")) == {"rust", "hiking"}

    redis.sadd("tag:rust", "post:1", "post:2")
    redis.sadd("tag:backend", "post:2", "post:3")
    assert set(redis.sunion("tag:rust", "tag:backend")) == {"post:1", "post:2", "post:3"}

    # The resource API sees the same sets.
    r = get(server, "/v1/sets/intersection", params=[("keys", "user:123:interests"), ("keys", "user:456:interests")])
    assert r.status_code == 200
    assert set(r.json()["members"]) == {"rust", "hiking"}
    r = get(server, "/v1/sets/post:123:tags/members/rust")
    assert r.status_code == 200 and r.json()["isMember"] is True
    assert get(server, "/v1/sets/post:123:tags/members/go").status_code == 404


# --- membership ------------------------------------------------------------------


def test_scard_srem_smismember(redis):
    redis.sadd("s", "a", "b", "c")
    assert redis.scard("s") == 3
    assert redis.smismember("s", "a", "z", "c") == [True, False, True]
    assert redis.srem("s", "a", "z") == 1
    assert redis.scard("s") == 2
    assert redis.srem("s", "b", "c") == 2
    assert redis.exists("s") == 0
    assert redis.scard("s") == 0
    assert redis.smembers("missing") == []


def test_numbers_and_binary_members_round_trip(redis):
    assert redis.sadd("n", 1, 2.5, "3") == 3
    assert set(redis.smembers("n")) == {"1", "2.5", "3"}
    assert redis.sismember("n", 1) is True
    odd = "caf\u00e9 \u00ff\x00"
    assert redis.sadd("bin", odd, "plain") == 2
    assert redis.sismember("bin", odd) is True
    assert set(redis.smembers("bin")) == {odd, "plain"}


def test_wrongtype(redis):
    redis.set("str", "v")
    for call in (
        lambda: redis.sadd("str", "a"),
        lambda: redis.smembers("str"),
        lambda: redis.spop("str", 0),
        lambda: redis.sinter("missing", "str"),
        lambda: redis.sunionstore("dest", "str"),
    ):
        with pytest.raises(UpstashError) as exc:
            call()
        assert str(exc.value) == WRONGTYPE
    assert redis.get("str") == "v"


# --- random members ----------------------------------------------------------------


def test_spop(redis):
    members = {f"m{i}" for i in range(10)}
    redis.sadd("s", *members)
    one = redis.spop("s")
    assert one in members
    three = redis.spop("s", 3)
    assert len(three) == 3 and len(set(three)) == 3
    assert one not in three and set(three) <= members
    assert redis.spop("s", 0) == []
    rest = redis.spop("s", 100)
    assert set(rest) | set(three) | {one} == members
    assert redis.exists("s") == 0
    assert redis.spop("s") is None
    with pytest.raises(UpstashError) as exc:
        redis.spop("s", -1)
    assert str(exc.value) == "ERR value is out of range, must be positive"


def test_srandmember(redis):
    redis.sadd("s", "a", "b", "c")
    assert redis.srandmember("s") in {"a", "b", "c"}
    two = redis.srandmember("s", 2)
    assert len(two) == 2 and len(set(two)) == 2
    assert set(redis.srandmember("s", 10)) == {"a", "b", "c"}
    repeats = redis.srandmember("s", -7)
    assert len(repeats) == 7 and set(repeats) <= {"a", "b", "c"}
    assert redis.srandmember("missing") is None
    assert redis.srandmember("missing", 3) == []
    assert redis.scard("s") == 3


# --- SMOVE and set algebra ---------------------------------------------------------


def test_smove(redis):
    redis.sadd("src", "a", "b")
    assert redis.smove("src", "dst", "a") == 1
    assert redis.smove("src", "dst", "zzz") == 0
    assert set(redis.smembers("dst")) == {"a"}
    assert redis.smove("missing", "dst", "a") == 0
    assert redis.smove("src", "dst", "b") == 1
    assert redis.exists("src") == 0


def test_algebra_and_store(redis, server):
    redis.sadd("a", "1", "2", "3", "4")
    redis.sadd("b", "3", "4", "5")
    assert set(redis.sdiff("a", "b")) == {"1", "2"}
    assert redis.sinterstore("i", "a", "b") == 2
    assert set(redis.smembers("i")) == {"3", "4"}
    assert redis.sunionstore("u", "a", "b") == 5
    assert redis.sdiffstore("d", "b", "a") == 1
    assert redis.smembers("d") == ["5"]
    # An empty result deletes the destination whatever it held.
    redis.set("d", "a string")
    assert redis.sdiffstore("d", "a", "a") == 0
    assert redis.exists("d") == 0
    # SINTERCARD has no SDK method; the SDK's generic execute sends it.
    assert redis.execute(["SINTERCARD", "2", "a", "b"]) == 2
    assert redis.execute(["SINTERCARD", "2", "a", "b", "LIMIT", "1"]) == 1
    with pytest.raises(UpstashError) as exc:
        redis.execute(["SINTERCARD", "0", "a"])
    assert str(exc.value) == "ERR numkeys should be greater than 0"
    # The stored set through the resource API.
    r = get(server, "/v1/sets/u")
    assert r.status_code == 200
    assert r.json()["cardinality"] == 5


def test_sscan_pages_through_a_large_set(redis):
    members = [f"member:{i}" for i in range(2000)]
    for start in range(0, len(members), 500):
        redis.sadd("big", *members[start : start + 500])
    seen = []
    cursor = 0
    while True:
        cursor, page = redis.sscan("big", cursor, count=100)
        seen += page
        if cursor == 0:
            break
    assert len(seen) == 2000 and set(seen) == set(members)
    cursor, page = redis.sscan("big", 0, match="member:1?", count=5000)
    assert cursor == 0
    assert set(page) == {f"member:{i}" for i in range(10, 20)}
