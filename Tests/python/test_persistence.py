"""Snapshots through the running server: admin routes, restart after a clean
shutdown, a crash (kill -9) falling back to the last completed snapshot,
save rules, and the file checked by Redis's own redis-check-rdb."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import requests

from conftest import start_server


def cmd(server, *words):
    return requests.post(server.url + "/", json=list(words), headers=server.auth, timeout=10).json()


def restart(server, *extra):
    """A new server on the same working directory (and so the same dump.rdb)."""
    return start_server("--dir", str(server.workdir), *extra)


def test_admin_save_lastsave_and_redis_check_rdb():
    server = start_server("--save", "")
    try:
        cmd(server, "HSET", "user:123", "name", "Alice", "role", "admin")
        cmd(server, "ZADD", "leaderboard", "1500", "player1", "2300", "player2")
        r = requests.post(server.url + "/v1/admin/save", headers=server.auth, timeout=10)
        assert r.status_code == 200 and r.json()["saved"] is True
        last = requests.get(server.url + "/v1/admin/lastsave", headers=server.auth, timeout=10).json()["lastSave"]
        assert last == r.json()["lastSave"] and abs(last - time.time()) < 5
        check = subprocess.run(["redis-check-rdb", str(server.workdir / "dump.rdb")], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
        r = requests.post(server.url + "/v1/admin/bgsave", headers=server.auth, timeout=10)
        assert r.status_code == 202 and r.json()["status"] == "Background saving started"
        r = requests.post(server.url + "/v1/admin/bgsave?schedule=maybe", headers=server.auth, timeout=10)
        assert r.status_code == 400
    finally:
        server.cleanup()


def test_clean_shutdown_saves_and_restart_loads():
    first = start_server()
    try:
        cmd(first, "SET", "greeting", "hello", "EX", "1000")
        cmd(first, "RPUSH", "queue", "a", "b")
        cmd(first, "XADD", "events", "1-1", "type", "order.created")
        cmd(first, "XGROUP", "CREATE", "events", "g", "0")
        first.process.send_signal(signal.SIGTERM)
        assert first.process.wait(timeout=10) == 0
        assert "saved the snapshot on shutdown" in first.log_tail()
        second = restart(first)
        try:
            assert cmd(second, "GET", "greeting") == {"result": "hello"}
            assert 990 <= cmd(second, "TTL", "greeting")["result"] <= 1000
            assert cmd(second, "LRANGE", "queue", "0", "-1") == {"result": ["a", "b"]}
            assert cmd(second, "XINFO", "GROUPS", "events")["result"][0][1] == "g"
            assert "snapshot loaded" in second.log_tail()
        finally:
            second.cleanup()
    finally:
        first.cleanup()


def test_after_kill_9_the_last_completed_snapshot_loads():
    server = start_server("--save", "")
    try:
        cmd(server, "SET", "saved", "yes")
        assert requests.post(server.url + "/v1/admin/save", headers=server.auth, timeout=10).status_code == 200
        cmd(server, "SET", "unsaved", "lost")
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(timeout=10)
        again = restart(server)
        try:
            assert cmd(again, "GET", "saved") == {"result": "yes"}
            assert cmd(again, "GET", "unsaved") == {"result": None}
        finally:
            again.cleanup()
    finally:
        server.cleanup()


def test_save_rules_fire_in_the_background():
    server = start_server("--save", "1 2")
    try:
        cmd(server, "SET", "a", "1")
        cmd(server, "SET", "b", "2")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not (server.workdir / "dump.rdb").exists():
            time.sleep(0.1)
        assert (server.workdir / "dump.rdb").exists()
        info = cmd(server, "INFO", "persistence")["result"]
        assert "rdb_last_bgsave_status:ok" in info
    finally:
        server.cleanup()


def test_a_corrupt_snapshot_stops_the_start_with_a_clear_message():
    server = start_server("--save", "")
    try:
        cmd(server, "SET", "k", "v")
        requests.post(server.url + "/v1/admin/save", headers=server.auth, timeout=10)
        path = server.workdir / "dump.rdb"
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
        result = subprocess.run([*server.args[:2], "--port", "0", "--dir", str(server.workdir)],
                                capture_output=True, text=True, timeout=20)
        assert result.returncode != 0
        assert "cannot load the snapshot" in result.stderr + result.stdout
    finally:
        server.cleanup()


def test_leftover_temporary_files_are_removed_at_start(tmp_path):
    """A BGSAVE or BGREWRITEAOF killed midway leaves temp-*.rdb and
    temp-rewriteaof-bg-*.aof; the next start removes them, and nothing else."""
    dead = 4_194_000
    while True:
        try:
            os.kill(dead, 0)
        except ProcessLookupError:
            break
        except PermissionError:
            pass
        dead -= 1
    leftovers = [f"temp-{dead}-4242.rdb", f"temp-rewriteaof-bg-{dead}.aof"]
    for name in leftovers + ["keep-me.txt"]:
        (tmp_path / name).write_bytes(b"x" * 1024)
    server = start_server("--dir", str(tmp_path), "--save", "")
    try:
        assert sorted(p.name for p in tmp_path.iterdir() if p.name != "dump.rdb") == ["keep-me.txt"]
        assert all(name in server.log_tail() for name in leftovers)
    finally:
        server.cleanup()


def test_a_failed_save_is_a_server_error(tmp_path):
    """SAVE that cannot write the snapshot is the server's failure: 500
    SAVE_FAILED on both faces with Redis's ERR text, and no temporary file
    is left behind."""
    server = start_server("--dir", str(tmp_path), "--save", "")
    try:
        (tmp_path / "dump.rdb").mkdir()  # rename() over a directory fails, even for root
        cmd(server, "SET", "k", "v")
        r = requests.post(server.url + "/v1/admin/save", headers=server.auth, timeout=10)
        assert r.status_code == 500 and r.json()["code"] == "SAVE_FAILED", r.text
        assert r.json()["detail"].startswith("ERR ")
        r = requests.post(server.url + "/", json=["SAVE"], headers=server.auth, timeout=10)
        assert r.status_code == 500 and r.json()["error"].startswith("ERR "), r.text
        assert sorted(p.name for p in tmp_path.iterdir()) == ["dump.rdb"]
        assert cmd(server, "GET", "k") == {"result": "v"}
    finally:
        server.cleanup()
