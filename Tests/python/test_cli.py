"""The `keyway` command line: help text, flag validation, protected mode,
and a clean exit on SIGTERM/SIGINT."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests

from conftest import free_port, require_keyway_bin, start_server


def run(*args: str, timeout: float = 15) -> subprocess.CompletedProcess:
    return subprocess.run([str(require_keyway_bin()), *args], capture_output=True, text=True, timeout=timeout)


def test_help_describes_the_server_and_its_flags():
    top = run("--help")
    assert top.returncode == 0
    assert "Redis-style data store" in top.stdout
    assert "serve" in top.stdout and "routes" in top.stdout
    serve = run("serve", "--help")
    assert serve.returncode == 0
    for flag in ["--config", "--bind", "--port", "--token", "--max-body", "--threads", "--log-level", "--unprotected",
                 "--max-streams", "--notify-keyspace-events"]:
        assert flag in serve.stdout, flag
    assert "KEYWAY_TOKEN" in serve.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["--log-level", "loud"], "unknown log level"),
        (["--max-body", "0"], "--max-body must be positive"),
        (["--threads", "0"], "--threads must be positive"),
        (["--notify-keyspace-events", "KQ"], "--notify-keyspace-events"),
        (["--port", "70000"], "port"),
        (["--bind", "not-an-address", "--port", "0"], "not-an-address"),
    ],
)
def test_bad_flags_are_refused_with_a_reason(args, message):
    result = run("serve", *args)
    assert result.returncode != 0
    assert message in (result.stderr + result.stdout)


def test_protected_mode_refuses_an_open_public_bind():
    result = run("serve", "--bind", "0.0.0.0", "--port", str(free_port()))
    assert result.returncode != 0
    output = result.stderr + result.stdout
    assert "protected mode" in output
    assert "--token" in output and "KEYWAY_TOKEN" in output and "--unprotected" in output


@pytest.mark.parametrize("line", ['requirepass ""', "requirepass ''", "requirepass"])
def test_an_empty_requirepass_does_not_open_a_public_bind(tmp_path, line):
    """An empty password is no password: protected mode still refuses."""
    config = write_config(tmp_path, f"{line}\nbind 0.0.0.0\nport {free_port()}\n")
    result = run("serve", "--config", str(config))
    output = result.stderr + result.stdout
    assert result.returncode != 0
    assert "protected mode" in output or "requirepass" in output


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_stops_cleanly_on_signal(stop_signal):
    server = start_server()
    try:
        assert requests.post(server.url + "/", json=["SET", "k", "v"], headers=server.auth, timeout=5).json() == {"result": "OK"}
        server.process.send_signal(stop_signal)
        assert server.process.wait(timeout=10) == 0
        assert "shutting down" in server.log_tail()
    finally:
        server.cleanup()


def test_a_second_server_on_a_busy_port_fails():
    first = start_server()
    try:
        result = run("serve", "--port", str(first.port))
        assert result.returncode != 0
        assert "could not listen" in (result.stderr + result.stdout)
    finally:
        first.cleanup()


def write_config(tmp_path, text: str):
    path = tmp_path / "keyway.conf"
    path.write_text(text)
    return path


def test_config_file_sets_token_and_notifications(tmp_path):
    # The file's port loses to the --port flag start_server passes.
    config = write_config(tmp_path, f"""
