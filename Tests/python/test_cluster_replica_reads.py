"""Reads from replicas (`--cluster-read-from replicas`) on a real Redis
Cluster: read-only commands go to each slot's replicas and writes to its
master; a request bearing a sync token (`Upstash-Sync-Token`, which the
upstash-redis SDK sends back by itself) sees the writes the token names even
on a replica made to lag behind (DEBUG SLEEP, or its link to the master
cut), through either of two gateways; a replica that is down passes its
reads to the master."""

from __future__ import annotations

import threading
import time

import pytest
import requests
from upstash_redis import Redis

from cluster_fixtures import cluster, cluster_gateway, cmd, needs_redis_tools  # noqa: F401  (fixtures)

pytestmark = needs_redis_tools


def replica_gateway(cluster):
    return cluster_gateway(cluster, "--cluster-read-from", "replicas")


@pytest.fixture(scope="module")
def gateway(cluster):
    server = replica_gateway(cluster)
    yield server
    server.cleanup()


@pytest.fixture(scope="module")
def other_gateway(cluster):
    server = replica_gateway(cluster)
    yield server
    server.cleanup()


def info_field(server, name):
    text = cmd(server, "INFO").json()["result"]
    for line in text.splitlines():
        if line.startswith(name + ":"):
            return line.split(":", 1)[1]
    raise KeyError(name)


def command_calls(cluster, port, command):
    for line in cluster.call(port, "INFO", "commandstats").splitlines():
        if line.startswith(f"cmdstat_{command}:"):
            return int(line.split("calls=")[1].split(",")[0])
    return 0


def replica_of(cluster, master_port):
    for port in cluster.live_ports():
        role = cluster.call(port, "ROLE")
        if role[0] == "slave" and role[2] == master_port:
            return port
    raise LookupError(master_port)


def test_reads_go_to_replicas_and_writes_to_masters(cluster, gateway):
    masters = cluster.masters()
    replicas = [p for p in cluster.live_ports() if p not in masters]
    before = {port: (command_calls(cluster, port, "get"), command_calls(cluster, port, "set")) for port in cluster.live_ports()}
    for n in range(60):
        assert cmd(gateway, "SET", f"spread:{n}", n).json() == {"result": "OK"}
    time.sleep(0.3)  # no token here: let the replicas catch up first
    assert [cmd(gateway, "GET", f"spread:{n}").json()["result"] for n in range(60)] == [str(n) for n in range(60)]
    gets = {port: command_calls(cluster, port, "get") - before[port][0] for port in cluster.live_ports()}
    sets = {port: command_calls(cluster, port, "set") - before[port][1] for port in cluster.live_ports()}
    assert sum(gets[p] for p in replicas) == 60 and all(gets[p] == 0 for p in masters), gets
    assert sum(sets[p] for p in masters) == 60, sets
    assert info_field(gateway, "cluster_read_from") == "replicas"
    assert int(info_field(gateway, "cluster_replica_reads")) >= 60
    metrics = requests.get(gateway.url + "/metrics", headers=gateway.auth, timeout=10).text
    reads = [line for line in metrics.splitlines() if line.startswith("keyway_cluster_replica_reads_total ")]
    assert reads and float(reads[0].split()[1]) >= 60, metrics
    # Writes answer with a token naming their master's offset.
    token = cmd(gateway, "SET", "spread:0", "x").headers["Upstash-Sync-Token"]
    entries = dict(entry.split("=") for entry in token.split(";"))
    assert len(entries) == 3 and all(int(offset) > 0 for offset in entries.values()), token


def lag_and_write(cluster, server, key, value, sleep_seconds=0.25):
    """Puts `key`'s replica to sleep, writes through `server` meanwhile and
    returns the write's sync token, checking that the replica really was
    behind when the write was acknowledged."""
    slot = cluster.call(cluster.masters()[0], "CLUSTER", "KEYSLOT", key)
    master = cluster.master_of_slot(slot)
    replica = replica_of(cluster, master)
    sleeper = threading.Thread(target=cluster.call, args=(replica, "DEBUG", "SLEEP", str(sleep_seconds)))
    sleeper.start()
    time.sleep(0.05)
    response = cmd(server, "SET", key, value)
    assert response.json() == {"result": "OK"}
    role = cluster.call(master, "ROLE")
    acknowledged = max(int(entry[2]) for entry in role[2])
    assert acknowledged < role[1], "the replica was not behind"
    return response.headers["Upstash-Sync-Token"], sleeper


class CutOff:
    """Keeps `key`'s replica off its master: its link is killed and, with a
    wrong `masterauth`, every reconnection fails, so the replica goes on
    serving reads from before the cut (replica-serve-stale-data). Leaving
    restores the password and waits for the replica to be back in sync."""

    def __init__(self, cluster, key):
        slot = cluster.call(cluster.masters()[0], "CLUSTER", "KEYSLOT", key)
        self.cluster = cluster
        self.replica = replica_of(cluster, cluster.master_of_slot(slot))

    def __enter__(self):
        assert self.cluster.call(self.replica, "CONFIG", "SET", "masterauth", "not-the-password") == "OK"
        assert self.cluster.call(self.replica, "CLIENT", "KILL", "TYPE", "MASTER") == 1
        return self

    def __exit__(self, *exc):
        self.cluster.call(self.replica, "CONFIG", "SET", "masterauth", "")
        self.cluster.wait_for_replicas()


