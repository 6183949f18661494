"""Fixtures that run a real Keyway server for the Python client tests.

The server binary comes from ``$KEYWAY_BIN`` (default ``<repo>/.build/debug/keyway``)
and is started as ``keyway serve --port <free port> --token testtoken``.

With ``KEYWAY_TEST_BACKEND=cluster`` the same suite runs against Keyway's
cluster backend: one real Redis Cluster (three masters, three replicas, see
``redis_cluster.py``) is started for the session, and every server a test
starts is ``keyway serve --backend cluster`` in front of it. The tests that
cannot run there are listed, with the reason, in ``cluster_skips.py``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
OPENAPI_PATH = REPO_ROOT / "openapi.yaml"
TOKEN = "testtoken"
STARTUP_TIMEOUT = 30.0
SHUTDOWN_GRACE = 5.0

BACKEND = os.environ.get("KEYWAY_TEST_BACKEND", "embedded")
if BACKEND not in ("embedded", "cluster"):
    raise RuntimeError(f"KEYWAY_TEST_BACKEND must be embedded or cluster, not {BACKEND!r}")
CLUSTER_MODE = BACKEND == "cluster"

_shared_cluster = None


def shared_cluster():
    """The session's Redis Cluster (cluster mode only), started on first use."""
    global _shared_cluster
    if _shared_cluster is None:
        from redis_cluster import REDIS_CLI, REDIS_SERVER, RedisCluster

        if REDIS_SERVER is None or REDIS_CLI is None:
            pytest.fail("KEYWAY_TEST_BACKEND=cluster needs redis-server and redis-cli (make test-deps installs them)",
                        pytrace=False)
        _shared_cluster = RedisCluster()
    return _shared_cluster


def pytest_collection_modifyitems(config, items):
    """In cluster mode, marks the tests of ``cluster_skips.py`` as skipped, with their reason."""
    if not CLUSTER_MODE:
        return
    from cluster_skips import reason_for, stale_entries

    for item in items:
        reason = reason_for(item.nodeid)
        if reason is not None:
            item.add_marker(pytest.mark.skip(reason=f"cluster backend: {reason}"))
    if not config.getoption("keyword") and not config.getoption("markexpr"):
        for key in stale_entries([item.nodeid for item in items]):
            warnings.warn(pytest.PytestWarning(f"cluster_skips.py names no collected test: {key}"))


def pytest_sessionfinish(session, exitstatus):
    global _shared_cluster
    if _shared_cluster is not None:
        _shared_cluster.stop()
        _shared_cluster = None


def keyway_bin() -> Path:
    return Path(os.environ.get("KEYWAY_BIN", REPO_ROOT / ".build" / "debug" / "keyway"))


