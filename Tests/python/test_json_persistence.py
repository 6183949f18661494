"""JSON documents across restarts and beside a real redis-server: a document
survives a snapshot, the append-only log and its rewrite, with its TTL; a
snapshot holding JSON is refused by a redis-server without the JSON module,
and `keyway rdb-tool convert --skip-types json` writes one it loads; JSON
writes are announced as keyspace events of the module class; JSON values are
charged to maxmemory."""

from __future__ import annotations

import json
import signal
import subprocess

import pytest
import requests

from conftest import keyway_bin, start_server
from redis_reference import REDIS_SERVER, ReferenceRedis

DOCUMENT = {"user": {"name": "Ada", "langs": ["en", "fr"], "age": 36, "score": 1.5, "ok": True, "none": None}}


def cmd(server, *words):
    return requests.post(server.url + "/", json=[str(w) for w in words], headers=server.auth, timeout=30).json()


def restart(server, *extra):
    return start_server("--dir", str(server.workdir), *extra)


def test_document_survives_snapshot_with_its_ttl():
    server = start_server("--save", "")
    try:
        assert cmd(server, "JSON.SET", "doc", "$", json.dumps(DOCUMENT)) == {"result": "OK"}
        assert cmd(server, "JSON.ARRAPPEND", "doc", "$.user.langs", '"de"') == {"result": [3]}
        assert cmd(server, "EXPIRE", "doc", "1000") == {"result": 1}
        assert cmd(server, "SAVE") == {"result": "OK"}
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(timeout=10)
        again = restart(server, "--save", "")
        try:
            stored = json.loads(cmd(again, "JSON.GET", "doc")["result"])
            assert stored["user"]["langs"] == ["en", "fr", "de"]
            assert stored["user"]["score"] == 1.5 and stored["user"]["none"] is None
            assert cmd(again, "TYPE", "doc") == {"result": "ReJSON-RL"}
            assert 990 <= cmd(again, "TTL", "doc")["result"] <= 1000
        finally:
            again.cleanup()
    finally:
        server.cleanup()


def test_document_survives_the_append_only_log_and_its_rewrite():
    server = start_server("--appendonly", "yes", "--appendfsync", "always", "--save", "")
    try:
        cmd(server, "JSON.SET", "doc", "$", json.dumps(DOCUMENT))
        cmd(server, "JSON.NUMINCRBY", "doc", "$.user.age", "1")
        cmd(server, "JSON.DEL", "doc", "$.user.none")
        cmd(server, "JSON.MERGE", "doc", "$.user", '{"city":"London","ok":null}')
        expected = json.loads(cmd(server, "JSON.GET", "doc")["result"])
        assert expected["user"]["age"] == 37 and "ok" not in expected["user"] and expected["user"]["city"] == "London"
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(timeout=10)
        replayed = restart(server, "--appendonly", "yes", "--appendfsync", "always", "--save", "")
        try:
            assert json.loads(cmd(replayed, "JSON.GET", "doc")["result"]) == expected
            assert cmd(replayed, "BGREWRITEAOF")["result"].startswith("Background append only file rewriting")
            for _ in range(100):
                if cmd(replayed, "INFO", "persistence")["result"].find("aof_rewrite_in_progress:0") >= 0:
                    break
            cmd(replayed, "JSON.STRAPPEND", "doc", "$.user.name", '" Lovelace"')
            expected["user"]["name"] = "Ada Lovelace"
            replayed.process.send_signal(signal.SIGKILL)
            replayed.process.wait(timeout=10)
            rewritten = restart(server, "--appendonly", "yes", "--appendfsync", "always", "--save", "")
            try:
                assert json.loads(cmd(rewritten, "JSON.GET", "doc")["result"]) == expected
            finally:
                rewritten.cleanup()
        finally:
            replayed.cleanup()
    finally:
        server.cleanup()


@pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server not installed (make deps installs it)")
def test_convert_leaves_json_out_for_redis_server(tmp_path):
    keyway_dir, redis_dir = tmp_path / "keyway", tmp_path / "redis"
    keyway_dir.mkdir()
    redis_dir.mkdir()
    server = start_server("--dir", str(keyway_dir), "--save", "")
    try:
        cmd(server, "JSON.SET", "doc", "$", json.dumps(DOCUMENT))
        cmd(server, "SET", "plain", "value", "EX", "1000")
        cmd(server, "HSET", "hash", "f", "v")
        assert cmd(server, "SAVE") == {"result": "OK"}
    finally:
        server.cleanup()
    # redis-server without the JSON module refuses the snapshot as it is.
    (redis_dir / "dump.rdb").write_bytes((keyway_dir / "dump.rdb").read_bytes())
    with pytest.raises(Exception):
        ReferenceRedis(redis_dir, raw=True).stop()
    log = (redis_dir / "redis.log").read_text() if (redis_dir / "redis.log").exists() else ""
    if log:
        assert "module" in log.lower()

    converted = tmp_path / "converted"
    converted.mkdir()
    result = subprocess.run([str(keyway_bin()), "rdb-tool", "convert", str(keyway_dir / "dump.rdb"),
                             "--output", str(converted / "dump.rdb"), "--skip-types", "json"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "1 left out" in result.stdout
    reference = ReferenceRedis(converted, raw=True)
    try:
        assert reference.client("GET", "plain") == b"value"
        assert 990 <= reference.client("TTL", "plain") <= 1000
        assert reference.client("HGET", "hash", "f") == b"v"
        assert reference.client("EXISTS", "doc") == 0
    finally:
        reference.stop()

    bad = subprocess.run([str(keyway_bin()), "rdb-tool", "convert", str(keyway_dir / "dump.rdb"),
                          "--output", str(converted / "x.rdb"), "--skip-types", "jsn"], capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "unknown type 'jsn'" in bad.stderr


def test_json_writes_are_keyspace_events_of_the_module_class(server, flush):
    from test_sse_pubsub import Subscriber

    assert cmd(server, "CONFIG", "SET", "notify-keyspace-events", "Ed") == {"result": "OK"}
    sub = Subscriber(f"{server.url}/v1/subscribe?pattern=__keyevent@0__:json.*", server.auth)
    try:
        cmd(server, "JSON.SET", "doc", "$", "{}")
        cmd(server, "JSON.SET", "doc", "$.n", "1")
        cmd(server, "JSON.NUMINCRBY", "doc", "$.n", "1")
        cmd(server, "JSON.DEL", "doc")
        events = [json.loads(sub.next().data) for _ in range(4)]
        assert [e["channel"] for e in events] == [f"__keyevent@0__:json.{name}" for name in ("set", "set", "numincrby", "del")]
        assert {e["message"] for e in events} == {"doc"}
    finally:
        sub.close()
        cmd(server, "CONFIG", "SET", "notify-keyspace-events", "")


def test_json_values_are_charged_to_maxmemory():
    server = start_server("--save", "", "--maxmemory", "2mb", "--maxmemory-policy", "noeviction")
    try:
        big = json.dumps({"items": ["x" * 100 for _ in range(5000)]})
        replies = [cmd(server, "JSON.SET", f"doc:{n}", "$", big) for n in range(10)]
        assert any("OOM" in r.get("error", "") for r in replies), replies
        usage = cmd(server, "MEMORY", "USAGE", "doc:0")["result"]
        assert usage > 5000 * 100
    finally:
        server.cleanup()
