"""Lua scripting over HTTP: EVAL / EVALSHA / SCRIPT through the command API
(``POST /``) and through the Upstash Redis SDK, and lua-time-limit with
SCRIPT KILL served while a runaway script holds the engine."""

from __future__ import annotations

import hashlib
import signal
import threading
import time

import pytest
import requests
from upstash_redis import Redis
from upstash_redis.errors import UpstashError

from conftest import start_server

pytestmark = pytest.mark.usefixtures("flush")

# The compare-and-delete lock release from the Redis docs, verbatim.
RELEASE = 'if redis.call("get",KEYS[1]) == ARGV[1] then return redis.call("del",KEYS[1]) else return 0 end'
RELEASE_SHA = hashlib.sha1(RELEASE.encode()).hexdigest()


@pytest.fixture
def redis(server):
    client = Redis(url=server.url, token=server.token, rest_retries=0)
    yield client
    client.close()


def test_compare_and_delete_through_the_command_api(server):
    assert server.command("SET", "lock", "owner-a", "NX", "PX", "30000").json() == {"result": "OK"}
    r = server.command("EVAL", RELEASE, "1", "lock", "owner-b")
    assert r.status_code == 200 and r.json() == {"result": 0}
    assert server.command("GET", "lock").json() == {"result": "owner-a"}
    r = server.command("EVAL", RELEASE, 1, "lock", "owner-a")
    assert r.status_code == 200 and r.json() == {"result": 1}
    assert server.command("EXISTS", "lock").json() == {"result": 0}


def test_script_load_and_evalsha_through_the_command_api(server):
    r = server.command("SCRIPT", "LOAD", RELEASE)
    assert r.json() == {"result": RELEASE_SHA}
    assert server.command("SCRIPT", "EXISTS", RELEASE_SHA, "f" * 40).json() == {"result": [1, 0]}
    server.command("SET", "lock", "me")
    assert server.command("EVALSHA", RELEASE_SHA, "1", "lock", "me").json() == {"result": 1}
    assert server.command("SCRIPT", "FLUSH").json() == {"result": "OK"}
    r = server.command("EVALSHA", RELEASE_SHA, "1", "lock", "me")
    assert r.status_code == 400
    assert r.json() == {"error": "NOSCRIPT No matching script. Please use EVAL."}


def test_conversions_and_errors_through_the_command_api(server):
    r = server.command("EVAL", "return {1, 'two', {ok='FINE'}, false, 3.7}", "0")
    assert r.json() == {"result": [1, "two", "FINE", None, 3]}
    r = server.command("EVAL", "return redis.error_reply('MYERR custom')", "0")
    assert r.status_code == 400 and r.json() == {"error": "MYERR custom"}
    r = server.command("EVAL", "return 1 +", "0")
    assert r.status_code == 400 and r.json()["error"].startswith("ERR Error compiling script (new function): user_script:1:")
    r = server.command("EVAL", "return 1", "5", "a")
    assert r.json() == {"error": "ERR Number of keys can't be greater than number of args"}
    r = server.command("EVAL", "os.exit(1)", "0")
    assert "Script attempted to access nonexistent global variable 'os'" in r.json()["error"]
    r = server.command("EVAL", "leak = 1", "0")
    assert "Script attempted to create global variable 'leak'" in r.json()["error"]
    r = server.command("EVAL_RO", "return redis.call('SET', 'k', 'v')", "0")
    assert r.json()["error"].startswith("ERR Write commands are not allowed from read-only scripts.")
    r = server.command("EVAL", "return redis.call('SUBSCRIBE', 'c')", "0")
    assert r.json()["error"].startswith("ERR This Redis command is not allowed from script")


def test_a_multi_exec_batch_may_hold_a_script(server):
    r = requests.post(
        server.url + "/multi-exec",
        json=[["SET", "lock", "x"], ["EVAL", RELEASE, "1", "lock", "x"], ["EXISTS", "lock"]],
        headers=server.auth,
        timeout=10,
    )
    assert r.status_code == 200
    assert [item.get("result") for item in r.json()] == ["OK", 1, 0]


def test_compare_and_delete_through_the_sdk(redis):
    assert redis.set("lock", "owner-a", nx=True, px=30000) is True
    assert redis.eval(RELEASE, keys=["lock"], args=["owner-b"]) == 0
    assert redis.get("lock") == "owner-a"
    assert redis.eval(RELEASE, keys=["lock"], args=["owner-a"]) == 1
    assert redis.get("lock") is None


def test_script_load_and_evalsha_through_the_sdk(redis):
    sha = redis.script_load(RELEASE)
    assert sha == RELEASE_SHA
    assert redis.script_exists(sha, "0" * 40) == [True, False]
    redis.set("lock", "me")
    assert redis.evalsha(sha, keys=["lock"], args=["someone-else"]) == 0
    assert redis.evalsha(sha, keys=["lock"], args=["me"]) == 1
    assert redis.evalsha_ro(redis.script_load("return redis.call('GET', KEYS[1])"), keys=["missing"]) is None
    assert redis.eval_ro("return ARGV[1]", args=["écho ✓"]) == "écho ✓"
    assert redis.script_flush("SYNC") is True
    with pytest.raises(UpstashError, match="NOSCRIPT No matching script"):
        redis.evalsha(sha, keys=["lock"], args=["me"])


