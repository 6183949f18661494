"""What the tests that start a Redis Cluster of their own share: the
cluster and a gateway in front of it (module-scoped fixtures, imported by
name into each test module), and one command through a gateway's `POST /`."""

from __future__ import annotations

import pytest
import requests

from conftest import start_server
from redis_cluster import REDIS_CLI, REDIS_SERVER, RedisCluster

needs_redis_tools = pytest.mark.skipif(REDIS_SERVER is None or REDIS_CLI is None,
                                       reason="redis-server and redis-cli not installed (make deps installs them)")


@pytest.fixture(scope="module")
def cluster():
    """Three masters and three replicas, for the module's tests."""
    nodes = RedisCluster()
    yield nodes
    nodes.stop()


def cluster_gateway(cluster, *flags):
    """`keyway serve --backend cluster` in front of `cluster`."""
    return start_server("--backend", "cluster", "--cluster-nodes", cluster.seeds(), *flags)


@pytest.fixture(scope="module")
def gateway(cluster):
    server = cluster_gateway(cluster)
    yield server
    server.cleanup()


def cmd(server, *words, token=None):
    """One command through `POST /`; `token` is sent as Upstash-Sync-Token."""
    headers = dict(server.auth)
    if token is not None:
        headers["Upstash-Sync-Token"] = token
    return requests.post(server.url + "/", json=[str(w) for w in words], headers=headers, timeout=30)


def result(server, *words):
    """The command's result, asserting it succeeded."""
    response = cmd(server, *words)
    body = response.json()
    assert response.status_code == 200 and "error" not in body, (words, response.status_code, body)
    return body["result"]
