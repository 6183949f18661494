"""When the data cannot reach disk: a full disk, a file size limit, an
unwritable snapshot. Writes are refused with Redis's MISCONF (HTTP 503) until
persistence works again, reads go on, /readyz and INFO say why, and no write
is answered, then lost.

The disk-full cases use RLIMIT_FSIZE, set on the running server with
prlimit(2): write(2) then fails with EFBIG past the limit, as it fails with
ENOSPC on a full disk. Where the machine lets the test mount a tmpfs, a
really full file system is tested too.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import time
import uuid

import pytest
import requests

from conftest import start_server, wait_until


def cmd(server, *words):
    return requests.post(server.url + "/", json=list(words), headers=server.auth, timeout=10)


def info(server, section="persistence"):
    text = cmd(server, "INFO", section).json()["result"]
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)


def limit_file_size(server, limit):
    resource.prlimit(server.process.pid, resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))


def lift_file_size_limit(server):
    resource.prlimit(server.process.pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))




def assert_misconf(response, reason=None):
    assert response.status_code == 503, response.text
    error = response.json()["error"]
    assert error.startswith("MISCONF"), error
    if reason:
        assert reason in error, error


def test_always_a_write_that_cannot_be_appended_is_undone_and_writes_wait_for_the_disk(tmp_path):
    server = start_server("--dir", str(tmp_path), "--save", "", "--appendonly", "yes", "--appendfsync", "always")
    try:
        aof = tmp_path / "appendonly.aof"
        assert cmd(server, "SET", "kept", "v1").json() == {"result": "OK"}
        size = aof.stat().st_size
        limit_file_size(server, size + 1024)

        # The write does not fit: refused, undone, the file cut back.
        big = cmd(server, "SET", "big", "x" * 4096)
        assert_misconf(big, "File too large")
        assert aof.stat().st_size == size
        assert cmd(server, "GET", "big").json() == {"result": None}
        r = requests.get(server.url + "/v1/keys/big", headers=server.auth, timeout=10)
        assert r.status_code == 404, r.text

        # Every write is refused now, on both faces; reads go on.
        assert_misconf(cmd(server, "SET", "small", "y"), "MISCONF Errors writing to the AOF file: File too large")
        r = requests.put(server.url + "/v1/keys/small", json={"value": "y"}, headers=server.auth, timeout=10)
        assert r.status_code == 503 and r.json()["code"] == "MISCONF", r.text
        assert cmd(server, "GET", "kept").json() == {"result": "v1"}
        ready = requests.get(server.url + "/readyz", timeout=10)
        assert ready.status_code == 503 and ready.json()["status"] == "persistence_failed", ready.text
        fields = info(server)
        assert fields["aof_last_write_status"] == "err"
        assert fields["aof_last_write_error"] == "File too large"
        assert abs(int(fields["aof_last_write_error_time"]) - time.time()) < 60

        # Room again: the next retry (within a second or two) succeeds.
        lift_file_size_limit(server)
        wait_until(lambda: requests.get(server.url + "/readyz", timeout=10).status_code == 200, timeout=10, what="/readyz 200")
        assert cmd(server, "SET", "after", "v2").json() == {"result": "OK"}
        assert info(server)["aof_last_write_status"] == "ok"
        assert info(server)["aof_last_write_error"] == "File too large"  # kept for the record
    finally:
        server.stop()
    again = start_server("--dir", str(tmp_path), "--save", "", "--appendonly", "yes")
    try:
        assert cmd(again, "GET", "kept").json() == {"result": "v1"}
        assert cmd(again, "GET", "after").json() == {"result": "v2"}
        assert cmd(again, "EXISTS", "big", "small").json() == {"result": 0}
    finally:
        again.cleanup()
        server.cleanup()


def test_everysec_acknowledged_writes_are_kept_and_retried(tmp_path):
    server = start_server("--dir", str(tmp_path), "--save", "", "--appendonly", "yes")
    try:
        aof = tmp_path / "appendonly.aof"
        assert cmd(server, "SET", "first", "1").json() == {"result": "OK"}
        wait_until(lambda: aof.exists() and aof.stat().st_size > 0, what="the first record on disk")
        limit_file_size(server, aof.stat().st_size + 100)
        # Acknowledged before it reaches the file (everysec), so it must not be lost.
        assert cmd(server, "SET", "acknowledged", "z" * 2000).json() == {"result": "OK"}
        wait_until(lambda: requests.get(server.url + "/readyz", timeout=10).status_code == 503, what="persistence_failed")
        assert_misconf(cmd(server, "INCR", "counter"), "File too large")
        assert cmd(server, "STRLEN", "acknowledged").json() == {"result": 2000}
        lift_file_size_limit(server)
        wait_until(lambda: requests.get(server.url + "/readyz", timeout=10).status_code == 200, what="recovery")
        assert cmd(server, "INCR", "counter").json() == {"result": 1}
    finally:
        server.stop()
    again = start_server("--dir", str(tmp_path), "--save", "", "--appendonly", "yes")
    try:
        assert cmd(again, "STRLEN", "acknowledged").json() == {"result": 2000}
        assert cmd(again, "GET", "counter").json() == {"result": "1"}
    finally:
        again.cleanup()
        server.cleanup()


def test_a_failed_background_save_refuses_writes_until_a_save_succeeds(tmp_path):
    server = start_server("--dir", str(tmp_path), "--save", "3600 1")
    try:
        assert cmd(server, "SET", "k", "v").json() == {"result": "OK"}
        (tmp_path / "dump.rdb").mkdir()  # rename() over a directory fails, even for root
        assert cmd(server, "BGSAVE").json() == {"result": "Background saving started"}
        wait_until(lambda: info(server)["rdb_last_bgsave_status"] == "err", what="the failed BGSAVE")
        fields = info(server)
        assert "dump.rdb" in fields["rdb_last_bgsave_error"]
        assert int(fields["rdb_last_bgsave_error_time"]) > 0

        refused = cmd(server, "SET", "k", "w")
        assert_misconf(refused, "stop-writes-on-bgsave-error")
        r = requests.post(server.url + "/pipeline", json=[["GET", "k"], ["DEL", "k"]], headers=server.auth, timeout=10)
        assert r.status_code == 200 and r.json()[0] == {"result": "v"} and r.json()[1]["error"].startswith("MISCONF"), r.text
        r = requests.post(server.url + "/multi-exec", json=[["GET", "k"], ["SET", "k", "x"]], headers=server.auth, timeout=10)
        assert r.status_code == 503 and "MISCONF" in r.json()["error"], r.text
        r = cmd(server, "EVAL", "return redis.call('SET', KEYS[1], 'lua')", "1", "k")
        assert "MISCONF" in r.json()["error"], r.text
        assert cmd(server, "GET", "k").json() == {"result": "v"}
        ready = requests.get(server.url + "/readyz", timeout=10)
        assert ready.status_code == 503 and ready.json()["status"] == "persistence_failed", ready.text

        # Redis's switch: writes go on despite the failed save.
        assert cmd(server, "CONFIG", "SET", "stop-writes-on-bgsave-error", "no").json() == {"result": "OK"}
        assert cmd(server, "SET", "k", "w").json() == {"result": "OK"}
        assert cmd(server, "CONFIG", "SET", "stop-writes-on-bgsave-error", "yes").json() == {"result": "OK"}
        assert_misconf(cmd(server, "SET", "k", "w2"))

        # A save that succeeds ends it.
        (tmp_path / "dump.rdb").rmdir()
        assert cmd(server, "BGSAVE").json() == {"result": "Background saving started"}
        wait_until(lambda: info(server)["rdb_last_bgsave_status"] == "ok", what="the BGSAVE that works")
        assert cmd(server, "SET", "k", "w3").json() == {"result": "OK"}
        assert requests.get(server.url + "/readyz", timeout=10).status_code == 200
    finally:
        server.cleanup()


def test_config_set_appendonly_reports_a_file_it_cannot_open(tmp_path):
    server = start_server("--dir", str(tmp_path), "--save", "")
    try:
        (tmp_path / "appendonly.aof").mkdir()
        r = cmd(server, "CONFIG", "SET", "appendonly", "yes")
        assert r.status_code == 400, r.text
        assert r.json()["error"].startswith("ERR CONFIG SET failed (possibly related to argument 'appendonly') - Unable to turn on AOF"), r.text
        assert cmd(server, "CONFIG", "GET", "appendonly").json() == {"result": ["appendonly", "no"]}
        assert info(server)["aof_enabled"] == "0"
        (tmp_path / "appendonly.aof").rmdir()
        assert cmd(server, "CONFIG", "SET", "appendonly", "yes").json() == {"result": "OK"}
        assert cmd(server, "SET", "k", "v").json() == {"result": "OK"}
        wait_until(lambda: info(server)["aof_enabled"] == "1" and (tmp_path / "appendonly.aof").stat().st_size > 0,
                   what="the AOF written")
    finally:
        server.cleanup()


@pytest.fixture
def small_tmpfs(tmp_path):
    mountpoint = tmp_path / "tmpfs"
    mountpoint.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount(8) here")
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mountpoint)], capture_output=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.decode(errors='replace').strip()}")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], capture_output=True)


def test_a_full_disk_under_always_loses_no_answered_write(small_tmpfs):
    server = start_server("--dir", str(small_tmpfs), "--save", "", "--appendonly", "yes", "--appendfsync", "always")
    try:
        answered = []
        value = "v" * 1000
        for i in range(10_000):
            key = f"user:session:{i:08d}"
            r = cmd(server, "SET", key, value)
            if r.status_code != 200:
                assert_misconf(r, "No space left on device")
                failed = key
                break
            answered.append(key)
        else:
            pytest.fail("a 4 MB tmpfs took 10 MB of writes")
        assert cmd(server, "EXISTS", failed).json() == {"result": 0}
        assert_misconf(cmd(server, "SET", "more", "x"))
        assert cmd(server, "DBSIZE").json() == {"result": len(answered)}
    finally:
        server.stop()
    # The file on the full disk holds every answered write, and nothing else.
    moved = small_tmpfs.parent / f"copy-{uuid.uuid4().hex}"
    moved.mkdir()
    shutil.copy(small_tmpfs / "appendonly.aof", moved / "appendonly.aof")
    again = start_server("--dir", str(moved), "--save", "", "--appendonly", "yes")
    try:
        assert cmd(again, "DBSIZE").json() == {"result": len(answered)}
        assert cmd(again, "EXISTS", answered[-1], failed).json() == {"result": 1}
    finally:
        again.cleanup()
        server.cleanup()
