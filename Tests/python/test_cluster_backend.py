"""Keyway in front of a real Redis Cluster (`--backend cluster`): three
masters and three replicas of redis-server 7, created by the test. Both API
faces, pipelines, one-slot transactions, blocking pops, SSE and the
upstash-redis SDK run unchanged; keys of different slots get CROSSSLOT;
what only the embedded engine has is refused with NOT_SUPPORTED; two
gateways share one cluster; slots moved by `redis-cli --cluster reshard`
while a client writes and reads lose nothing; a master killed under load
costs 503s during the failover, never a wrong answer."""

from __future__ import annotations

import base64
import json
import subprocess
import threading
import time

import pytest
import requests
from upstash_redis import Redis

from cluster_fixtures import cluster, cmd, gateway, needs_redis_tools, result  # noqa: F401  (fixtures)
from conftest import start_server
from redis_cluster import REDIS_CLI
from test_sse_pubsub import Subscriber

pytestmark = needs_redis_tools


def test_keys_spread_over_every_master(cluster, gateway):
    for n in range(300):
        assert result(gateway, "SET", f"user:{n}", f"value-{n}") == "OK"
    assert [result(gateway, "GET", f"user:{n}") for n in range(300)] == [f"value-{n}" for n in range(300)]
    # The keys really are on three different masters.
    per_master = [cluster.call(port, "DBSIZE") for port in cluster.masters()]
    assert len(per_master) == 3 and all(count > 50 for count in per_master), per_master
    assert result(gateway, "DBSIZE") >= 300
    assert len([k for k in result(gateway, "KEYS", "user:*")]) == 300


def test_scan_walks_every_master_once(gateway):
    for n in range(120):
        result(gateway, "SET", f"scan:{n}", "x")
    seen: list[str] = []
    cursor = "0"
    calls = 0
    while True:
        cursor, page = result(gateway, "SCAN", cursor, "MATCH", "scan:*", "COUNT", "25")
        seen += page
        calls += 1
        if cursor == "0":
            break
        assert calls < 200
    assert sorted(seen) == sorted(f"scan:{n}" for n in range(120))
    r = cmd(gateway, "SCAN", "notacursor")
    assert r.status_code == 400


def test_multi_key_commands_need_one_slot(gateway):
    response = cmd(gateway, "MGET", "a", "b")
    assert response.status_code == 400
    assert response.json()["error"] == "CROSSSLOT Keys in request don't hash to the same slot"
    assert result(gateway, "MSET", "{cart:7}items", "3", "{cart:7}total", "42") == "OK"
    assert result(gateway, "MGET", "{cart:7}items", "{cart:7}total") == ["3", "42"]
    # The same CROSSSLOT through the resource API.
    r = requests.post(gateway.url + "/multi-exec", json=[["SET", "a", "1"], ["SET", "b", "2"]], headers=gateway.auth, timeout=10)
    assert r.status_code == 400 and "CROSSSLOT" in r.text


def test_split_runs_a_multi_key_command_per_slot_when_asked(gateway):
    result(gateway, "SET", "split:a", "1")
    result(gateway, "SET", "split:b", "2")
    result(gateway, "SET", "split:c", "3")
    words = ["MGET", "split:a", "split:b", "split:none", "split:c"]
    assert cmd(gateway, *words).status_code == 400  # CROSSSLOT unless asked
    r = requests.post(gateway.url + "/?split=true", json=words, headers=gateway.auth, timeout=10)
    assert r.status_code == 200 and r.json() == {"result": ["1", "2", None, "3"]}
    assert r.headers["Keyway-Atomic"] == "false"
    r = requests.post(gateway.url + "/?split=true", json=["EXISTS", "split:a", "split:b", "split:none"], headers=gateway.auth, timeout=10)
    assert r.json() == {"result": 2}
    r = requests.post(gateway.url + "/?split=true", json=["DEL", "split:a", "split:b", "split:c"], headers=gateway.auth, timeout=10)
    assert r.json() == {"result": 3}
    # One slot: atomic as ever, no header.
    r = requests.post(gateway.url + "/?split=true", json=["MGET", "{s}1", "{s}2"], headers=gateway.auth, timeout=10)
    assert r.json() == {"result": [None, None]} and "Keyway-Atomic" not in r.headers
    # Only the multi-key commands Redis clients split may be split.
    r = requests.post(gateway.url + "/?split=true", json=["RENAME", "split:a", "split:b"], headers=gateway.auth, timeout=10)
    assert r.status_code == 400 and "CROSSSLOT" in r.json()["error"]