# a redis.conf-style file
port {free_port()}
requirepass "file token"
notify-keyspace-events Ex
maxmemory 100mb
maxmemory-policy allkeys-lfu
tcp-keepalive 300
""")
    server = start_server("--config", str(config), token="file token", token_flag=False)
    try:
        r = requests.post(server.url + "/", json=["CONFIG", "GET", "notify-keyspace-events"], headers=server.auth, timeout=5)
        assert r.json() == {"result": ["notify-keyspace-events", "xE"]}
        assert requests.post(server.url + "/", json=["PING"], timeout=5).status_code == 401
        r = requests.post(server.url + "/", json=["CONFIG", "GET", "maxmemory*"], headers=server.auth, timeout=5)
        assert dict(zip(r.json()["result"][::2], r.json()["result"][1::2]))["maxmemory"] == str(100 << 20)
        r = requests.post(server.url + "/", json=["CONFIG", "GET", "maxmemory-policy"], headers=server.auth, timeout=5)
        assert r.json() == {"result": ["maxmemory-policy", "allkeys-lfu"]}
        assert "not yet effective in Keyway: tcp-keepalive" in server.log_tail()
    finally:
        server.cleanup()


def test_flags_override_the_config_file(tmp_path):
    config = write_config(tmp_path, "requirepass from-file\nmaxclients 5\n")
    server = start_server("--config", str(config), token="from-flag")
    try:
        assert requests.post(server.url + "/", json=["PING"], headers=server.auth, timeout=5).json() == {"result": "PONG"}
        bad = requests.post(server.url + "/", json=["PING"], headers={"Authorization": "Bearer from-file"}, timeout=5)
        assert bad.status_code == 401
    finally:
        server.cleanup()


@pytest.mark.parametrize(
    "text, message",
    [
        ("port 7379\nfrobnicate yes\n", "line 2: Bad directive"),
        ("port seventy\n", "line 1: expected a port number"),
        ('requirepass "unterminated\n', "line 1: unbalanced quotes"),
        ("protected-mode maybe\n", "expected yes or no"),
        ("notify-keyspace-events KQ\n", "invalid event class"),
    ],
)
def test_bad_config_files_are_refused_with_the_line(tmp_path, text, message):
    config = write_config(tmp_path, text)
    result = run("serve", "--config", str(config), "--port", str(free_port()))
    assert result.returncode != 0
    assert message in (result.stderr + result.stdout)


def test_a_missing_config_file_is_refused():
    result = run("serve", "--config", "/nonexistent/keyway.conf")
    assert result.returncode != 0
    assert "cannot read the config file" in result.stderr + result.stdout


def test_config_rewrite_and_the_config_resource(tmp_path):
    config = write_config(tmp_path, "# kept comment\nsave 900 1\nsave 300 10\n")
    server = start_server("--config", str(config))
    try:
        r = requests.get(server.url + "/v1/config?name=save&name=notify-*", headers=server.auth, timeout=5)
        assert r.status_code == 200
        assert r.json() == {"config": {"notify-keyspace-events": "", "save": "900 1 300 10"}}
        r = requests.patch(server.url + "/v1/config", json={"save": "60 5", "notify-keyspace-events": "Ex"},
                           headers=server.auth, timeout=5)
        assert r.status_code == 200
        assert r.json()["config"] == {"save": "60 5", "notify-keyspace-events": "xE"}
        bad = requests.patch(server.url + "/v1/config", json={"nope": "1"}, headers=server.auth, timeout=5)
        assert bad.status_code == 400 and "Unknown option" in bad.json()["detail"]
        assert requests.post(server.url + "/", json=["CONFIG", "REWRITE"], headers=server.auth, timeout=5).json() == {"result": "OK"}
        text = config.read_text()
        assert text.startswith("# kept comment\nsave 60 5\n")
        assert "save 300 10" not in text
        assert "notify-keyspace-events xE" in text
    finally:
        server.cleanup()
    # The rewritten file starts a server with the same settings.
    again = start_server("--config", str(config))
    try:
        r = requests.get(again.url + "/v1/config?name=save", headers=again.auth, timeout=5)
        assert r.json() == {"config": {"save": "60 5"}}
    finally:
        again.cleanup()


def test_config_doc_matches_the_committed_reference():
    result = run("config-doc")
    assert result.returncode == 0
    committed = (Path(__file__).resolve().parents[2] / "docs" / "CONFIGURATION.md").read_text()
    assert result.stdout == committed, "docs/CONFIGURATION.md is stale: regenerate it with `keyway config-doc`"


def test_every_table_parameter_is_a_flag_in_the_help():
    help_text = run("serve", "--help").stdout
    for flag in ["--maxmemory-samples", "--lua-time-limit", "--hz", "--slowlog-max-len", "--session-ttl",
                 "--cache-timeout", "--auto-aof-rewrite-min-size", "--maxclients"]:
        assert flag in help_text, flag


def config_values(server, pattern="*"):
    result = server.command("CONFIG", "GET", pattern).json()["result"]
    return dict(zip(result[::2], result[1::2]))


def test_a_flag_and_its_directive_are_one_setting(tmp_path):
    settings = {"maxmemory-policy": "allkeys-lru", "maxmemory-samples": "7", "hz": "20", "lua-time-limit": "250",
                "slowlog-max-len": "9"}
    flagged = start_server(*[arg for name, value in settings.items() for arg in (f"--{name}", value)])
    try:
        from_flags = config_values(flagged)
    finally:
        flagged.cleanup()
    config = write_config(tmp_path, "".join(f"{name} {value}\n" for name, value in settings.items()))
    filed = start_server("--config", str(config))
    try:
        from_file = config_values(filed)
    finally:
        filed.cleanup()
    for name, value in settings.items():
        assert from_flags[name] == value == from_file[name], name


def test_a_bad_value_is_refused_alike_by_the_flag_the_file_and_config_set(tmp_path):
    reason = "must be between 1 and 64 inclusive"
    flag = run("serve", "--maxmemory-samples", "0", "--port", str(free_port()))
    assert flag.returncode != 0 and "--maxmemory-samples" in flag.stderr and reason in flag.stderr
    config = write_config(tmp_path, "maxmemory-samples 0\n")
    filed = run("serve", "--config", str(config), "--port", str(free_port()))
    assert filed.returncode != 0 and "config file line 1" in filed.stderr and reason in filed.stderr
    server = start_server()
    try:
        bad = server.command("CONFIG", "SET", "maxmemory-samples", "0")
        assert bad.status_code == 400
        assert bad.json() == {"error": f"ERR CONFIG SET failed (possibly related to argument 'maxmemory-samples') - argument {reason}"}
    finally:
        server.cleanup()


def test_paths_are_protected_configs(tmp_path):
    config = write_config(tmp_path, "dbfilename from-file.rdb\n")
    server = start_server("--config", str(config), "--dir", str(tmp_path))
    try:
        for name in ["dir", "dbfilename", "appendfilename"]:
            bad = server.command("CONFIG", "SET", name, "elsewhere")
            assert bad.status_code == 400
            assert bad.json() == {"error": f"ERR CONFIG SET failed (possibly related to argument '{name}') - can't set protected config"}
        assert config_values(server, "d*") == {"dir": str(tmp_path), "dbfilename": "from-file.rdb", "databases": "1"}
        r = requests.patch(server.url + "/v1/config", json={"dir": "/tmp"}, headers=server.auth, timeout=5)
        assert r.status_code == 400 and "protected config" in r.json()["detail"]
        assert server.command("SET", "k", "v").json() == {"result": "OK"}
        assert server.command("SAVE").json() == {"result": "OK"}
        assert (tmp_path / "from-file.rdb").exists()
    finally:
        server.cleanup()
