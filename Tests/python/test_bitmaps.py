"""Bitmaps through the command API, compared reply for reply with a real
redis-server 7 given the same commands: SETBIT, GETBIT, BITCOUNT, BITPOS,
BITOP, BITFIELD and BITFIELD_RO, on strings both servers built the same
way, plus bitmaps in Lua, transactions, and across a restart.

Keyway checks a range's arguments before reading the key (as Redis 7.2 and
later do); redis-server 7.0 answers a missing key first. The random
commands below give bad arguments only to keys that exist, where both agree.
"""

from __future__ import annotations

import base64
import random

import pytest
import requests

from conftest import start_server
from redis_reference import REDIS_SERVER, assert_same, reference_redis  # noqa: F401 (reference_redis is a fixture)

pytestmark = pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server not installed (make deps installs it)")

KEYS = ["bm:a", "bm:b", "bm:c"]


EDGE_CASES = [
    ["SETBIT", "bm:a", 7, 1], ["SETBIT", "bm:a", 7, 0], ["SETBIT", "bm:a", 100, 1], ["GET", "bm:a"],
    ["GETBIT", "bm:a", 100], ["GETBIT", "bm:a", 4294967295], ["GETBIT", "bm:none", 3],
    ["SETBIT", "bm:a", -1, 1], ["SETBIT", "bm:a", 4294967296, 1], ["SETBIT", "bm:a", 1, 2], ["SETBIT", "bm:a", "01", 1],
    ["SETBIT", "bm:a"], ["GETBIT", "bm:a", "x"],
    ["SET", "bm:s", "foobar"], ["BITCOUNT", "bm:s"], ["BITCOUNT", "bm:s", 1, 1], ["BITCOUNT", "bm:s", 5, 30, "BIT"],
    ["BITCOUNT", "bm:s", -2, -1], ["BITCOUNT", "bm:s", -1, -2], ["BITCOUNT", "bm:s", 1], ["BITCOUNT", "bm:s", 0, 1, "WORD"],
    ["BITCOUNT", "bm:none"], ["BITPOS", "bm:none", 0], ["BITPOS", "bm:none", 1],
    ["SET", "bm:ones", "\x7f\x7f"], ["BITPOS", "bm:ones", 0], ["BITPOS", "bm:ones", 1, 1], ["BITPOS", "bm:ones", 0, 0, -1],
    ["BITPOS", "bm:s", 1, 2, -1, "BYTE"], ["BITPOS", "bm:s", 0, 7, 15, "BIT"], ["BITPOS", "bm:s", 2], ["BITPOS", "bm:s", 1, 0, 1, 2],
    ["SET", "bm:e", ""], ["BITPOS", "bm:e", 0], ["BITPOS", "bm:e", 1], ["BITCOUNT", "bm:e"],
    ["SET", "bm:k1", "foobar"], ["SET", "bm:k2", "abcdef"], ["BITOP", "AND", "bm:d", "bm:k1", "bm:k2"], ["GET", "bm:d"],
    ["BITOP", "or", "bm:d", "bm:k1", "bm:none"], ["GET", "bm:d"], ["BITOP", "XOR", "bm:d", "bm:k1", "bm:k2", "bm:s"], ["GET", "bm:d"],
    ["BITOP", "NOT", "bm:d", "bm:k1"], ["GET", "bm:d"], ["BITOP", "NOT", "bm:d", "bm:k1", "bm:k2"], ["BITOP", "NAND", "bm:d", "bm:k1"],
    ["BITOP", "AND", "bm:d", "bm:none"], ["EXISTS", "bm:d"],
    ["RPUSH", "bm:list", "x"], ["SETBIT", "bm:list", 0, 1], ["GETBIT", "bm:list", 0], ["BITCOUNT", "bm:list"],
    ["BITPOS", "bm:list", 1], ["BITOP", "OR", "bm:d", "bm:list"], ["BITFIELD", "bm:list", "GET", "u8", 0],
    ["BITFIELD", "bm:f", "SET", "i8", 0, 127, "INCRBY", "i8", 0, 1, "GET", "u4", "#1"],
    ["BITFIELD", "bm:f", "OVERFLOW", "SAT", "INCRBY", "i8", 0, -1000, "OVERFLOW", "FAIL", "INCRBY", "i8", 0, -1],
    ["BITFIELD", "bm:f", "SET", "u8", 0, -1, "GET", "u8", 0, "SET", "i64", 8, -5, "GET", "i64", 8, "GET", "u63", 8],
    ["BITFIELD", "bm:f", "GET", "u64", 0], ["BITFIELD", "bm:f", "GET", "U8", 0], ["BITFIELD", "bm:f", "GET", "i0", 0],
    ["BITFIELD", "bm:f", "GET", "i8"], ["BITFIELD", "bm:f", "OVERFLOW", "MAYBE"], ["BITFIELD", "bm:f", "INCRBY", "u8", 0, "x"],
    ["BITFIELD", "bm:f", "SET", "u8", "#-1", 1], ["BITFIELD", "bm:f", "GET", "u8", "#536870912"], ["BITFIELD", "bm:f"],
    ["BITFIELD", "bm:new", "OVERFLOW", "FAIL", "INCRBY", "u2", 0, 5], ["EXISTS", "bm:new"], ["STRLEN", "bm:new"],
    ["BITFIELD_RO", "bm:f", "GET", "i16", 3, "GET", "u8", "#2"], ["BITFIELD_RO", "bm:f", "SET", "u8", 0, 1],
    ["BITFIELD_RO", "bm:f", "OVERFLOW", "SAT", "GET", "u8", 0], ["BITFIELD_RO", "bm:none", "GET", "i8", 0],
    ["APPEND", "bm:f", "tail"], ["GET", "bm:f"], ["SETRANGE", "bm:f", 1, "X"], ["BITCOUNT", "bm:f", 0, -1, "BIT"],
]