def test_pipelines_span_masters_and_transactions_stay_on_one_slot(gateway):
    batch = [["SET", f"p:{n}", str(n)] for n in range(50)] + [["INCR", f"p:{n}"] for n in range(50)] + [["GET", "p:49"]]
    r = requests.post(gateway.url + "/pipeline", json=batch, headers=gateway.auth, timeout=30)
    assert r.status_code == 200
    replies = r.json()
    assert replies[:50] == [{"result": "OK"}] * 50
    assert [x["result"] for x in replies[50:100]] == [n + 1 for n in range(50)]
    assert replies[100] == {"result": "50"}
    r = requests.post(gateway.url + "/multi-exec", json=[["SET", "{acct:1}balance", "100"], ["DECRBY", "{acct:1}balance", "30"],
                                                          ["RPUSH", "{acct:1}log", "withdraw 30"]], headers=gateway.auth, timeout=10)
    assert r.status_code == 200 and [x["result"] for x in r.json()] == ["OK", 70, 1]


def test_resource_routes_and_scripts(gateway):
    r = requests.put(gateway.url + "/v1/keys/greeting", json={"value": "hello", "ttl": 100}, headers=gateway.auth, timeout=10)
    assert r.status_code in (200, 201), r.text
    r = requests.get(gateway.url + "/v1/keys/greeting", headers=gateway.auth, timeout=10)
    assert r.status_code == 200 and r.json()["value"] == "hello" and 90 <= r.json()["ttl"] <= 100
    assert requests.get(gateway.url + "/v1/keys/missing-key", headers=gateway.auth, timeout=10).status_code == 404
    assert result(gateway, "ZADD", "board", "10", "ada", "20", "grace") == 2
    assert result(gateway, "ZREVRANGE", "board", "0", "-1", "WITHSCORES") == ["grace", "20", "ada", "10"]
    assert result(gateway, "EVAL", "return redis.call('INCRBY', KEYS[1], ARGV[1])", "1", "script:counter", "5") == 5
    r = cmd(gateway, "EVAL", "return 1", "2", "a", "b")
    assert r.status_code == 400 and "CROSSSLOT" in r.json()["error"]


def test_embedded_only_commands_are_refused(gateway):
    for words in (["SAVE"], ["CONFIG", "GET", "maxmemory"], ["BGREWRITEAOF"]):
        r = cmd(gateway, *words)
        assert r.status_code == 400, words
        assert r.json()["error"].startswith(f"ERR {words[0]} acts on the embedded engine"), r.json()
    assert cmd(gateway, "NOSUCHCOMMAND").status_code == 400
    monitor = requests.get(gateway.url + "/v1/monitor", headers=gateway.auth, timeout=10)
    assert monitor.status_code == 400 and monitor.json()["code"] == "NOT_SUPPORTED"


def test_subscribe_as_a_command_is_refused_and_leaves_the_node_connections_usable(gateway):
    """SUBSCRIBE sent to a node would turn a pooled connection into a
    subscriber's, refusing every later command on it; it is refused as the
    embedded engine refuses it, and the commands after it are served."""
    for _ in range(12):  # more than the pooled connections to all masters
        r = cmd(gateway, "SUBSCRIBE", "news")
        assert r.status_code == 400 and r.json()["error"].startswith("ERR SUBSCRIBE needs a streaming connection"), r.text
    r = requests.post(gateway.url + "/pipeline", json=[["SET", "sub:k", "1"], ["PSUBSCRIBE", "n*"], ["GET", "sub:k"]],
                      headers=gateway.auth, timeout=10)
    assert r.json() == [{"result": "OK"}, {"error": "ERR PSUBSCRIBE is not allowed in a pipeline"}, {"result": "1"}]
    for n in range(60):
        assert result(gateway, "SET", f"after-subscribe:{n}", n) == "OK"
    assert result(gateway, "DBSIZE") >= 60


