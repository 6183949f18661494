"""maxmemory over HTTP: OOM refusals as 503 problem+json, readiness, INFO memory."""

from __future__ import annotations

import subprocess

import pytest
import requests

from conftest import free_port, require_keyway_bin, start_server


def info_memory(server) -> dict:
    r = requests.get(server.url + "/v1/info", params={"section": "memory"}, headers=server.auth, timeout=5)
    assert r.status_code == 200
    return r.json()["memory"]


def test_info_memory_section_parses_and_tracks_writes():
    server = start_server()
    try:
        before = info_memory(server)
        for name in ("used_memory", "used_memory_rss", "used_memory_peak", "maxmemory", "mem_fragmentation_ratio"):
            assert name in before, name
        assert before["maxmemory"] == 0
        assert before["maxmemory_policy"] == "noeviction"
        assert before["used_memory_rss"] > 0
        assert server.command("SET", "big", "x" * 100_000).json() == {"result": "OK"}
        after = info_memory(server)
        assert after["used_memory"] - before["used_memory"] >= 100_000
        assert after["used_memory_peak"] >= after["used_memory"]
        usage = server.command("MEMORY", "USAGE", "big").json()["result"]
        assert 100_000 <= usage < 100_200
        # The text form is Redis's.
        text = server.command("INFO", "memory").json()["result"]
        assert text.startswith("# Memory\r\n")
        assert "\r\nmaxmemory_policy:noeviction\r\n" in text
    finally:
        server.cleanup()


def test_oom_is_503_with_code_oom_and_recovers_after_a_delete():
    server = start_server()
    try:
        for i in range(20):
            assert server.command("SET", f"key:{i:02}", "v" * 100).status_code == 200
        used = info_memory(server)["used_memory"]
        assert server.command("CONFIG", "SET", "maxmemory", str(used - 1)).json() == {"result": "OK"}
        assert server.command("CONFIG", "GET", "maxmemory").json() == {"result": ["maxmemory", str(used - 1)]}

        # The command API keeps Upstash's body shape, with Redis's text.
        refused = server.command("SET", "more", "v")
        assert refused.status_code == 503
        assert refused.json() == {"error": "OOM command not allowed when used memory > 'maxmemory'."}

        # The resource API answers problem+json with the stable code.
        put = requests.put(server.url + "/v1/keys/other", json={"value": "v"}, headers=server.auth, timeout=5)
        assert put.status_code == 503
        assert put.headers["Content-Type"].startswith("application/problem+json")
        problem = put.json()
        assert problem["code"] == "OOM"
        assert problem["status"] == 503
        assert "OOM command not allowed when used memory > 'maxmemory'." in problem["detail"]
        pushed = requests.post(server.url + "/v1/lists/queue", json={"values": ["job"], "end": "right"}, headers=server.auth, timeout=5)
        assert pushed.status_code == 503
        assert pushed.json()["code"] == "OOM"

        # In a pipeline each refused command carries its own error.
        piped = requests.post(server.url + "/pipeline", json=[["GET", "key:02"], ["SET", "x", "y"]], headers=server.auth, timeout=5)
        assert piped.status_code == 200
        assert piped.json()[0] == {"result": "v" * 100}
        assert piped.json()[1]["error"].startswith("OOM ")

        # A transaction holding a write is refused whole, as Redis 7 refuses EXEC.
        multi = requests.post(server.url + "/multi-exec", json=[["DEL", "key:03"], ["SET", "x", "y"]], headers=server.auth, timeout=5)
        assert multi.status_code == 503
        assert multi.json() == {"error": "OOM command not allowed when used memory > 'maxmemory'."}
        assert server.command("EXISTS", "key:03").json() == {"result": 1}

        ready = requests.get(server.url + "/readyz", timeout=5)
        assert ready.status_code == 503
        assert ready.json() == {"status": "oom"}

        # Reads and deletes still work.
        assert server.command("GET", "key:01").json() == {"result": "v" * 100}
        assert server.command("DEL", "key:00", "key:01").json() == {"result": 2}
        assert requests.get(server.url + "/readyz", timeout=5).status_code == 200
        assert server.command("SET", "more", "v").json() == {"result": "OK"}
    finally:
        server.cleanup()


