"""A real redis-server for the tests that compare Keyway with it: started on a
free loopback port in a directory of the test's, without persistence unless
the test asks, and stopped by the test."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from conftest import free_port
from resp_client import RespClient, RespError

REDIS_SERVER = shutil.which("redis-server")


class ReferenceRedis:
    def __init__(self, workdir: Path, *extra_args: str, raw: bool = False):
        """``extra_args`` are redis-server options (``--aclfile``, ...);
        ``raw`` makes the client return bulk strings as bytes."""
        self.port = free_port()
        self.workdir = workdir
        self.log = workdir / f"redis-{self.port}.log"
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(workdir), "--daemonize", "no",
             "--logfile", str(self.log), *extra_args],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.time() + 20
        while True:
            try:
                self.client = RespClient(self.port, raw=raw)
                self.client("PING")
                break
            except RespError as error:
                if str(error).startswith("NOAUTH"):  # up, with a password (an aclfile's)
                    break
                self.client.close()
                if self.process.poll() is not None or time.time() > deadline:
                    self.stop()
                    raise RuntimeError("redis-server did not start:\n" + self.log_text())
                time.sleep(0.05)
            except OSError:
                if self.process.poll() is not None or time.time() > deadline:
                    self.stop()
                    raise RuntimeError("redis-server did not start:\n" + self.log_text())
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