def test_maps_and_the_sync_token_as_with_the_embedded_engine(gateway):
    """The nodes answer HGETALL and XINFO with RESP2's flat arrays; the
    resource API still gets its objects. Pipelines and transactions move
    the sync token as single writes do."""
    result(gateway, "HSET", "shape:h", "name", "Ada", "role", "admin")
    r = requests.get(gateway.url + "/v1/hashes/shape:h", headers=gateway.auth, timeout=10)
    assert r.status_code == 200 and r.json()["fields"] == {"name": "Ada", "role": "admin"}, r.text
    assert result(gateway, "HGETALL", "shape:h") == ["name", "Ada", "role", "admin"]
    result(gateway, "XADD", "shape:s", "1-1", "f", "v")
    result(gateway, "XGROUP", "CREATE", "shape:s", "g", "0")
    r = requests.post(gateway.url + "/pipeline", json=[["XINFO", "STREAM", "shape:s"], ["XINFO", "GROUPS", "shape:s"]],
                      headers=gateway.auth, timeout=10)
    stream, groups = r.json()
    assert stream["result"][:2] == ["length", 1] and groups["result"][0][:2] == ["name", "g"], r.text

    def token(response):
        assert response.status_code == 200, response.text
        return int(response.headers["Upstash-Sync-Token"])

    before = token(cmd(gateway, "SET", "shape:k", "1"))
    piped = token(requests.post(gateway.url + "/pipeline", json=[["SET", "shape:k", "2"]], headers=gateway.auth, timeout=10))
    assert piped > before
    atomic = token(requests.post(gateway.url + "/multi-exec", json=[["SET", "shape:k", "3"]], headers=gateway.auth, timeout=10))
    assert atomic > piped


def test_a_message_published_once_the_stream_opened_is_delivered(gateway):
    """The stream opens once the node has confirmed the subscription, so a
    publish right after it (through another node, even) is not lost."""
    for n in range(15):
        sub = Subscriber(f"{gateway.url}/v1/subscribe?channel=opened:{n}", gateway.auth)
        try:
            result(gateway, "PUBLISH", f"opened:{n}", "hello")
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                event = sub.events.get(timeout=5)
                if '"message"' in event.data:
                    assert json.loads(event.data)["message"] == "hello"
                    break
            else:
                pytest.fail(f"no message on opened:{n}")
        finally:
            sub.close()


def test_blocking_pop_holds_no_thread_and_is_served(gateway):
    results = []

    def pop():
        results.append(cmd(gateway, "BLPOP", "jobs", "10").json())

    waiters = [threading.Thread(target=pop) for _ in range(40)]  # more than the HTTP threads
    for waiter in waiters:
        waiter.start()
    time.sleep(1.0)
    assert result(gateway, "PING") == "PONG"  # still served while 40 pops wait
    for n in range(40):
        result(gateway, "RPUSH", "jobs", f"job-{n}")
    for waiter in waiters:
        waiter.join(timeout=15)
    assert sorted(r["result"][1] for r in results) == sorted(f"job-{n}" for n in range(40))
    assert cmd(gateway, "BLPOP", "empty-queue", "0.2").json() == {"result": None}


def test_subscribers_get_messages_published_through_any_gateway(cluster, gateway):
    other = start_server("--backend", "cluster", "--cluster-nodes", cluster.seeds())
    try:
        sub = Subscriber(f"{gateway.url}/v1/subscribe?channel=news&pattern=orders.*", gateway.auth)
        try:
            result(other, "PUBLISH", "news", "hello")
            first = json.loads(sub.next().data)
            assert first["channel"] == "news" and first["message"] == "hello"
            result(other, "PUBLISH", "orders.eu", "o1")
            second = json.loads(sub.next().data)
            assert second["pattern"] == "orders.*" and second["message"] == "o1"
        finally:
            sub.close()
        # Writes through one gateway are read through the other.
        result(gateway, "SET", "shared", "from-first")
        assert result(other, "GET", "shared") == "from-first"
    finally:
        other.cleanup()