def test_edge_cases_answer_as_redis_does(flush, reference_redis):
    for command in EDGE_CASES:
        assert_same(flush, reference_redis, *command)


def random_command(rng: random.Random) -> list:
    key = rng.choice(KEYS)
    kind = rng.randrange(12)
    if kind == 0:
        return ["SETBIT", key, rng.randrange(0, 200), rng.randrange(2)]
    if kind == 1:
        return ["GETBIT", key, rng.randrange(0, 260)]
    if kind == 2:
        unit = rng.choice([[], ["BYTE"], ["BIT"]])
        return ["BITCOUNT", key] + ([rng.randrange(-40, 40), rng.randrange(-40, 40)] + unit if rng.random() < 0.8 else [])
    if kind == 3:
        shape = rng.randrange(4)
        args = [rng.randrange(-40, 40) for _ in range(min(shape, 2))]
        return ["BITPOS", key, rng.randrange(2)] + args + (["BIT" if rng.random() < 0.5 else "BYTE"] if shape == 3 else [])
    if kind == 4:
        operation = rng.choice(["AND", "OR", "XOR", "NOT"])
        sources = [rng.choice(KEYS)] if operation == "NOT" else rng.sample(KEYS, rng.randrange(1, 4))
        return ["BITOP", operation, rng.choice(KEYS)] + sources
    if kind in (5, 6, 7):
        command = ["BITFIELD", key]
        for _ in range(rng.randrange(1, 5)):
            signed = rng.random() < 0.5
            kind_of = f"{'i' if signed else 'u'}{rng.randrange(1, 65 if signed else 64)}"
            offset = f"#{rng.randrange(0, 4)}" if rng.random() < 0.2 else rng.randrange(0, 120)
            action = rng.randrange(4)
            if action == 0:
                command += ["GET", kind_of, offset]
            elif action == 1:
                command += ["SET", kind_of, offset, rng.choice([0, 1, -1, 127, 128, -129, 2**62, -2**63, 2**63 - 1, rng.randrange(-1000, 1000)])]
            elif action == 2:
                command += ["INCRBY", kind_of, offset, rng.choice([1, -1, 100, -100, 2**40, -2**40, 2**63 - 1, -2**63])]
            else:
                command += ["OVERFLOW", rng.choice(["WRAP", "SAT", "FAIL"])]
        return command
    if kind == 8:
        return ["BITFIELD_RO", key, "GET", rng.choice(["i8", "u8", "i13", "u1", "i64"]), rng.randrange(0, 150)]
    if kind == 9:
        return ["SET", key, "".join(rng.choice("abc\x7f~") for _ in range(rng.randrange(0, 12)))]
    if kind == 10:
        return ["APPEND", key, rng.choice(["x", "\x01\x02", "zz"])]
    return ["GET", key]