def test_eviction_policy_set_over_http_evicts_and_counts():
    server = start_server()
    try:
        for i in range(50):
            server.command("SET", f"key:{i:02}", "v" * 100)
        used = info_memory(server)["used_memory"]
        assert server.command("CONFIG", "SET", "maxmemory-policy", "allkeys-lru").json() == {"result": "OK"}
        assert server.command("CONFIG", "SET", "maxmemory", str(used // 2)).json() == {"result": "OK"}
        assert server.command("SET", "new", "v" * 100).json() == {"result": "OK"}
        memory = info_memory(server)
        assert memory["used_memory"] <= used // 2 + 300
        assert memory["maxmemory_policy"] == "allkeys-lru"
        stats = requests.get(server.url + "/v1/info", params={"section": "stats"}, headers=server.auth, timeout=5).json()["stats"]
        assert stats["evicted_keys"] >= 20
        metrics = requests.get(server.url + "/metrics", headers=server.auth, timeout=5).text
        assert "keyway_evicted_keys_total " in metrics
        assert f"keyway_memory_max_bytes {used // 2}" in metrics
        assert "keyway_memory_used_bytes " in metrics
    finally:
        server.cleanup()


def test_bad_memory_settings_are_rejected():
    server = start_server()
    try:
        bad = server.command("CONFIG", "SET", "maxmemory", "-1")
        assert bad.status_code == 400
        assert bad.json() == {"error": "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value"}
        bad = server.command("CONFIG", "SET", "maxmemory-policy", "lru")
        assert bad.status_code == 400
        assert server.command("CONFIG", "SET", "maxmemory", "100mb").json() == {"result": "OK"}
        assert server.command("CONFIG", "GET", "maxmemory").json() == {"result": ["maxmemory", str(100 << 20)]}
        assert server.command("OBJECT", "FREQ", "nothing").json() == {"result": None}
        assert server.command("MEMORY", "USAGE").status_code == 400
    finally:
        server.cleanup()


def test_serve_flags_set_the_limit_and_policy():
    server = start_server("--maxmemory", "64mb", "--maxmemory-policy", "volatile-ttl")
    try:
        memory = info_memory(server)
        assert memory["maxmemory"] == 64 << 20
        assert memory["maxmemory_human"] == "64.00M"
        assert memory["maxmemory_policy"] == "volatile-ttl"
    finally:
        server.cleanup()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--maxmemory", "lots"], "--maxmemory: expected a size"),
        (["--maxmemory=-1mb"], "--maxmemory: expected a size"),
        (["--maxmemory-policy", "lru"], "--maxmemory-policy must be one of"),
    ],
)
def test_bad_memory_flags_are_refused(args, message):
    result = subprocess.run([str(require_keyway_bin()), "serve", *args], capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert message in (result.stderr + result.stdout)


@pytest.mark.parametrize(
    "text, message",
    [
        ("maxmemory 12parsecs\n", "line 1: expected a size such as 100mb"),
        ("port 7379\nmaxmemory-policy most-used\n", "line 2: unknown maxmemory policy"),
        ("maxmemory-samples 0\n", "maxmemory-samples must be 1..64"),
        ("lfu-log-factor -3\n", "expected a non-negative integer"),
    ],
)
def test_bad_memory_directives_are_refused_with_the_line(tmp_path, text, message):
    config = tmp_path / "keyway.conf"
    config.write_text(text)
    result = subprocess.run([str(require_keyway_bin()), "serve", "--config", str(config), "--port", str(free_port())],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert message in (result.stderr + result.stdout)


def test_config_file_memory_directives_take_effect(tmp_path):
    config = tmp_path / "keyway.conf"
    config.write_text("maxmemory 2gb\nmaxmemory-policy volatile-lfu\nmaxmemory-samples 10\nlfu-log-factor 20\nlfu-decay-time 5\n")
    server = start_server("--config", str(config))
    try:
        result = server.command("CONFIG", "GET", "*").json()["result"]
        values = dict(zip(result[::2], result[1::2]))
        assert values["maxmemory"] == str(2 << 30)
        assert values["maxmemory-policy"] == "volatile-lfu"
        assert values["maxmemory-samples"] == "10"
        assert values["lfu-log-factor"] == "20"
        assert values["lfu-decay-time"] == "5"
        assert "not yet effective" not in server.log_tail()
    finally:
        server.cleanup()