def test_the_sdk_works_unchanged(gateway):
    redis = Redis(url=gateway.url, token=gateway.token)
    assert redis.set("sdk:name", "Ada") is True
    assert redis.get("sdk:name") == "Ada"
    assert redis.incr("sdk:visits") == 1
    assert redis.hset("sdk:user", values={"name": "Ada", "lang": "en"}) == 2
    assert redis.hgetall("sdk:user") == {"name": "Ada", "lang": "en"}
    assert redis.lpush("sdk:queue", "a", "b") == 2
    assert redis.lrange("sdk:queue", 0, -1) == ["b", "a"]
    pipe = redis.pipeline()
    pipe.set("sdk:p1", "1")
    pipe.get("sdk:p1")
    assert pipe.exec() == [True, "1"]


def test_acl_rules_apply_before_the_cluster_is_asked(cluster, tmp_path):
    config = tmp_path / "keyway.conf"
    config.write_text("requirepass admintoken\nuser reader on >readerpw ~* +@read -@dangerous\n")
    server = start_server("--config", str(config), "--backend", "cluster", "--cluster-nodes", cluster.seeds(),
                          token="admintoken", token_flag=False)
    try:
        reader = {"Authorization": "Basic " + base64.b64encode(b"reader:readerpw").decode()}
        refused = requests.post(server.url + "/", json=["SET", "acl:x", "1"], headers=reader, timeout=10)
        assert refused.status_code == 403 and refused.json()["error"].startswith("NOPERM")
        assert cluster.call(cluster.master_of_slot(int(cluster.call(cluster.ports[0], "CLUSTER", "KEYSLOT", "acl:x"))), "EXISTS", "acl:x") == 0
        result(server, "SET", "acl:x", "1")
        allowed = requests.post(server.url + "/", json=["GET", "acl:x"], headers=reader, timeout=10)
        assert allowed.status_code == 200 and allowed.json() == {"result": "1"}
        assert requests.get(server.url + "/v1/keys/acl:x", timeout=10).status_code == 401
    finally:
        server.cleanup()


def test_resharding_under_load_loses_nothing(cluster, gateway):
    stop = threading.Event()
    failures: list = []
    keys = 10_000
    # Every key written first, so each is read back at the end whether or
    # not the loop reached it again while the slots moved.
    preload = [["SET", f"reshard:{n}", "v-initial"] for n in range(keys)]
    r = requests.post(gateway.url + "/pipeline", json=preload, headers=gateway.auth, timeout=60)
    assert r.status_code == 200 and all(item.get("result") == "OK" for item in r.json()), r.text[:500]
    acknowledged: dict[str, str] = {f"reshard:{n}": "v-initial" for n in range(keys)}

    def load():
        n = 0
        while not stop.is_set():
            key = f"reshard:{n % keys}"
            value = f"v{n}"
            r = cmd(gateway, "SET", key, value)
            if r.status_code != 200:
                failures.append(("SET", key, r.status_code, r.text))
            else:
                acknowledged[key] = value
                got = cmd(gateway, "GET", key)
                if got.status_code != 200 or got.json().get("result") != value:
                    failures.append(("GET", key, got.status_code, got.text))
            n += 1

    worker = threading.Thread(target=load)
    worker.start()
    try:
        time.sleep(1)
        masters = cluster.masters()
        source, target = masters[0], masters[1]
        moved = subprocess.run(
            [REDIS_CLI, "--cluster", "reshard", f"127.0.0.1:{source}", "--cluster-from", cluster.node_id(source),
             "--cluster-to", cluster.node_id(target), "--cluster-slots", "600", "--cluster-yes", "--cluster-pipeline", "20"],
            capture_output=True, text=True, timeout=300)
        assert moved.returncode == 0, moved.stdout[-2000:] + moved.stderr[-2000:]
        time.sleep(1)
    finally:
        stop.set()
        worker.join(timeout=30)
    assert failures == []
    assert len(acknowledged) == keys
    names = sorted(acknowledged)
    for start in range(0, keys, 1000):
        batch = [["GET", key] for key in names[start:start + 1000]]
        r = requests.post(gateway.url + "/pipeline", json=batch, headers=gateway.auth, timeout=60)
        assert r.status_code == 200
        assert [item.get("result") for item in r.json()] == [acknowledged[key] for key in names[start:start + 1000]]
    cluster.wait_until_ok()


