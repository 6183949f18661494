"""The append-only file in a running server: every acknowledged write
survives kill -9 under `appendfsync always`; `everysec` loses at most about
a second; a torn last command is dropped, corruption in the middle refuses
to start naming the offset; rewrites (BGREWRITEAOF, CONFIG SET appendonly)
keep every type and TTL; redis-check-aof accepts the file."""

from __future__ import annotations

import signal
import subprocess
import threading
import time

import requests

from conftest import start_server


def cmd(server, *words):
    return requests.post(server.url + "/", json=list(words), headers=server.auth, timeout=30).json()


def restart(server, *extra):
    return start_server("--dir", str(server.workdir), "--save", "", *extra)


def populate(server):
    cmd(server, "SET", "string", "hello", "EX", "1000")
    cmd(server, "INCRBYFLOAT", "float", "10.5")
    cmd(server, "RPUSH", "list", "a", "b", "c")
    cmd(server, "HSET", "hash", "name", "Alice", "role", "admin")
    cmd(server, "HEXPIRE", "hash", "1000", "FIELDS", "1", "role")
    cmd(server, "SADD", "set", "x", "y")
    cmd(server, "ZADD", "zset", "1.5", "m1", "2", "m2")
    cmd(server, "XADD", "stream", "1-1", "type", "created")
    cmd(server, "XGROUP", "CREATE", "stream", "g", "0")
    cmd(server, "XREADGROUP", "GROUP", "g", "c1", "COUNT", "1", "STREAMS", "stream", ">")


def check_populated(server):
    assert cmd(server, "GET", "string") == {"result": "hello"}
    assert 990 <= cmd(server, "TTL", "string")["result"] <= 1000
    assert cmd(server, "GET", "float") == {"result": "10.5"}
    assert cmd(server, "LRANGE", "list", "0", "-1") == {"result": ["a", "b", "c"]}
    assert cmd(server, "HGETALL", "hash")["result"] == ["name", "Alice", "role", "admin"]
    assert 990 <= cmd(server, "HTTL", "hash", "FIELDS", "1", "role")["result"][0] <= 1000
    assert sorted(cmd(server, "SMEMBERS", "set")["result"]) == ["x", "y"]
    assert cmd(server, "ZRANGE", "zset", "0", "-1", "WITHSCORES") == {"result": ["m1", "1.5", "m2", "2"]}
    assert cmd(server, "XPENDING", "stream", "g")["result"][0] == 1


def test_always_keeps_every_acknowledged_write_through_kill_9():
    server = start_server("--appendonly", "yes", "--appendfsync", "always", "--save", "")
    acknowledged = [0] * 6
    stop = threading.Event()

    def writer(index):
        session = requests.Session()
        while not stop.is_set():
            try:
                r = session.post(server.url + "/", json=["INCR", f"counter:{index}"], headers=server.auth, timeout=5)
            except requests.RequestException:
                return
            if r.status_code == 200:
                acknowledged[index] = r.json()["result"]

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(6)]
    try:
        for t in threads:
            t.start()
        time.sleep(1.5)
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(timeout=10)
        stop.set()
        for t in threads:
            t.join(timeout=10)
        assert sum(acknowledged) > 100, "the writers should have made progress"
        again = restart(server, "--appendonly", "yes")
        try:
            for index, count in enumerate(acknowledged):
                value = int(cmd(again, "GET", f"counter:{index}")["result"] or 0)
                assert value >= count, f"counter:{index}: {count} acknowledged, {value} after restart"
        finally:
            again.cleanup()
    finally:
        stop.set()
        server.cleanup()


def test_everysec_loses_at_most_about_a_second():
    server = start_server("--appendonly", "yes", "--appendfsync", "everysec", "--save", "")
    try:
        session = requests.Session()
        acked_at = []
        deadline = time.monotonic() + 2.5
        n = 0
        while time.monotonic() < deadline:
            n += 1
            r = session.post(server.url + "/", json=["RPUSH", "log", str(n)], headers=server.auth, timeout=5)
            assert r.status_code == 200
            acked_at.append(time.monotonic())
        killed_at = time.monotonic()
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(timeout=10)
        again = restart(server, "--appendonly", "yes")
        try:
            kept = cmd(again, "LLEN", "log")["result"]
            lost = len(acked_at) - kept
            # Everything acknowledged more than ~1.5 s before the kill is there.
            must_have = sum(1 for t in acked_at if killed_at - t > 1.5)
            assert kept >= must_have, f"{kept} kept, {must_have} acknowledged over 1.5 s before the kill"
            assert lost >= 0
        finally:
            again.cleanup()
    finally:
        server.cleanup()