@pytest.mark.parametrize("seed", range(4))
def test_random_commands_answer_as_redis_does(flush, reference_redis, seed):
    rng = random.Random(seed)
    for _ in range(400):
        assert_same(flush, reference_redis, *random_command(rng))
    for key in KEYS:
        assert_same(flush, reference_redis, "GET", key)


def test_bitmaps_in_lua_and_transactions(flush):
    script = "redis.call('SETBIT', KEYS[1], 9, 1); return {redis.call('GETBIT', KEYS[1], 9), redis.call('BITCOUNT', KEYS[1])}"
    r = flush.command("EVAL", script, "1", "bm:lua")
    assert r.json() == {"result": [1, 1]}
    r = requests.post(flush.url + "/multi-exec", json=[["SETBIT", "bm:tx", "0", "1"], ["BITFIELD", "bm:tx", "INCRBY", "u4", "4", "3"],
                                                       ["BITOP", "NOT", "bm:tx2", "bm:tx"], ["GET", "bm:tx2"]],
                      headers={**flush.auth, "Upstash-Encoding": "base64"}, timeout=10)
    assert r.json() == [{"result": 0}, {"result": [3]}, {"result": 1}, {"result": base64.b64encode(bytes([0x7C])).decode()}]


def test_a_far_offset_under_maxmemory_is_refused_with_oom(tmp_path):
    server = start_server("--maxmemory", "64mb")
    try:
        r = server.command("SETBIT", "bm:huge", "4294967295", "1")
        assert r.status_code == 503, r.text
        assert r.json()["error"].startswith("OOM"), r.text
        assert server.command("EXISTS", "bm:huge").json() == {"result": 0}
        assert server.command("SETBIT", "bm:ok", "80000", "1").json() == {"result": 0}
    finally:
        server.cleanup()


def test_bitmaps_survive_a_restart_through_the_aof(tmp_path):
    server = start_server("--appendonly", "yes", "--dir", str(tmp_path))
    try:
        for command in (["SETBIT", "bm:p", "13", "1"], ["BITFIELD", "bm:p", "SET", "u8", "16", "200"],
                        ["BITFIELD", "bm:fail", "OVERFLOW", "FAIL", "INCRBY", "u2", "0", "5"]):
            assert server.command(*command).status_code == 200
        before = {key: server.command("GET", key).json() for key in ("bm:p", "bm:fail")}
    finally:
        server.stop()
    again = start_server("--appendonly", "yes", "--dir", str(tmp_path))
    try:
        assert {key: again.command("GET", key).json() for key in ("bm:p", "bm:fail")} == before
        assert again.command("BITCOUNT", "bm:p").json() == {"result": 1 + 3}
    finally:
        again.cleanup()