def test_a_sync_token_is_honoured_by_a_replica_cut_off_its_master(cluster, gateway):
    cmd(gateway, "SET", "cut", "before")
    time.sleep(0.3)
    fallbacks_before = int(info_field(gateway, "cluster_replica_fallbacks"))
    with CutOff(cluster, "cut"):
        token = cmd(gateway, "SET", "cut", "after").headers["Upstash-Sync-Token"]
        # Without a token the replica answers with what it has. That is
        # what tokens are for.
        assert cmd(gateway, "GET", "cut").json() == {"result": "before"}
        # With the write's token the read waits for the replica to catch
        # up, then the master answers: never the old value.
        started = time.monotonic()
        assert cmd(gateway, "GET", "cut", token=token).json() == {"result": "after"}
        assert time.monotonic() - started < 2
        assert int(info_field(gateway, "cluster_replica_fallbacks")) == fallbacks_before + 1
    # Back in sync, the replica serves the token's read itself.
    reads_before = int(info_field(gateway, "cluster_replica_reads"))
    assert cmd(gateway, "GET", "cut", token=token).json() == {"result": "after"}
    assert int(info_field(gateway, "cluster_replica_reads")) == reads_before + 1


@pytest.mark.parametrize("reader", ["same", "other"])
def test_a_sync_token_reads_its_writes_on_a_lagging_replica(cluster, gateway, other_gateway, reader):
    server = gateway if reader == "same" else other_gateway
    fallbacks_before = int(info_field(server, "cluster_replica_fallbacks"))
    for n in range(5):
        token, sleeper = lag_and_write(cluster, gateway, f"ryw:{reader}", f"v{n}")
        r = cmd(server, "GET", f"ryw:{reader}", token=token)
        assert r.json() == {"result": f"v{n}"}
        # The reply's token asks at least as much as the request's did.
        sent = dict(entry.split("=") for entry in token.split(";"))
        answered = dict(entry.split("=") for entry in r.headers["Upstash-Sync-Token"].split(";"))
        assert all(int(answered[master]) >= int(offset) for master, offset in sent.items())
        sleeper.join()
    # The replicas served those reads (after catching up), not the masters.
    assert int(info_field(server, "cluster_replica_fallbacks")) == fallbacks_before


def test_the_sdk_reads_its_writes(cluster, gateway):
    redis = Redis(url=gateway.url, token=gateway.token)
    stop = threading.Event()

    def keep_replicas_sleepy():
        replicas = [p for p in cluster.live_ports() if p not in cluster.masters()]
        while not stop.is_set():
            for port in replicas:
                cluster.call(port, "DEBUG", "SLEEP", "0.02")

    sleeper = threading.Thread(target=keep_replicas_sleepy)
    sleeper.start()
    try:
        for n in range(40):
            redis.set(f"sdk:{n % 7}", str(n))
            assert redis.get(f"sdk:{n % 7}") == str(n)
            redis.hset(f"sdk:h{n % 3}", "n", str(n))
            assert redis.hgetall(f"sdk:h{n % 3}") == {"n": str(n)}
    finally:
        stop.set()
        sleeper.join()


def test_a_token_that_names_nothing_known_is_harmless(gateway):
    cmd(gateway, "SET", "plain", "1")
    time.sleep(0.2)
    for token in ("", "0", "17", "garbage;;=x", "10.9.9.9:1=5", "127.0.0.1:1=-4"):
        r = cmd(gateway, "GET", "plain", token=token)
        assert r.status_code == 200 and r.json() == {"result": "1"}, token
        # The answer names only masters of this cluster, whatever was sent.
        assert "10.9.9.9" not in r.headers["Upstash-Sync-Token"]
    # As many entries as the request's header room takes (about 4 KB).
    flood = ";".join(f"10.0.{n // 250}.{n % 250}:6379=1" for n in range(200))
    r = cmd(gateway, "GET", "plain", token=flood)
    assert r.status_code == 200 and len(r.headers["Upstash-Sync-Token"]) < 200


def test_a_replica_that_is_down_passes_reads_to_the_master(cluster, gateway):
    for n in range(20):
        cmd(gateway, "SET", f"down:{n}", n)
    time.sleep(0.3)
    victim = replica_of(cluster, cluster.masters()[0])
    cluster.kill(victim)
    before = int(info_field(gateway, "cluster_replica_fallbacks"))
    assert [cmd(gateway, "GET", f"down:{n}").json()["result"] for n in range(20)] == [str(n) for n in range(20)]
    assert int(info_field(gateway, "cluster_replica_fallbacks")) > before
