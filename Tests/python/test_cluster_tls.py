"""The cluster backend over TLS (`cluster-tls yes`): a real Redis Cluster
whose nodes listen on TLS only (clients, cluster bus and replication) and
check client certificates, with certificates openssl makes for the test.
Commands, blocking pops, pub/sub, shard channels and the middleware's
scripts all go over it; a gateway without the client certificate, or
trusting another CA, does not start."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time

import pytest
import requests

from cluster_fixtures import cmd, result
from conftest import keyway_bin, start_server
from redis_cluster import REDIS_CLI, REDIS_SERVER, RedisCluster
from test_sse_pubsub import Subscriber
from test_tls import pki  # noqa: F401  (the CA and certificates, a fixture)

pytestmark = pytest.mark.skipif(REDIS_SERVER is None or REDIS_CLI is None or shutil.which("openssl") is None,
                                reason="redis-server, redis-cli and openssl are needed (make deps installs them)")


@pytest.fixture(scope="module")
def cluster(pki):
    nodes = RedisCluster(tls={"ca": pki.ca, "cert": pki.path("server1.pem"), "key": pki.path("server1.key")})
    yield nodes
    nodes.stop()


def tls_flags(pki, client="client"):
    return ["--cluster-tls", "yes", "--cluster-tls-ca-cert-file", pki.ca,
            "--cluster-tls-cert-file", pki.path(f"{client}.pem"), "--cluster-tls-key-file", pki.path(f"{client}.key")]


@pytest.fixture(scope="module")
def gateway(cluster, pki):
    server = start_server("--backend", "cluster", "--cluster-nodes", cluster.seeds(), *tls_flags(pki))
    yield server
    server.cleanup()


def test_nodes_refuse_plain_connections(cluster):
    # The nodes really speak TLS only: a plain RESP client gets nowhere.
    plain = subprocess.run([REDIS_CLI, "-p", str(cluster.ports[0]), "PING"], capture_output=True, text=True, timeout=10)
    assert "PONG" not in plain.stdout


def test_commands_pipelines_and_scripts_over_tls(cluster, gateway):
    for n in range(100):
        assert result(gateway, "SET", f"tls:{n}", n) == "OK"
    assert [result(gateway, "GET", f"tls:{n}") for n in range(100)] == [str(n) for n in range(100)]
    assert sum(cluster.call(port, "DBSIZE") for port in cluster.masters()) == 100
    r = requests.post(gateway.url + "/pipeline", json=[["INCR", f"c:{n}"] for n in range(30)], headers=gateway.auth, timeout=10)
    assert [item["result"] for item in r.json()] == [1] * 30
    checks = [requests.post(gateway.url + "/v1/ratelimits/api", json={"key": "u", "limit": 2, "window": 60},
                            headers=gateway.auth, timeout=10).json()["allowed"] for _ in range(3)]
    assert checks == [True, True, False]


def test_blocking_pops_and_subscriptions_over_tls(gateway):
    popped = {}

    def pop():
        popped["reply"] = cmd(gateway, "BLPOP", "tls:queue", "10").json()

    waiter = threading.Thread(target=pop)
    waiter.start()
    time.sleep(0.3)
    result(gateway, "RPUSH", "tls:queue", "job")
    waiter.join(timeout=15)
    assert popped["reply"] == {"result": ["tls:queue", "job"]}
    sub = Subscriber(f"{gateway.url}/v1/subscribe?channel=tls-news&shard-channel=tls:{{room}}", gateway.auth)
    try:
        result(gateway, "PUBLISH", "tls-news", "plain")
        assert json.loads(sub.next("message").data)["message"] == "plain"
        result(gateway, "SPUBLISH", "tls:{room}", "sharded")
        assert json.loads(sub.next("smessage").data)["message"] == "sharded"
    finally:
        sub.close()


@pytest.mark.parametrize("case", ["no client certificate", "client certificate of another CA", "nodes of another CA"])
def test_a_gateway_and_nodes_that_do_not_trust_each_other(cluster, pki, case):
    if case == "no client certificate":
        flags = ["--cluster-tls", "yes", "--cluster-tls-ca-cert-file", pki.ca]
    elif case == "client certificate of another CA":
        flags = ["--cluster-tls", "yes", "--cluster-tls-ca-cert-file", pki.ca,
                 "--cluster-tls-cert-file", pki.path("rogue.pem"), "--cluster-tls-key-file", pki.path("rogue.key")]
    else:
        flags = tls_flags(pki)
        flags[flags.index(pki.ca)] = pki.path("rogue.pem")
    started = subprocess.run([str(keyway_bin()), "serve", "--port", "0", "--save", "", "--backend", "cluster",
                              "--cluster-nodes", cluster.seeds(), *flags], capture_output=True, text=True, timeout=60)
    assert started.returncode != 0
    assert "answered CLUSTER SLOTS" in started.stderr + started.stdout


def test_tls_files_without_cluster_tls_are_refused(cluster, pki):
    started = subprocess.run([str(keyway_bin()), "serve", "--port", "0", "--save", "", "--backend", "cluster",
                              "--cluster-nodes", cluster.seeds(), "--cluster-tls-ca-cert-file", pki.ca],
                             capture_output=True, text=True, timeout=60)
    assert started.returncode != 0 and "cluster-tls yes" in started.stderr + started.stdout
