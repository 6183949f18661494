"""Sorted sets through the published Upstash Redis SDK (``upstash-redis``).

The SDK sends every command as ``POST /`` with ``Upstash-Encoding: base64``
and turns scores into Python floats; the raw score text is checked through
``server.command`` where Redis 7.2's formatting matters.
"""

from __future__ import annotations

import pytest
from upstash_redis.errors import UpstashError

pytestmark = pytest.mark.usefixtures("flush")


def raw(server, *args):
    r = server.command(*args)
    assert r.status_code == 200, r.text
    return r.json()["result"]


def test_leaderboard_pattern(redis):
    assert redis.zadd("leaderboard", {"player1": 1500, "player2": 2300, "player3": 1800}) == 3
    assert redis.zrevrange("leaderboard", 0, 9, withscores=True) == [
        ("player2", 2300.0),
        ("player3", 1800.0),
        ("player1", 1500.0),
    ]
    assert redis.zrank("leaderboard", "player1") == 0
    assert redis.zrevrank("leaderboard", "player1") == 2
    assert redis.zincrby("leaderboard", 100, "player1") == 1600.0
    assert redis.zrangebyscore("leaderboard", 1000, 2000) == ["player1", "player3"]
    assert redis.zcard("leaderboard") == 3
    assert redis.zscore("leaderboard", "player2") == 2300.0
    assert redis.zscore("leaderboard", "nobody") is None


def test_zadd_options(redis):
    assert redis.zadd("z", {"a": 1, "b": 2}) == 2
    assert redis.zadd("z", {"a": 5, "c": 3}, nx=True) == 1
    assert redis.zadd("z", {"a": 5, "d": 4}, xx=True, ch=True) == 1
    assert redis.zadd("z", {"a": 1, "b": 9}, gt=True, ch=True) == 1
    assert redis.zadd("z", {"a": 2.5}, incr=True) == 7.5
    assert redis.zadd("z", {"zz": 1}, xx=True, incr=True) is None
    assert redis.zmscore("z", ["a", "b", "c", "d"]) == [7.5, 9.0, 3.0, None]


def test_errors_have_redis_text(redis, server):
    with pytest.raises(UpstashError, match="ERR GT, LT, and/or NX options at the same time are not compatible"):
        redis.execute(["ZADD", "z", "GT", "LT", "1", "a"])
    with pytest.raises(UpstashError, match="ERR XX and NX options at the same time are not compatible"):
        redis.execute(["ZADD", "z", "NX", "XX", "1", "a"])
    with pytest.raises(UpstashError, match="ERR value is not a valid float"):
        redis.execute(["ZADD", "z", "one", "a"])
    with pytest.raises(UpstashError, match=r"ERR resulting score is not a number \(NaN\)"):
        # JSON has no infinities: send them as text.
        redis.execute(["ZADD", "inf", "inf", "m"])
        redis.execute(["ZINCRBY", "inf", "-inf", "m"])
    with pytest.raises(UpstashError, match="ERR min or max is not a float"):
        redis.zcount("z", "low", 10)
    with pytest.raises(UpstashError, match="ERR min or max not valid string range item"):
        redis.execute(["ZLEXCOUNT", "z", "a", "+"])
    with pytest.raises(UpstashError, match="LIMIT is only supported in combination with either BYSCORE or BYLEX"):
        redis.execute(["ZRANGE", "z", "0", "1", "LIMIT", "0", "1"])
    redis.set("str", "v")
    with pytest.raises(UpstashError, match="WRONGTYPE"):
        redis.zadd("str", {"a": 1})


def test_zrange_forms(redis):
    redis.zadd("z", {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5})
    assert redis.zrange("z", 0, -1) == ["a", "b", "c", "d", "e"]
    assert redis.zrange("z", 0, 1, rev=True, withscores=True) == [("e", 5.0), ("d", 4.0)]
    assert redis.zrange("z", "(1", 4, sortby="BYSCORE", offset=1, count=2) == ["c", "d"]
    assert redis.zrange("z", "+inf", "-inf", sortby="BYSCORE", rev=True, offset=0, count=2) == ["e", "d"]
    assert redis.zrevrangebyscore("z", 4, "(2", withscores=True) == [("d", 4.0), ("c", 3.0)]
    assert redis.zcount("z", "(1", "+inf") == 4
    assert redis.zrangestore("dst", "z", 2, 3, sortby="BYSCORE") == 2
    assert redis.zrange("dst", 0, -1, withscores=True) == [("b", 2.0), ("c", 3.0)]
    redis.zadd("lex", {"alpha": 0, "beta": 0, "gamma": 0})
    assert redis.zrangebylex("lex", "[b", "+") == ["beta", "gamma"]
    assert redis.zrevrangebylex("lex", "+", "-", offset=0, count=1) == ["gamma"]
    assert redis.zlexcount("lex", "-", "(gamma") == 2


