"""RDB compatibility between Keyway and a real Redis 7.0.

- Keyway -> Redis: ``keyway rdb-tool export`` builds a snapshot with every
  type; ``redis-check-rdb`` must accept it and ``redis-server`` must load it
  with the same keys, values, TTLs and stream consumer groups.
- Redis -> Keyway: redis-server writes a ``dump.rdb`` holding every type in
  its compact and plain encodings; ``keyway rdb-tool inspect`` must show the
  same data.

Needs ``redis-server`` and ``redis-check-rdb`` (``make deps`` installs them);
each test starts its own redis-server on a free loopback port with
persistence off and stops it afterwards.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from resp_client import RespClient
from conftest import require_keyway_bin
from redis_reference import ReferenceRedis

REDIS_SERVER = shutil.which("redis-server")
REDIS_CHECK_RDB = shutil.which("redis-check-rdb")

pytestmark = pytest.mark.skipif(
    not (REDIS_SERVER and REDIS_CHECK_RDB),
    reason="redis-server / redis-check-rdb not installed (make deps installs them)",
)


class RedisServer(ReferenceRedis):
    def __init__(self, workdir: Path, dbfilename: str = "dump.rdb"):
        super().__init__(workdir, "--dbfilename", dbfilename)


@pytest.fixture
def redis_factory(tmp_path):
    servers = []

    def start(workdir: Path = tmp_path, dbfilename: str = "dump.rdb") -> RedisServer:
        server = RedisServer(workdir, dbfilename)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


# --- normalised views of a keyspace -----------------------------------------------


def pairs(flat):
    return dict(zip(flat[0::2], flat[1::2]))


def from_redis(r: RespClient) -> dict:
    """Every key of a running Redis, normalised."""
    keys = {}
    for key in r("KEYS", "*"):
        kind = r("TYPE", key)
        expire = r("PEXPIRETIME", key)
        entry = {"type": kind, "expires_at": None if expire < 0 else expire}
        if kind == "string":
            entry["value"] = r("GET", key)
        elif kind == "list":
            entry["value"] = r("LRANGE", key, 0, -1)
        elif kind == "set":
            entry["value"] = sorted(r("SMEMBERS", key))
        elif kind == "zset":
            flat = r("ZRANGE", key, 0, -1, "WITHSCORES")
            entry["value"] = [[m, float(s)] for m, s in zip(flat[0::2], flat[1::2])]
        elif kind == "hash":
            entry["value"] = pairs(r("HGETALL", key))
        elif kind == "stream":
            info = pairs(r("XINFO", "STREAM", key, "FULL", "COUNT", 0))
            groups = []
            for g in info["groups"]:
                g = pairs(g)
                groups.append({
                    "name": g["name"],
                    "last_id": g["last-delivered-id"],
                    "entries_read": g["entries-read"],
                    "pending": [[p[0], p[1], p[2], p[3]] for p in g["pending"]],
                    "consumers": [
                        {"name": c["name"], "seen_time": c["seen-time"], "pending": [p[0] for p in c["pending"]]}
                        for c in (pairs(c) for c in g["consumers"])
                    ],
                })
            entry["value"] = {
                "entries": [[e[0], e[1]] for e in r("XRANGE", key, "-", "+")],
                "last_id": info["last-generated-id"],
                "max_deleted_id": info["max-deleted-entry-id"],
                "entries_added": info["entries-added"],
                "groups": sorted(groups, key=lambda g: g["name"]),
            }
        keys[key] = entry
    return keys


def from_keyway(inspected: dict) -> dict:
    keys = {}
    for entry in inspected["keys"]:
        value = entry["value"]
        if entry["type"] == "zset":
            value = [[m, float(s)] for m, s in value]
        elif entry["type"] == "stream":
            value = {
                "entries": value["entries"],
                "last_id": value["last_id"],
                "max_deleted_id": value["max_deleted_id"],
                "entries_added": value["entries_added"],
                "groups": [
                    {
                        "name": g["name"],
                        "last_id": g["last_id"],
                        "entries_read": g["entries_read"],
                        "pending": g["pending"],
                        "consumers": g["consumers"],
                    }
                    for g in value["groups"]
                ],
            }
        keys[entry["key"]] = {"type": entry["type"], "expires_at": entry["expires_at"], "value": value}
    return keys


def inspect(path: Path) -> dict:
    result = subprocess.run([str(require_keyway_bin()), "rdb-tool", "inspect", str(path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def assert_same(actual: dict, expected: dict):
    assert sorted(actual) == sorted(expected)
    for key in expected:
        assert actual[key] == expected[key], f"key {key!r} differs"


# --- Keyway -> Redis ---------------------------------------------------------------


def every_type_commands() -> list:
    far = int(time.time() * 1000) + 3_600_000
    commands = [
        ["SET", "str:plain", "hello world"],
        ["SET", "str:int", "123456"],
        ["SET", "str:negative", "-42"],
        ["SET", "str:big-int", "9223372036854775807"],
        ["SET", "str:long", "abc" * 500],
        ["SET", "str:unicode", "héllo wörld ✓"],
        ["SET", "str:nul", "a\u0000b"],
        ["SET", "str:ttl", "bye", "PX", "3600000"],
        ["SET", "str:pexpireat", "at"],
        ["PEXPIREAT", "str:pexpireat", str(far)],
        ["RPUSH", "list:small", "a", "b", "1", "-7", "300000"],
        ["RPUSH", "list:big"] + [f"element-{i}" if i % 2 else str(i) for i in range(1000)],
        ["SADD", "set:ints", "1", "2", "3", "-100", "65536", "4294967296"],
        ["SADD", "set:strings", "apple", "banana", "cherry"],
        ["SADD", "set:big"] + [f"member-{i}" for i in range(600)],
        ["SADD", "set:many-ints"] + [str(i) for i in range(700)],
        ["ZADD", "zset:small", "1", "one", "2.5", "two", "-3", "minus"],
        ["ZADD", "zset:inf", "inf", "top", "-inf", "bottom", "0", "zero"],
        ["ZADD", "zset:big"] + [x for i in range(500) for x in (str(i / 3), f"m{i}")],
        ["HSET", "hash:small", "name", "keyway", "port", "7379"],
        ["HSET", "hash:big"] + [x for i in range(500) for x in (f"field{i}", f"value{i}" * (i % 5))],
        ["EXPIRE", "hash:big", "7200"],
    ]
    for i in range(1, 301):
        if i % 7 == 0:
            commands.append(["XADD", "stream", f"{1000 + i}-0", "kind", "odd", "n", str(i), "extra", "x"])
        else:
            commands.append(["XADD", "stream", f"{1000 + i}-{i % 2}", "name", f"n{i}", "n", str(i)])
    commands += [
        ["XDEL", "stream", "1010-0"],
        ["XGROUP", "CREATE", "stream", "workers", "0"],
        ["XGROUP", "CREATE", "stream", "tail", "$"],
        ["XREADGROUP", "GROUP", "workers", "alice", "COUNT", "40", "STREAMS", "stream", ">"],
        ["XREADGROUP", "GROUP", "workers", "bob", "COUNT", "25", "STREAMS", "stream", ">"],
        ["XACK", "stream", "workers", "1001-1", "1002-0"],
        ["XGROUP", "CREATECONSUMER", "stream", "workers", "carol"],
        ["XADD", "stream:empty", "5-5", "f", "v"],
        ["XDEL", "stream:empty", "5-5"],
    ]
    return commands


def test_keyway_snapshot_loads_in_redis(tmp_path, redis_factory):
    commands = tmp_path / "commands.json"
    commands.write_text(json.dumps(every_type_commands()))
    dump = tmp_path / "dump.rdb"
    result = subprocess.run([str(require_keyway_bin()), "rdb-tool", "export", "--commands", str(commands),
                             "--output", str(dump)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert dump.read_bytes()[:9] == b"REDIS0010"

    check = subprocess.run([REDIS_CHECK_RDB, str(dump)], capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "RDB looks OK" in check.stdout

    written = from_keyway(inspect(dump))
    assert len(written) == 22
    assert written["str:long"]["value"] == "abc" * 500
    assert written["list:big"]["value"][:3] == ["0", "element-1", "2"]
    assert written["stream"]["value"]["groups"][1]["name"] == "workers"

    server = redis_factory()
    loaded = from_redis(server.client)
    assert "DB loaded from disk" in server.log_text()
    assert_same(loaded, written)


# --- Redis -> Keyway ---------------------------------------------------------------


def test_redis_dump_loads_in_keyway(tmp_path, redis_factory):
    server = redis_factory()
    r = server.client
    far = int(time.time() * 1000) + 3_600_000
    r("SET", "str:short", "hi")
    r("SET", "str:int8", "100")
    r("SET", "str:int16", "-20000")
    r("SET", "str:int32", "2000000000")
    r("SET", "str:lzf", "compressible " * 200)
    r("SET", "str:ttl", "v", "PX", 3_600_000)
    r("SET", "str:at", "v")
    r("PEXPIREAT", "str:at", far)
    r("RPUSH", "list:listpack", "a", "b", "12", "-5")
    r("RPUSH", "list:quicklist", *[f"item {i}" * (1 + i % 4) for i in range(5000)])
    r("SADD", "set:intset", 1, 2, 3, -9, 70000)
    r("SADD", "set:hashtable", *[f"m{i}" for i in range(300)])
    r("SADD", "set:small-strings", "x", "y")
    r("ZADD", "zset:listpack", 1, "a", 2.5, "b", "-inf", "c")
    r("ZADD", "zset:skiplist", *[x for i in range(300) for x in (i * 1.5, f"member{i}")])
    r("HSET", "hash:listpack", "f1", "v1", "f2", "22")
    r("HSET", "hash:hashtable", *[x for i in range(300) for x in (f"field{i}", "long value " * 10)])
    r("EXPIRE", "hash:hashtable", 9000)
    for i in range(1, 251):
        r("XADD", "stream", f"{2000 + i}-{i % 3}", "sensor", f"s{i % 4}", "value", i * 10)
        if i % 50 == 0:
            r("XADD", "stream", f"{2000 + i}-5", "different", "fields")
    r("XDEL", "stream", "2003-0")
    r("XGROUP", "CREATE", "stream", "g1", "0")
    r("XGROUP", "CREATE", "stream", "g2", "$")
    r("XREADGROUP", "GROUP", "g1", "c1", "COUNT", 30, "STREAMS", "stream", ">")
    r("XREADGROUP", "GROUP", "g1", "c2", "COUNT", 10, "STREAMS", "stream", ">")
    r("XACK", "stream", "g1", "2001-1")
    r("XCLAIM", "stream", "g1", "c2", 0, "2002-2")

    encodings = {k: r("OBJECT", "ENCODING", k) for k in
                 ["list:listpack", "set:intset", "set:hashtable", "zset:listpack", "zset:skiplist",
                  "hash:listpack", "hash:hashtable", "str:int8"]}
    assert encodings["set:intset"] == "intset"
    assert encodings["zset:listpack"] == "listpack"
    assert encodings["zset:skiplist"] == "skiplist"
    assert encodings["hash:listpack"] == "listpack"
    assert encodings["hash:hashtable"] == "hashtable"

    expected = from_redis(r)
    assert r("SAVE") == "OK"
    dump = tmp_path / "dump.rdb"
    assert dump.read_bytes()[:9] == b"REDIS0010"

    actual = from_keyway(inspect(dump))
    assert_same(actual, expected)
