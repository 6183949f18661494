"""The append-only file Keyway writes is one Redis 7 reads.

``keyway aof-tool export`` runs a list of commands against an in-memory engine
that logs to an AOF (and writes the rewritten AOF and a JSON dump of the
final keyspace). Then ``redis-check-aof`` must accept both files, and a real
``redis-server`` 7 started on each must hold exactly the same keys, values,
TTLs and stream consumer-group state.

Needs Debian's ``redis-server`` and ``redis-tools`` (``make deps``). The server
is started by hand on a random loopback port in a temporary directory, never
as a service. Redis 7 converts a legacy single-file AOF found as
``<dir>/appendonly.aof`` into its multi-part layout (``appendonlydir/``) on
start-up, so the file is placed there.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from resp_client import RespClient
from conftest import free_port, require_keyway_bin

pytestmark = pytest.mark.skipif(
    shutil.which("redis-server") is None or shutil.which("redis-check-aof") is None,
    reason="redis-server / redis-check-aof not installed (apt-get install redis-server redis-tools)",
)

COMMANDS = [
    ["SET", "plain", "hello"],
    ["SET", "ttl:ex", "v", "EX", "1000"],
    ["SET", "ttl:px", "v", "PX", "900000"],
    ["SETEX", "ttl:setex", "500", "v"],
    ["SET", "ttl:expire", "v"],
    ["EXPIRE", "ttl:expire", "700"],
    ["SET", "ttl:getex", "v"],
    ["GETEX", "ttl:getex", "EX", "800"],
    ["SET", "gone", "v"],
    ["EXPIRE", "gone", "-5"],
    ["SET", "counter", "10"],
    ["INCRBY", "counter", "5"],
    ["INCRBYFLOAT", "float", "2.5"],
    ["INCRBYFLOAT", "float", "0.1"],
    ["APPEND", "plain", " world"],
    ["RPUSH", "list", "a", "b", "c", "d", "e"],
    ["LPOP", "list"],
    ["BLPOP", "list", "0"],
    ["BLMOVE", "list", "list2", "RIGHT", "LEFT", "0"],
    ["SADD", "set", "x", "y", "z", "w", "v"],
    ["SPOP", "set"],
    ["SPOP", "set", "2"],
    ["SADD", "big"] + [f"member-{i}" for i in range(150)],
    ["ZADD", "zset", "1.5", "a", "-2", "b", "3.25", "c", "1e20", "d"],
    ["ZINCRBY", "zset", "0.1", "a"],
    ["BZPOPMIN", "zset", "0"],
    ["HSET", "hash", "f1", "1", "f2", "two"],
    ["HINCRBYFLOAT", "hash", "f1", "0.5"],
    ["HINCRBY", "hash", "n", "7"],
    ["XADD", "stream", "*", "k", "v1"],
    ["XADD", "stream", "*", "k", "v2"],
    ["XADD", "stream", "*", "k", "v3"],
    ["XADD", "stream", "MAXLEN", "10", "*", "k", "v4"],
    ["XGROUP", "CREATE", "stream", "g1", "0"],
    ["XGROUP", "CREATE", "stream", "g2", "$"],
    ["XGROUP", "CREATECONSUMER", "stream", "g1", "idle-consumer"],
    ["XREADGROUP", "GROUP", "g1", "alice", "COUNT", "2", "STREAMS", "stream", ">"],
    ["XREADGROUP", "GROUP", "g1", "bob", "COUNT", "1", "STREAMS", "stream", ">"],
    ["XREADGROUP", "GROUP", "g1", "alice", "STREAMS", "stream", "0"],
    ["XCLAIM", "stream", "g1", "bob", "0", "0-1", "IDLE", "10"],
    ["XAUTOCLAIM", "stream", "g1", "carol", "0", "0", "COUNT", "1"],
    ["XADD", "stream", "*", "k", "v5"],
    ["XGROUP", "CREATE", "empty-stream", "g", "$", "MKSTREAM"],
    ["XADD", "trimmed", "1-1", "a", "1"],
    ["XADD", "trimmed", "2-1", "a", "2"],
    ["XDEL", "trimmed", "1-1"],
]


def start_redis(directory: Path):
    port = free_port()
    log = directory / "redis.log"
    process = subprocess.Popen(
        [
            "redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory),
            "--appendonly", "yes", "--appendfilename", "appendonly.aof", "--save", "",
            "--daemonize", "no", "--logfile", str(log),
        ],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 20
    while True:
        try:
            client = RespClient(port)
            if client("PING") == "PONG":
                # PING answers LOADING errors while the AOF loads.
                return process, client, log
        except (OSError, RuntimeError):
            pass
        if process.poll() is not None or time.time() > deadline:
            process.kill()
            raise AssertionError("redis-server did not start:\n" + (log.read_text() if log.exists() else ""))
        time.sleep(0.05)


def stop_redis(process, client) -> None:
    try:
        client("SHUTDOWN", "NOSAVE")
    except (OSError, RuntimeError):
        pass
    client.close()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    keyway = require_keyway_bin()
    directory = tmp_path_factory.mktemp("aof")
    commands = directory / "commands.json"
    commands.write_text(json.dumps(COMMANDS))
    paths = {
        "log": directory / "appendonly.aof",
        "rewrite": directory / "rewritten.aof",
        "dump": directory / "dump.json",
    }
    result = subprocess.run(
        [str(keyway), "aof-tool", "export", "--commands", str(commands), "--output", str(paths["log"]),
         "--rewrite", str(paths["rewrite"]), "--dump", str(paths["dump"]), "--fsync", "always"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", result.stderr
    return paths, json.loads(paths["dump"].read_text())


@pytest.mark.parametrize("kind", ["log", "rewrite"])
def test_redis_check_aof_accepts_the_file(exported, kind):
    paths, _ = exported
    result = subprocess.run(["redis-check-aof", str(paths[kind])], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is valid" in result.stdout


def test_the_log_propagates_effects(exported):
    paths, _ = exported
    text = paths["log"].read_bytes()
    # Relative expiries, random and blocking commands never reach the file.
    for word in [b"\r\nEX\r\n", b"SETEX", b"\r\nEXPIRE\r\n", b"SPOP", b"BLPOP", b"BLMOVE", b"BZPOPMIN",
                 b"INCRBYFLOAT", b"HINCRBYFLOAT", b"XREADGROUP", b"XAUTOCLAIM", b"\r\n*\r\n"]:
        assert word not in text, word
    for word in [b"PXAT", b"PEXPIREAT", b"SREM", b"LMOVE", b"ZPOPMIN", b"XCLAIM", b"KEEPTTL"]:
        assert word in text, word


@pytest.mark.parametrize("kind", ["log", "rewrite"])
def test_redis_server_loads_the_same_keyspace(exported, kind, tmp_path):
    paths, expected = exported
    shutil.copy(paths[kind], tmp_path / "appendonly.aof")
    process, redis, log = start_redis(tmp_path)
    try:
        assert sorted(redis("KEYS", "*")) == sorted(expected)
        for key, want in expected.items():
            assert redis("TYPE", key) == want["type"], key
            assert redis("PEXPIRETIME", key) == want["pexpiretime"], key
            value = want["value"]
            kind_ = want["type"]
            if kind_ == "string":
                assert redis("GET", key) == value, key
            elif kind_ == "list":
                assert redis("LRANGE", key, 0, -1) == value, key
            elif kind_ == "set":
                assert sorted(redis("SMEMBERS", key)) == value, key
            elif kind_ == "zset":
                got = redis("ZRANGE", key, 0, -1, "WITHSCORES")
                pairs = [[got[i], float(got[i + 1])] for i in range(0, len(got), 2)]
                assert pairs == [[m, float(s)] for m, s in value], key
            elif kind_ == "hash":
                got = redis("HGETALL", key)
                assert dict(zip(got[::2], got[1::2])) == value, key
            elif kind_ == "stream":
                entries = redis("XRANGE", key, "-", "+")
                assert [[e[0], e[1]] for e in entries] == value["entries"], key
                info = redis("XINFO", "STREAM", key)
                info = dict(zip(info[::2], info[1::2]))
                assert info["last-generated-id"] == value["last-generated-id"], key
                assert info["entries-added"] == value["entries-added"], key
                groups = {}
                for group in redis("XINFO", "GROUPS", key):
                    group = dict(zip(group[::2], group[1::2]))
                    groups[group["name"]] = group
                assert sorted(groups) == sorted(value["groups"]), key
                for name, want_group in value["groups"].items():
                    group = groups[name]
                    assert group["last-delivered-id"] == want_group["last-delivered-id"], (key, name)
                    assert group["entries-read"] == want_group["entries-read"], (key, name)
                    pending = redis("XPENDING", key, name, "-", "+", 1000)
                    assert [[p[0], p[1], p[3]] for p in pending] == want_group["pending"], (key, name)
                    consumers = sorted(c[1] for c in redis("XINFO", "CONSUMERS", key, name))
                    assert consumers == sorted(want_group["consumers"]), (key, name)
    finally:
        stop_redis(process, redis)
    assert "Successfully migrated an old-style AOF" in log.read_text() or (tmp_path / "appendonlydir").is_dir()
