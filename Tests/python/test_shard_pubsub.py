"""Shard channels (Redis 7's SSUBSCRIBE/SPUBLISH) behind the SSE endpoint:
`GET /v1/subscribe?shard-channel=...` streams `smessage` events. On the
embedded engine they are a namespace apart from channels and patterns, as
in redis-server (checked beside one); on a real Redis Cluster each channel
is subscribed on its slot's master once per gateway, and follows its slot
when it moves to another master."""

from __future__ import annotations

import json
import time

import pytest
import requests

from cluster_fixtures import cluster, cluster_gateway, cmd, needs_redis_tools, result  # noqa: F401  (fixtures)
from conftest import start_server
from redis_reference import assert_same, reference_redis  # noqa: F401  (a fixture)
from test_sse_pubsub import Subscriber


def no_event(sub, kind, wait=0.4):
    try:
        event = sub.next(kind, timeout=wait)
    except Exception:
        return True
    raise AssertionError(f"unexpected {kind}: {event.data}")


# --- the embedded engine ---------------------------------------------------------------


def test_shard_channels_are_a_namespace_of_their_own(flush):
    server = flush
    shard = Subscriber(f"{server.url}/v1/subscribe?shard-channel=orders:{{eu}}&shard-channel=orders:{{us}}", server.auth)
    plain = Subscriber(f"{server.url}/v1/subscribe?channel=orders:{{eu}}&pattern=orders:*", server.auth)
    try:
        assert json.loads(shard.next("subscribe").data) == {"channels": [], "patterns": [], "shard_channels": ["orders:{eu}", "orders:{us}"]}
        assert result(server, "SPUBLISH", "orders:{eu}", "o-1") == 1
        event = json.loads(shard.next("smessage").data)
        assert (event["channel"], event["message"], "pattern" in event) == ("orders:{eu}", "o-1", False)
        no_event(plain, "message")
        # PUBLISH does not reach shard subscribers, nor patterns SPUBLISH.
        assert result(server, "PUBLISH", "orders:{eu}", "o-2") == 2
        assert json.loads(plain.next("message").data)["message"] == "o-2"
        no_event(shard, "smessage")
        # The resource route publishes to a shard channel with ?shard=true.
        r = requests.post(f"{server.url}/v1/channels/orders:%7Bus%7D/messages?shard=true", json={"message": "o-3"},
                          headers=server.auth, timeout=10)
        assert r.status_code == 200 and r.json() == {"channel": "orders:{us}", "receivers": 1}
        event = json.loads(shard.next("smessage").data)
        assert (event["channel"], event["message"]) == ("orders:{us}", "o-3")
        assert result(server, "PUBSUB", "SHARDCHANNELS") == ["orders:{eu}", "orders:{us}"]
        assert result(server, "PUBSUB", "SHARDCHANNELS", "*{eu}*") == ["orders:{eu}"]
        assert result(server, "PUBSUB", "SHARDNUMSUB", "orders:{eu}", "none") == ["orders:{eu}", 1, "none", 0]
        assert result(server, "PUBSUB", "CHANNELS") == ["orders:{eu}"]
    finally:
        shard.close()
        plain.close()
    deadline = time.time() + 5
    while result(server, "PUBSUB", "SHARDCHANNELS") and time.time() < deadline:
        time.sleep(0.05)
    assert result(server, "PUBSUB", "SHARDCHANNELS") == []


def test_shard_commands_answer_as_redis_does(flush, reference_redis):
    for words in (["SPUBLISH", "nobody", "x"], ["PUBSUB", "SHARDCHANNELS"], ["PUBSUB", "SHARDNUMSUB", "a", "b"],
                  ["PUBSUB", "SHARDNUMSUB"], ["SPUBLISH", "only-channel"]):
        assert_same(flush, reference_redis, *words)
    r = cmd(flush, "SSUBSCRIBE", "x")
    assert r.status_code == 400 and "shard-channel" in r.json()["error"]


