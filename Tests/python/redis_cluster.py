"""A real Redis Cluster on loopback for the cluster-backend tests: three
masters and three replicas of Debian's redis-server, created with
`redis-cli --cluster create`, in a directory of the test session's, and torn
down at the end."""

from __future__ import annotations

import random
import shutil
import ssl
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from resp_client import RespClient, RespError

REDIS_SERVER = shutil.which("redis-server")
REDIS_CLI = shutil.which("redis-cli")


def _port_pair_free(port: int) -> bool:
    """A node needs its port and the cluster bus port (port + 10000)."""
    for candidate in (port, port + 10000):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", candidate))
            except OSError:
                return False
    return True


class RedisCluster:
    def __init__(self, masters: int = 3, replicas_per_master: int = 1, node_timeout_ms: int = 2000, tls: dict | None = None):
        """``tls`` ({"ca", "cert", "key"}: PEM files, the certificate for
        127.0.0.1) makes every node listen on TLS only, for clients, the
        cluster bus and replication alike."""
        self.workdir = Path(tempfile.mkdtemp(prefix="keyway-cluster-"))
        self.node_timeout_ms = node_timeout_ms
        self.tls = tls
        self.tls_context = None
        if tls:
            self.tls_context = ssl.create_default_context(cafile=tls["ca"])
            self.tls_context.load_cert_chain(tls["cert"], tls["key"])
        count = masters * (1 + replicas_per_master)
        self.ports: list[int] = []
        while len(self.ports) < count:
            port = random.randint(20000, 29999)
            if port not in self.ports and _port_pair_free(port):
                self.ports.append(port)
        self.processes: dict[int, subprocess.Popen] = {}
        for port in self.ports:
            self.start_node(port)
        for port in self.ports:
            self._wait_for_ping(port)
        create = subprocess.run(
            [REDIS_CLI, *self.cli_tls_args(), "--cluster", "create", *[f"127.0.0.1:{p}" for p in self.ports],
             "--cluster-replicas", str(replicas_per_master), "--cluster-yes"],
            capture_output=True, text=True, timeout=120)
        if create.returncode != 0:
            self.stop()
            raise RuntimeError("redis-cli --cluster create failed:\n" + create.stdout + create.stderr)
        self.wait_until_ok()
        self.wait_for_replicas()
        if replicas_per_master:
            self.wait_for_replicas_in_slot_map()

    def wait_for_replicas(self, timeout: float = 60) -> None:
        """Until every replica has synced with its master: a replica that
        never synced will not take over when its master fails."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            links = []
            for port in self.live_ports():
                info = self.call(port, "INFO", "replication")
                if "role:slave" in info:
                    links.append("master_link_status:up" in info)
            if links and all(links):
                return
            time.sleep(0.2)
        raise RuntimeError("the replicas did not sync with their masters")

    def wait_for_replicas_in_slot_map(self, timeout: float = 60) -> None:
        """Until every node's CLUSTER SLOTS names a replica for every range:
        what a client reading from replicas learns the replicas from, and
        which lags behind the replicas' own sync while gossip spreads."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if all(all(len(entry) > 3 for entry in self.call(port, "CLUSTER", "SLOTS")) for port in self.live_ports()):
                return
            time.sleep(0.2)
        raise RuntimeError("CLUSTER SLOTS does not list the replicas")

    def cli_tls_args(self) -> list[str]:
        """What redis-cli needs to reach the nodes."""
        if not self.tls:
            return []
        return ["--tls", "--cacert", self.tls["ca"], "--cert", self.tls["cert"], "--key", self.tls["key"]]

    def start_node(self, port: int) -> None:
        directory = self.workdir / str(port)
        directory.mkdir(exist_ok=True)
        listen = ["--port", str(port)]
        if self.tls:
            listen = ["--port", "0", "--tls-port", str(port), "--tls-cert-file", self.tls["cert"],
                      "--tls-key-file", self.tls["key"], "--tls-ca-cert-file", self.tls["ca"],
                      "--tls-cluster", "yes", "--tls-replication", "yes"]
        self.processes[port] = subprocess.Popen(
            [REDIS_SERVER, *listen, "--bind", "127.0.0.1", "--cluster-enabled", "yes",
             "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", str(self.node_timeout_ms),
             "--save", "", "--appendonly", "no", "--repl-diskless-sync-delay", "0",
             # DEBUG SLEEP makes a replica fall behind on purpose (replica-read tests).
             "--enable-debug-command", "local",
             "--dir", str(directory), "--daemonize", "no",
             "--logfile", str(directory / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def _wait_for_ping(self, port: int, timeout: float = 20) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                client = RespClient(port, tls=self.tls_context)
                client("PING")
                client.close()
                return
            except (OSError, RespError):
                time.sleep(0.05)
        raise RuntimeError(f"redis-server on {port} did not start")

    def client(self, port: int) -> RespClient:
        return RespClient(port, tls=self.tls_context)

    def call(self, port: int, *args):
        client = RespClient(port, tls=self.tls_context)
        try:
            return client(*args)
        finally:
            client.close()

    def wait_until_ok(self, timeout: float = 60) -> None:
        """Until every live node says cluster_state:ok and agrees on all slots."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                states = [self.call(p, "CLUSTER", "INFO") for p in self.live_ports()]
                if all("cluster_state:ok" in s and "cluster_slots_ok:16384" in s for s in states):
                    return
            except (OSError, RespError):
                pass
            time.sleep(0.2)
        raise RuntimeError("the cluster did not reach cluster_state:ok")

    def live_ports(self) -> list[int]:
        return [p for p, proc in self.processes.items() if proc.poll() is None]

    def masters(self) -> list[int]:
        """Ports of the live masters."""
        result = []
        for port in self.live_ports():
            role = self.call(port, "ROLE")
            if role[0] == "master":
                result.append(port)
        return result

    def master_of_slot(self, slot: int) -> int:
        for entry in self.call(self.live_ports()[0], "CLUSTER", "SLOTS"):
            if entry[0] <= slot <= entry[1]:
                return entry[2][1]
        raise KeyError(slot)

    def node_id(self, port: int) -> str:
        return self.call(port, "CLUSTER", "MYID")

    def seeds(self) -> str:
        return ",".join(f"127.0.0.1:{p}" for p in self.ports[:3])

    def kill(self, port: int) -> None:
        self.processes[port].kill()
        self.processes[port].wait(timeout=10)

    def stop(self) -> None:
        for proc in self.processes.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.processes.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(self.workdir, ignore_errors=True)