def require_keyway_bin() -> Path:
    path = keyway_bin()
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(
            f"Keyway server binary not found at {path}: build it (swift build) "
            "or point KEYWAY_BIN at it",
            pytrace=False,
        )
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class KeywayServer:
    """A running ``keyway serve`` process."""

    url: str
    token: str
    port: int
    process: subprocess.Popen
    log_path: Path
    workdir: Path
    args: list = field(default_factory=list)

    @property
    def auth(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}

    def log_tail(self, limit: int = 4000) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return text[-limit:]

    def command(self, *args, **kwargs) -> requests.Response:
        """Run one command through ``POST /`` and return the raw response."""
        headers = {**self.auth, **kwargs.pop("headers", {})}
        return requests.post(self.url + "/", json=list(args), headers=headers, timeout=10, **kwargs)

    def wait_for_blocked_clients(self, count: int = 1, timeout: float = 10.0) -> None:
        """Waits until `count` requests are parked on a blocking command, so a
        test's push lands after the wait began, however loaded the machine.
        In cluster mode the blocking commands wait on the masters, which
        count them (INFO through the gateway answers one master's)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if CLUSTER_MODE:
                cluster = shared_cluster()
                infos = [cluster.call(port, "INFO", "clients") for port in cluster.masters()]
            else:
                infos = [self.command("INFO", "clients").json()["result"]]
            blocked = sum(int(line.split(":")[1]) for info in infos for line in info.splitlines()
                          if line.startswith("blocked_clients:"))
            if blocked >= count:
                return
            time.sleep(0.01)
        raise AssertionError(f"no {count} blocked client(s) within {timeout} s")

    def stop(self) -> None:
        proc = self.process
        if proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=SHUTDOWN_GRACE)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=SHUTDOWN_GRACE)

    def cleanup(self) -> None:
        """Stop the server and remove its log file and working directory."""
        self.stop()
        self.log_path.unlink(missing_ok=True)
        shutil.rmtree(self.workdir, ignore_errors=True)


def start_server(*extra_args: str, token: str = TOKEN, token_flag: bool = True, wait_ready: bool = True) -> KeywayServer:
    """Start ``keyway serve`` on a free port and wait for ``GET /healthz`` to answer 200,
    then (``wait_ready``) for ``GET /readyz``: the server answers /healthz while
    it still loads its snapshot or append-only file, and commands get 503
    LOADING until it is ready.

    ``token_flag=False`` leaves ``--token`` out (the token then comes from a
    config file among ``extra_args``; ``token`` is what the tests send).

    In cluster mode the server runs ``--backend cluster`` in front of the
    session's Redis Cluster, unless ``extra_args`` name a backend."""
    binary = require_keyway_bin()
    port = free_port()
    if CLUSTER_MODE and "--backend" not in extra_args:
        cluster = shared_cluster()
        # A new embedded server starts on an empty store; so does this one.
        for master in cluster.masters():
            cluster.call(master, "FLUSHALL")
            cluster.call(master, "SCRIPT", "FLUSH")
        extra_args = (*extra_args, "--backend", "cluster", "--cluster-nodes", cluster.seeds())
    args = [str(binary), "serve", "--port", str(port), *(["--token", token] if token_flag else []), *extra_args]
    log_fd, log_name = tempfile.mkstemp(prefix="keyway-test-", suffix=".log")
    log_path = Path(log_name)
    workdir = Path(tempfile.mkdtemp(prefix="keyway-test-cwd-"))  # keeps any dump/AOF files out of the repo
    with os.fdopen(log_fd, "wb") as log:
        proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=workdir,
        )
    server = KeywayServer(
        url=f"http://127.0.0.1:{port}", token=token, port=port, process=proc, log_path=log_path, workdir=workdir, args=args
    )
    deadline = time.monotonic() + STARTUP_TIMEOUT
    last_error = "no answer yet"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = server.log_tail()
            server.cleanup()
            raise RuntimeError(f"{' '.join(args)} exited with status {proc.returncode} before answering /healthz:\n{tail}")
        try:
            # `Connection: close`: a probe's connection left open would count
            # against per-address limits and show in CLIENT LIST until it is
            # collected.
            r = requests.get(server.url + "/healthz", timeout=1, headers={"Connection": "close"})
            if r.status_code == 200:
                if not wait_ready:
                    return server
                ready = requests.get(server.url + "/readyz", timeout=1, headers={"Connection": "close"})
                if ready.status_code == 200:
                    return server
                r = ready
            last_error = f"GET {r.request.path_url} -> {r.status_code} {r.text[:200]!r}"
        except requests.RequestException as exc:
            last_error = repr(exc)
        time.sleep(0.1)
    tail = server.log_tail()
    server.cleanup()
    raise RuntimeError(
        f"{' '.join(args)} did not answer GET /healthz with 200 within {STARTUP_TIMEOUT:.0f} s "
        f"(last: {last_error}):\n" + tail
    )


def wait_until(predicate, timeout: float = 15.0, what: str = "condition") -> None:
    """Polls `predicate` until it holds; fails the test after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what} not reached within {timeout} s")


def rss_mib(pid: int) -> float:
    """A process's resident memory, MiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def closed_by_server(sock: socket.socket, within: float) -> bool:
    """Reads and drops what the server sends; True once it closes the
    connection within `within` seconds."""
    sock.settimeout(within)
    deadline = time.monotonic() + within
    try:
        while time.monotonic() < deadline:
            if not sock.recv(1 << 20):
                return True
    except socket.timeout:
        return False
    except OSError:
        return True
    return False


@pytest.fixture(scope="session")
def server():
    """The shared server for the whole test session: has ``url`` and ``token``."""
    srv = start_server()
    try:
        yield srv
    finally:
        srv.cleanup()


@pytest.fixture
def redis(server):
    """The published upstash-redis SDK, pointed at the shared server, without retries."""
    from upstash_redis import Redis

    client = Redis(url=server.url, token=server.token, rest_retries=0)
    yield client
    client.close()


@pytest.fixture
def flush(server):
    """Start each test with an empty keyspace (``POST /`` with ``["FLUSHALL"]``)."""
    r = server.command("FLUSHALL")
    assert r.status_code == 200 and r.json() == {"result": "OK"}, f"FLUSHALL failed: {r.status_code} {r.text}"
    yield server


@pytest.fixture(scope="session")
def openapi_spec() -> dict:
    import yaml

    with OPENAPI_PATH.open() as f:
        return yaml.safe_load(f)