def test_scores_are_formatted_like_redis_7_2(server):
    assert raw(server, "ZADD", "f", "1.5", "a", "3", "b", "1e20", "c", "-0", "d", "inf", "e", "0.1", "g") == 6
    assert raw(server, "ZSCORE", "f", "a") == "1.5"
    assert raw(server, "ZSCORE", "f", "b") == "3"
    assert raw(server, "ZSCORE", "f", "c") == "1e+20"
    assert raw(server, "ZSCORE", "f", "d") == "-0"
    assert raw(server, "ZSCORE", "f", "e") == "inf"
    assert raw(server, "ZINCRBY", "f", "0.2", "g") == "0.30000000000000004"


def test_removals_and_pops(redis):
    redis.zadd("z", {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "f": 6})
    assert redis.zrem("z", "a", "nope") == 1
    assert redis.zpopmin("z") == [("b", 2.0)]
    assert redis.zpopmax("z", 2) == [("f", 6.0), ("e", 5.0)]
    assert redis.zremrangebyscore("z", "-inf", "(4") == 1
    assert redis.zremrangebyrank("z", 0, -1) == 1
    assert redis.exists("z") == 0
    assert redis.zpopmin("z") == []
    redis.zadd("q", {"x": 1, "y": 2})
    assert redis.execute(["ZMPOP", "2", "none", "q", "MAX", "COUNT", "5"]) == ["q", [["y", "2"], ["x", "1"]]]
    redis.zadd("q", {"w": 7})
    assert redis.execute(["BZPOPMIN", "none", "q", "1"]) == ["q", "w", "7"]


def test_set_algebra(redis):
    redis.zadd("a", {"x": 1, "y": 2, "z": 3})
    redis.zadd("b", {"y": 10, "z": 20, "w": 30})
    assert redis.zunion(["a", "b"], withscores=True) == [("x", 1.0), ("y", 12.0), ("z", 23.0), ("w", 30.0)]
    assert redis.zinter(["a", "b"], weights=[2, 1], aggregate="MAX", withscores=True) == [("y", 10.0), ("z", 20.0)]
    assert redis.zdiff(["a", "b"]) == ["x"]
    assert redis.zunionstore("u", ["a", "b"], aggregate="MIN") == 4
    assert redis.zrange("u", 0, -1, withscores=True) == [("x", 1.0), ("y", 2.0), ("z", 3.0), ("w", 30.0)]
    assert redis.zinterstore("i", ["a", "b"]) == 2
    assert redis.zdiffstore("d", ["b", "a"]) == 1
    assert redis.execute(["ZINTERCARD", "2", "a", "b", "LIMIT", "1"]) == 1


def test_random_members_and_scan(redis):
    members = {f"m{i}": i for i in range(300)}
    assert redis.zadd("big", members) == 300
    picked = redis.zrandmember("big", 10, withscores=True)
    assert len(picked) == 10 and len({m for m, _ in picked}) == 10
    assert all(members[m] == s for m, s in picked)
    assert len(redis.zrandmember("big", -500)) == 500
    cursor, seen = 0, {}
    while True:
        cursor, page = redis.zscan("big", cursor, match="m1*", count=50)
        seen.update(page)
        if cursor == 0:
            break
    assert seen == {m: float(s) for m, s in members.items() if m.startswith("m1")}


def test_large_set_ranks(redis):
    members = {f"player:{i}": (i * 7919) % 10_000 for i in range(10_000)}
    for start in range(0, 10_000, 2_000):
        chunk = dict(list(members.items())[start : start + 2_000])
        assert redis.zadd("big", chunk) == 2_000
    assert redis.zcard("big") == 10_000
    for i in range(0, 10_000, 1_111):
        assert redis.zrank("big", f"player:{i}") == members[f"player:{i}"]
    assert redis.zrange("big", 0, 2, rev=True, withscores=True) == [
        (m, float(s)) for m, s in sorted(members.items(), key=lambda kv: -kv[1])[:3]
    ]


def test_leaderboard_resource_and_commands_agree(server, redis):
    import requests

    r = requests.post(
        server.url + "/v1/leaderboards/game",
        json={"scores": {"player1": 1500, "player2": 2300, "player3": 1800}},
        headers=server.auth,
        timeout=10,
    )
    assert r.status_code == 201 and r.json() == {"key": "game", "added": 3, "changed": 3}
    assert redis.zrevrange("game", 0, 0) == ["player2"]
    redis.zincrby("game", 1000, "player1")
    top = requests.get(server.url + "/v1/leaderboards/game?limit=2", headers=server.auth, timeout=10).json()
    assert top["entries"] == [
        {"member": "player1", "score": 2500, "rank": 0},
        {"member": "player2", "score": 2300, "rank": 1},
    ]