def test_every_type_and_ttl_survives_restart_and_rewrite():
    server = start_server("--appendonly", "yes", "--save", "")
    try:
        populate(server)
        assert subprocess.run(["redis-check-aof", str(server.workdir / "appendonly.aof")], capture_output=True).returncode == 0
        r = requests.post(server.url + "/v1/admin/bgrewriteaof", headers=server.auth, timeout=10)
        assert r.status_code == 202
        deadline = time.monotonic() + 10
        while "aof_rewrite_in_progress:1" in cmd(server, "INFO", "persistence")["result"] and time.monotonic() < deadline:
            time.sleep(0.05)
        cmd(server, "SET", "after-rewrite", "yes")
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(timeout=10)
        check = subprocess.run(["redis-check-aof", str(server.workdir / "appendonly.aof")], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout
        again = restart(server, "--appendonly", "yes")
        try:
            check_populated(again)
            assert cmd(again, "GET", "after-rewrite") == {"result": "yes"}
        finally:
            again.cleanup()
    finally:
        server.cleanup()


def test_config_set_appendonly_writes_the_existing_data():
    # always: the write right before the kill must be on disk when acknowledged.
    server = start_server("--save", "", "--appendfsync", "always")
    try:
        populate(server)
        assert cmd(server, "CONFIG", "SET", "appendonly", "yes") == {"result": "OK"}
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            info = cmd(server, "INFO", "persistence")["result"]
            if "aof_enabled:1" in info and "aof_rewrite_in_progress:0" in info and "aof_rewrite_scheduled:0" in info:
                break
            time.sleep(0.05)
        cmd(server, "SET", "later", "1")
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(timeout=10)
        again = restart(server, "--appendonly", "yes")
        try:
            check_populated(again)
            assert cmd(again, "GET", "later") == {"result": "1"}
        finally:
            again.cleanup()
    finally:
        server.cleanup()


def test_torn_tail_is_dropped_and_middle_corruption_refused():
    server = start_server("--appendonly", "yes", "--save", "")
    try:
        cmd(server, "SET", "a", "1")
        cmd(server, "SET", "b", "2")
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(timeout=10)
        path = server.workdir / "appendonly.aof"
        good = path.read_bytes()
        path.write_bytes(good + b"*3\r\n$3\r\nSET\r\n$1\r\nc")  # a command cut short
        again = restart(server, "--appendonly", "yes")
        try:
            assert cmd(again, "GET", "b") == {"result": "2"}
            assert cmd(again, "GET", "c") == {"result": None}
            assert "last good offset" in again.log_tail() or "truncat" in again.log_tail().lower()
        finally:
            again.cleanup()
        middle = len(good) // 2
        path.write_bytes(good[:middle] + b"!!garbage!!" + good[middle:])
        result = subprocess.run([*server.args[:2], "--port", "0", "--dir", str(server.workdir), "--appendonly", "yes", "--save", ""],
                                capture_output=True, text=True, timeout=20)
        assert result.returncode != 0
        output = result.stderr + result.stdout
        assert "offset" in output, output[-2000:]
    finally:
        server.cleanup()


def test_a_served_blocking_pop_is_durable_before_its_reply():
    server = start_server("--appendonly", "yes", "--appendfsync", "always", "--save", "")
    try:
        result = {}

        def worker():
            result["reply"] = cmd(server, "BRPOP", "jobs", "10")

        thread = threading.Thread(target=worker)
        thread.start()
        time.sleep(0.3)
        assert cmd(server, "LPUSH", "jobs", "job-1", "job-2") == {"result": 2}
        thread.join(timeout=10)
        assert result["reply"] == {"result": ["jobs", "job-1"]}
        # The worker has its reply: the pop is on disk, so a crash now
        # must not give job-1 out twice.
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(timeout=10)
        again = restart(server, "--appendonly", "yes")
        try:
            assert cmd(again, "LRANGE", "jobs", "0", "-1") == {"result": ["job-2"]}
        finally:
            again.cleanup()
    finally:
        server.cleanup()