def test_shard_subscriptions_follow_channel_permissions(tmp_path):
    config = tmp_path / "keyway.conf"
    config.write_text("requirepass admintoken\nuser eu on >secret ~* resetchannels &orders:{eu}* +@all\n")
    server = start_server("--config", str(config), token="admintoken", token_flag=False)
    try:
        auth = {"Authorization": "Basic ZXU6c2VjcmV0"}  # eu:secret
        allowed = Subscriber(f"{server.url}/v1/subscribe?shard-channel=orders:{{eu}}", auth)
        assert allowed.status == 200
        allowed.close()
        refused = requests.get(f"{server.url}/v1/subscribe?shard-channel=orders:{{us}}", headers=auth, timeout=10)
        assert refused.status_code == 403 and refused.json()["code"] == "NOPERM"
        r = requests.post(server.url + "/", json=["SPUBLISH", "orders:{us}", "x"], headers=auth, timeout=10)
        assert r.status_code == 403
        r = requests.post(server.url + "/", json=["SPUBLISH", "orders:{eu}", "x"], headers=auth, timeout=10)
        assert r.status_code == 200
    finally:
        server.cleanup()


# --- on a Redis Cluster -----------------------------------------------------------------

cluster_only = needs_redis_tools


@pytest.fixture(scope="module")
def gateways(cluster):
    first, second = cluster_gateway(cluster), cluster_gateway(cluster)
    yield first, second
    first.cleanup()
    second.cleanup()


def owner(cluster, channel):
    return cluster.master_of_slot(cluster.call(cluster.masters()[0], "CLUSTER", "KEYSLOT", channel))


@cluster_only
def test_shard_channels_on_their_slots_masters(cluster, gateways):
    first, second = gateways
    channels = ["room:{1}", "room:{2}", "room:{3}", "room:{4}"]
    assert len({owner(cluster, c) for c in channels}) >= 2  # spread over masters
    query = "&".join(f"shard-channel={c}" for c in channels)
    subscribers = [Subscriber(f"{first.url}/v1/subscribe?{query}", first.auth) for _ in range(3)]
    try:
        # One upstream SSUBSCRIBE per channel, on its owner, for three subscribers.
        for channel in channels:
            assert cluster.call(owner(cluster, channel), "PUBSUB", "SHARDNUMSUB", channel) == [channel, 1]
        for n, channel in enumerate(channels):
            # Through the other gateway, and straight into the owning node.
            assert result(second, "SPUBLISH", channel, f"hello-{n}") == 1
            cluster.call(owner(cluster, channel), "SPUBLISH", channel, f"direct-{n}")
            for sub in subscribers:
                for expected in (f"hello-{n}", f"direct-{n}"):
                    event = json.loads(sub.next("smessage").data)
                    assert (event["channel"], event["message"]) == (channel, expected)
        assert result(second, "PUBSUB", "SHARDNUMSUB", "room:{1}") == ["room:{1}", 1]
    finally:
        for sub in subscribers:
            sub.close()
    deadline = time.time() + 10
    while any(cluster.call(owner(cluster, c), "PUBSUB", "SHARDNUMSUB", c)[1] for c in channels) and time.time() < deadline:
        time.sleep(0.1)
    assert all(cluster.call(owner(cluster, c), "PUBSUB", "SHARDNUMSUB", c)[1] == 0 for c in channels)


@cluster_only
def test_a_shard_channel_follows_its_slot_to_another_master(cluster, gateways):
    first, second = gateways
    channel = "moving:{7}"
    slot = cluster.call(cluster.masters()[0], "CLUSTER", "KEYSLOT", channel)
    source = owner(cluster, channel)
    target = next(p for p in cluster.masters() if p != source)
    sub = Subscriber(f"{first.url}/v1/subscribe?shard-channel={channel}", first.auth)
    try:
        assert result(second, "SPUBLISH", channel, "before") == 1
        assert json.loads(sub.next("smessage").data)["message"] == "before"
        # Move the (empty) slot by hand, as redis-cli --cluster reshard does.
        source_id, target_id = cluster.node_id(source), cluster.node_id(target)
        assert cluster.call(target, "CLUSTER", "SETSLOT", slot, "IMPORTING", source_id) == "OK"
        assert cluster.call(source, "CLUSTER", "SETSLOT", slot, "MIGRATING", target_id) == "OK"
        for port in cluster.masters():
            cluster.call(port, "CLUSTER", "SETSLOT", slot, "NODE", target_id)
        cluster.wait_until_ok()
        # The gateway subscribes again on the new owner; a publish reaches it.
        deadline = time.time() + 10
        while cluster.call(target, "PUBSUB", "SHARDNUMSUB", channel)[1] != 1 and time.time() < deadline:
            time.sleep(0.05)
        assert cluster.call(target, "PUBSUB", "SHARDNUMSUB", channel) == [channel, 1]
        assert result(second, "SPUBLISH", channel, "after") == 1
        assert json.loads(sub.next("smessage").data)["message"] == "after"
    finally:
        sub.close()