def test_runaway_script_gets_busy_and_script_kill():
    """A script looping forever: once past lua-time-limit, other requests get
    BUSY (503) at once and SCRIPT KILL, sent on another connection, stops it."""
    srv = start_server()
    try:
        assert srv.command("CONFIG", "SET", "lua-time-limit", "50").json() == {"result": "OK"}
        outcome = {}

        def run():
            r = requests.post(srv.url + "/", json=["EVAL", "while true do end", "0"], headers=srv.auth, timeout=60)
            outcome["status"], outcome["body"] = r.status_code, r.json()

        worker = threading.Thread(target=run)
        worker.start()
        busy = None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            r = srv.command("PING")
            if r.status_code == 503:
                busy = r
                break
            time.sleep(0.01)
        assert busy is not None, "the script never made the server busy"
        assert busy.json() == {"error": "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSCRIPT."}
        problem = requests.get(srv.url + "/v1/keys/k", headers=srv.auth, timeout=10)
        assert problem.status_code == 503 and problem.json()["code"] == "BUSY"
        assert srv.command("SCRIPT", "KILL").json() == {"result": "OK"}
        worker.join(timeout=30)
        assert not worker.is_alive()
        assert outcome["status"] == 400
        assert outcome["body"]["error"].startswith("ERR Script killed by user with SCRIPT KILL...")
        assert srv.command("PING").json() == {"result": "PONG"}
        r = srv.command("SCRIPT", "KILL")
        assert r.status_code == 409 or r.status_code == 400
        assert r.json() == {"error": "NOTBUSY No scripts in execution right now."}
    finally:
        srv.cleanup()


def test_lua_time_limit_from_the_config_file(tmp_path):
    config = tmp_path / "keyway.conf"
    config.write_text("lua-time-limit 1234\n")
    srv = start_server("--config", str(config))
    try:
        assert srv.command("CONFIG", "GET", "lua-time-limit").json() == {"result": ["lua-time-limit", "1234"]}
        assert "not yet effective" not in srv.log_tail() or "lua-time-limit" not in srv.log_tail()
    finally:
        srv.cleanup()


def _start_script(srv, script: str) -> tuple[threading.Thread, dict]:
    """Runs `script` with EVAL on its own connection, in a thread."""
    outcome = {}

    def run():
        try:
            r = requests.post(srv.url + "/", json=["EVAL", script, "0"], headers=srv.auth, timeout=60)
            outcome["status"], outcome["body"] = r.status_code, r.json()
        except requests.RequestException as error:  # the server went away mid-script
            outcome["error"] = error

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    return worker, outcome


def _wait_busy(srv) -> requests.Response:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        r = srv.command("PING")
        if r.status_code == 503:
            return r
        time.sleep(0.01)
    raise AssertionError("the script never made the server busy")


def test_a_zero_time_limit_never_hangs_the_server():
    """lua-time-limit 0 lets a script run without limit, but the server stays
    reachable: probes answer, others get BUSY, SCRIPT KILL stops it."""
    srv = start_server()
    try:
        assert srv.command("CONFIG", "SET", "lua-time-limit", "0").json() == {"result": "OK"}
        worker, outcome = _start_script(srv, "while true do end")
        assert _wait_busy(srv).json()["error"].startswith("BUSY")
        assert requests.get(srv.url + "/healthz", timeout=5).status_code == 200
        assert requests.get(srv.url + "/v1/keys/k", headers=srv.auth, timeout=5).status_code == 503
        assert srv.command("SCRIPT", "KILL").json() == {"result": "OK"}
        worker.join(timeout=30)
        assert outcome["body"]["error"].startswith("ERR Script killed by user")
        assert srv.command("PING").json() == {"result": "PONG"}
    finally:
        srv.cleanup()


def test_sigterm_stops_a_script_that_wrote_and_saves_none_of_it(tmp_path):
    """An unkillable script (it wrote, then loops) no longer makes the
    process unstoppable: SIGTERM ends it, and its half-done writes are not
    saved to the snapshot."""
    srv = start_server("--save", "3600 1")
    try:
        assert srv.command("SET", "before", "1").json() == {"result": "OK"}
        assert srv.command("SAVE").json() == {"result": "OK"}
        assert srv.command("CONFIG", "SET", "lua-time-limit", "50").json() == {"result": "OK"}
        worker, _ = _start_script(srv, "redis.call('SET', 'half', '1') while true do end")
        _wait_busy(srv)
        assert srv.command("SCRIPT", "KILL").json()["error"].startswith("UNKILLABLE")
        srv.process.send_signal(signal.SIGTERM)
        assert srv.process.wait(timeout=20) is not None
        assert "not saving its partial writes" in srv.log_tail()
        worker.join(timeout=10)
    finally:
        srv.cleanup()


def test_shutdown_nosave_is_served_while_a_script_is_busy():
    srv = start_server()
    try:
        assert srv.command("CONFIG", "SET", "lua-time-limit", "50").json() == {"result": "OK"}
        worker, _ = _start_script(srv, "redis.call('SET', 'half', '1') while true do end")
        _wait_busy(srv)
        r = srv.command("SHUTDOWN")
        assert r.status_code == 503 and r.json()["error"].startswith("BUSY")
        try:
            srv.command("SHUTDOWN", "NOSAVE")
        except requests.RequestException:
            pass  # the server may close the connection as it stops
        assert srv.process.wait(timeout=20) is not None
        worker.join(timeout=10)
    finally:
        srv.cleanup()


def test_shutdown_stops_the_server():
    srv = start_server()
    try:
        r = srv.command("SHUTDOWN", "NOW", "LATER")
        assert r.status_code == 400 and r.json() == {"error": "ERR syntax error"}
        try:
            srv.command("SHUTDOWN", "NOSAVE")
        except requests.RequestException:
            pass
        assert srv.process.wait(timeout=20) == 0
    finally:
        srv.cleanup()