def test_subscribers_share_one_upstream_subscription(cluster, gateway):
    def upstream_subscriptions(channel: str) -> int:
        return sum(cluster.call(port, "PUBSUB", "NUMSUB", channel)[1] for port in cluster.live_ports())

    subscribers = [Subscriber(f"{gateway.url}/v1/subscribe?channel=shared-news", gateway.auth) for _ in range(3)]
    try:
        assert upstream_subscriptions("shared-news") == 1
        result(gateway, "PUBLISH", "shared-news", "to-all")
        for sub in subscribers:
            assert json.loads(sub.next().data)["message"] == "to-all"
    finally:
        for sub in subscribers:
            sub.close()
    deadline = time.time() + 10
    while upstream_subscriptions("shared-news") and time.time() < deadline:
        time.sleep(0.1)
    assert upstream_subscriptions("shared-news") == 0


def test_info_metrics_and_readiness_report_the_cluster(gateway):
    info = result(gateway, "INFO")
    assert "# Keyway_cluster" in info and "cluster_slots_covered:16384" in info and "cluster_masters_known:3" in info
    metrics = requests.get(gateway.url + "/metrics", headers=gateway.auth, timeout=10).text
    assert "keyway_cluster_slots_covered 16384" in metrics
    assert "keyway_cluster_upstream_requests_total" in metrics
    assert requests.get(gateway.url + "/readyz", timeout=10).json() == {"status": "ready"}


def test_failover_gives_503_then_recovers(cluster, gateway):
    # Last in the module: the cluster loses a master for good.
    victim = cluster.masters()[0]
    key = next(f"failover:{n}" for n in range(10000)
               if cluster.master_of_slot(cluster.call(victim, "CLUSTER", "KEYSLOT", f"failover:{n}")) == victim)
    result(gateway, "SET", key, "0")
    statuses: list[tuple[float, int]] = []
    wrong: list = []
    stop = threading.Event()

    def load():
        while not stop.is_set():
            try:
                r = cmd(gateway, "INCR", key)
            except requests.RequestException as error:
                wrong.append(repr(error))
                continue
            statuses.append((time.time(), r.status_code))
            if r.status_code == 200:
                if not isinstance(r.json().get("result"), int) or r.json()["result"] <= 0:
                    wrong.append(r.text)
            elif r.status_code != 503 or r.json().get("code", "CLUSTER_UNAVAILABLE") not in ("CLUSTER_UNAVAILABLE",):
                wrong.append((r.status_code, r.text))
            time.sleep(0.01)

    # A subscriber open across the failover (its upstream may be on the victim).
    sub = Subscriber(f"{gateway.url}/v1/subscribe?channel=after-failover", gateway.auth)
    worker = threading.Thread(target=load)
    worker.start()
    time.sleep(0.5)
    killed_at = time.time()
    cluster.kill(victim)
    recovered_at = None
    while time.time() < killed_at + 60:
        time.sleep(0.2)
        after = [status for at, status in statuses if at > killed_at]
        if len(after) >= 10 and after[-10:] == [200] * 10:
            recovered_at = time.time()
            break
    stop.set()
    worker.join(timeout=30)
    assert wrong == []
    assert recovered_at is not None, [(round(at - killed_at, 2), status) for at, status in statuses if at > killed_at][:40]
    assert {status for _, status in statuses} <= {200, 503}
    # Redis's failover here takes cluster-node-timeout (2 s) plus an election.
    assert recovered_at - killed_at < 20
    try:
        deadline = time.time() + 10
        while True:
            result(gateway, "PUBLISH", "after-failover", "still-here")
            try:
                assert json.loads(sub.next(timeout=1).data)["message"] == "still-here"
                break
            except Exception:
                if time.time() > deadline:
                    raise
    finally:
        sub.close()