def test_bitmap_routes(flush):
    base = flush.url + "/v1/bitmaps/"
    auth = flush.auth

    def call(method, path, **kwargs):
        return requests.request(method, base + path, headers=auth, timeout=10, **kwargs)

    r = call("GET", "active%3Amon/bits/5")
    assert (r.status_code, r.json()) == (200, {"key": "active:mon", "offset": 5, "bit": 0})
    r = call("PUT", "active%3Amon/bits/5", json={"bit": 1})
    assert (r.status_code, r.json()) == (200, {"key": "active:mon", "offset": 5, "bit": 1, "previous": 0})
    assert call("PUT", "active%3Amon/bits/5", json={"bit": 1}).json()["previous"] == 1
    for offset in (9, 17, 100):
        assert call("PUT", f"active%3Atue/bits/{offset}", json={"bit": 1}).status_code == 200
    call("PUT", "active%3Atue/bits/5", params={"bit": 1})
    assert call("GET", "active%3Atue/bits/100").json()["bit"] == 1
    assert flush.command("GET", "active:mon").json() == {"result": "\x04"}

    assert call("GET", "active%3Atue/count").json() == {"key": "active:tue", "count": 4}
    assert call("GET", "active%3Atue/count", params={"start": 1, "end": 2}).json()["count"] == 2
    assert call("GET", "active%3Atue/count", params={"start": 9, "end": 17, "unit": "bit"}).json()["count"] == 2
    assert call("GET", "missing/count").json() == {"key": "missing", "count": 0}

    assert call("GET", "active%3Atue/position", params={"bit": 1}).json() == {"key": "active:tue", "bit": 1, "position": 5}
    assert call("GET", "active%3Atue/position", params={"bit": 1, "start": 2}).json()["position"] == 17
    assert call("GET", "active%3Atue/position", params={"bit": 1, "start": 13, "end": 14}).json()["position"] is None
    assert call("GET", "missing/position", params={"bit": 0}).json()["position"] == 0

    r = call("POST", "active%3Aboth/op", json={"operation": "and", "keys": ["active:mon", "active:tue"]})
    assert (r.status_code, r.json()) == (200, {"key": "active:both", "length": 13})
    assert call("GET", "active%3Aboth/count").json()["count"] == 1
    r = call("POST", "active%3Aeither/op", json={"operation": "OR", "keys": ["active:mon", "active:tue"]})
    assert call("GET", "active%3Aeither/count").json()["count"] == 4
    r = call("POST", "active%3Aonly-tue/op", json={"operation": "diff", "keys": ["active:tue", "active:mon"]})
    assert call("GET", "active%3Aonly-tue/count").json()["count"] == 3
    assert call("POST", "nothing/op", json={"operation": "or", "keys": ["missing"]}).json() == {"key": "nothing", "length": 0}

    # Bad input: Redis's errors, or the route's own.
    for method, path, kwargs, status, code in [
        ("GET", "k/bits/-1", {}, 400, "ERR"),
        ("GET", "k/bits/4294967296", {}, 400, "ERR"),
        ("GET", "k/bits/x", {}, 400, "ERR"),
        ("PUT", "k/bits/1", {"json": {"bit": 2}}, 400, "ERR"),
        ("PUT", "k/bits/1", {"json": {}}, 400, "BAD_REQUEST"),
        ("PUT", "k/bits/1", {"json": {"bit": "one"}}, 400, "BAD_REQUEST"),
        ("PUT", "k/bits/1", {"data": "{not json", "headers": {**auth, "Content-Type": "application/json"}}, 400, "BAD_REQUEST"),
        ("GET", "k/count", {"params": {"start": 1}}, 400, "BAD_REQUEST"),
        ("GET", "k/count", {"params": {"end": 1}}, 400, "BAD_REQUEST"),
        ("GET", "k/count", {"params": {"start": 0, "end": 1, "unit": "word"}}, 400, "SYNTAX"),
        ("GET", "k/position", {}, 400, "BAD_REQUEST"),
        ("GET", "k/position", {"params": {"bit": 3}}, 400, "ERR"),
        ("POST", "k/op", {"json": {"operation": "nand", "keys": ["a"]}}, 400, "SYNTAX"),
        ("POST", "k/op", {"json": {"operation": "not", "keys": ["a", "b"]}}, 400, "ERR"),
        ("POST", "k/op", {"json": {"operation": "and", "keys": []}}, 400, "BAD_REQUEST"),
    ]:
        r = requests.request(method, base + path, **({"headers": auth} | kwargs), timeout=10)
        assert r.status_code == status, (method, path, kwargs, r.text)
        assert r.json()["code"] == code, (method, path, kwargs, r.text)
    flush.command("RPUSH", "queue", "job")
    r = call("GET", "queue/bits/0")
    assert (r.status_code, r.json()["code"]) == (409, "WRONGTYPE")
    assert call("PUT", "queue/bits/0", json={"bit": 1}).status_code == 409
