"""A real redis-server for the tests that compare Keyway with it: started on a
free loopback port in a directory of the test's, without persistence unless
the test asks, and stopped by the test."""

from __future__ import annotations

import base64
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests

from conftest import free_port
from resp_client import RespClient, RespError

REDIS_SERVER = shutil.which("redis-server")


class ReferenceRedis:
    def __init__(self, workdir: Path, *extra_args: str, raw: bool = False):
        """``extra_args`` are redis-server options (``--aclfile``, ...);
        ``raw`` makes the client return bulk strings as bytes."""
        self.workdir = workdir
        # A free port can be taken by another process before redis-server
        # binds it: then it starts again on another one.
        for attempt in range(5):
            self.port = free_port()
            self.log = workdir / f"redis-{self.port}.log"
            self.process = subprocess.Popen(
                [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", str(workdir), "--daemonize", "no",
                 "--logfile", str(self.log), *extra_args],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            if self._connect(raw):
                return
            if "Address already in use" not in self.log_text() or attempt == 4:
                self.stop()
                raise RuntimeError("redis-server did not start:\n" + self.log_text())

    def _connect(self, raw: bool) -> bool:
        """Connects once redis-server answers; False if it exited first."""
        deadline = time.time() + 20
        while True:
            try:
                self.client = RespClient(self.port, raw=raw)
                self.client("PING")
                return True
            except RespError as error:
                if str(error).startswith("NOAUTH"):  # up, with a password (an aclfile's)
                    return True
                self.client.close()
            except OSError:
                pass
            if self.process.poll() is not None:
                return False
            if time.time() > deadline:
                self.stop()
                raise RuntimeError("redis-server did not answer:\n" + self.log_text())
            time.sleep(0.05)

    def log_text(self) -> str:
        return self.log.read_text() if self.log.exists() else ""

    def stop(self) -> None:
        if getattr(self, "client", None):
            self.client.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# --- asking Keyway and redis-server the same thing ---------------------------


@pytest.fixture
def reference_redis(tmp_path):
    """A client (bytes for bulk strings) of a fresh redis-server."""
    reference = ReferenceRedis(tmp_path, raw=True)
    yield reference.client
    reference.stop()


def keyway_reply(server, *args):
    """One command through Keyway's `POST /`, the reply decoded as a RESP
    client would see it: strings as bytes (`Upstash-Encoding: base64`), an
    error as `("error", text)`."""
    r = requests.post(server.url + "/", json=[str(a) for a in args],
                      headers={**server.auth, "Upstash-Encoding": "base64"}, timeout=60)
    body = r.json()
    if "error" in body:
        assert r.status_code in (400, 503), (args, r.status_code, body)
        return ("error", body["error"])

    def decode(value):
        if isinstance(value, list):
            return [decode(v) for v in value]
        if isinstance(value, str):
            return value.encode() if value == "OK" else base64.b64decode(value)
        return value

    return decode(body["result"])


def reference_reply(redis, *args):
    """The same command on redis-server, in the same shape."""
    try:
        reply = redis(*args)
    except RespError as error:
        return ("error", str(error))
    return reply.encode() if isinstance(reply, str) else reply


def assert_same(server, redis, *args, unordered=False):
    """Both servers answer `args` alike (as multisets with `unordered`)."""
    ours, theirs = keyway_reply(server, *args), reference_reply(redis, *args)
    if unordered and isinstance(ours, list) and isinstance(theirs, list):
        ours, theirs = sorted(ours, key=repr), sorted(theirs, key=repr)
    assert ours == theirs, f"{' '.join(map(str, args))[:300]}: Keyway {str(ours)[:400]}, redis-server {str(theirs)[:400]}"
    return ours
