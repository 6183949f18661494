"""The middleware on a real Redis Cluster (`--backend cluster`): rate limits,
locks with fencing and waits, sessions and cache-aside run as Lua scripts on
the master of their key's slot. Each is checked beside the embedded engine
(the same answers for the same requests), for atomicity across two gateways,
for the Redis view of its state, and for a node that lost its scripts."""

from __future__ import annotations

import socket
import threading
import time

import pytest
import requests

from cluster_fixtures import cluster, cluster_gateway, cmd, gateway, needs_redis_tools, result  # noqa: F401  (fixtures)
from conftest import start_server
from test_cache_aside import Origin

pytestmark = needs_redis_tools

ALGORITHMS = ["fixed-window", "sliding-log", "sliding-window", "token-bucket"]


@pytest.fixture(scope="module")
def second_gateway(cluster):
    server = cluster_gateway(cluster)
    yield server
    server.cleanup()


@pytest.fixture(scope="module")
def embedded():
    server = start_server()
    yield server
    server.cleanup()


def node_of(cluster, key):
    """The master port holding `key`, asked of the cluster itself."""
    slot = cluster.call(cluster.masters()[0], "CLUSTER", "KEYSLOT", key)
    return cluster.master_of_slot(slot), slot


def rest(server, method, path, body=None, **kwargs):
    return requests.request(method, server.url + path, json=body, headers=server.auth, timeout=kwargs.pop("timeout", 10), **kwargs)


# --- rate limits ----------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_rate_limits_answer_as_the_embedded_engine_does(cluster, gateway, embedded, algorithm):
    # Costs and peeks, past the limit and back: each step is sent to both
    # backends one right after the other.
    steps = [(1, False), (2, False), (1, True), (1, False), (3, False), (1, False), (1, True), (1, False)]
    key = f"ratelimit:same:{algorithm}"
    for cost, peek in steps:
        words = ["RATELIMIT", key, algorithm, "5", "60000", "COST", str(cost)] + (["PEEK"] if peek else [])
        mine, theirs = result(gateway, *words), result(embedded, *words)
        assert mine[:3] == theirs[:3], (algorithm, cost, peek, mine, theirs)
        # Reset and retry-after are times: equal but for the moment each ran.
        assert abs(mine[3] - theirs[3]) <= 1000 and abs(mine[4] - theirs[4]) <= 1000, (mine, theirs)
    # The state is where and what the engine keeps: an ordinary key with a TTL.
    port, _ = node_of(cluster, key)
    kinds = {"fixed-window": "string", "sliding-log": "zset", "sliding-window": "hash", "token-bucket": "hash"}
    assert cluster.call(port, "TYPE", key) == kinds[algorithm]
    assert result(embedded, "TYPE", key) == kinds[algorithm]
    assert 0 < cluster.call(port, "PTTL", key) <= 120_000


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_the_rate_limit_routes_allow_exactly_the_limit(gateway, algorithm):
    def check():
        return rest(gateway, "POST", "/v1/ratelimits/api", {"key": f"user:{algorithm}", "limit": 3, "window": 60, "algorithm": algorithm})

    answers = [check() for _ in range(4)]
    assert [r.status_code for r in answers] == [200] * 4
    assert [r.json()["allowed"] for r in answers] == [True, True, True, False]
    assert [r.headers["RateLimit-Remaining"] for r in answers] == ["2", "1", "0", "0"]
    assert answers[-1].json()["retry_after_ms"] > 0
    peek = requests.get(gateway.url + "/v1/ratelimits/api", params={"key": f"user:{algorithm}", "limit": 3, "window": 60,
                        "algorithm": algorithm}, headers=gateway.auth, timeout=5)
    assert peek.status_code == 200 and peek.json()["allowed"] is False
    assert requests.delete(gateway.url + "/v1/ratelimits/api", params={"key": f"user:{algorithm}"},
                           headers=gateway.auth, timeout=5).status_code == 204
    assert check().json()["remaining"] == 2


def test_a_limit_holds_across_two_gateways_under_concurrency(gateway, second_gateway):
    allowed = []
    lock = threading.Lock()

    def worker(server):
        session = requests.Session()
        for _ in range(25):
            r = session.post(server.url + "/v1/ratelimits/shared", json={"key": "k", "limit": 40, "window": 60,
                             "algorithm": "sliding-window"}, headers=server.auth, timeout=10)
            assert r.status_code == 200
            with lock:
                allowed.append(r.json()["allowed"])

    threads = [threading.Thread(target=worker, args=(server,)) for server in (gateway, second_gateway) * 4]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(allowed) == 200
    assert allowed.count(True) == 40


def test_the_gateway_rate_limit_runs_on_the_cluster(cluster):
    server = start_server("--backend", "cluster", "--cluster-nodes", cluster.seeds(), "--rate-limit", "3/60")
    try:
        codes = [requests.get(server.url + "/get/anything", headers=server.auth, timeout=5).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        assert requests.get(server.url + "/healthz", timeout=5).status_code == 200
    finally:
        server.cleanup()


def test_bad_rate_limit_arguments_get_the_engines_errors(gateway, embedded):
    for words in (["RATELIMIT", "k", "leaky", "5", "1000"],
                  ["RATELIMIT", "k", "fixed-window", "0", "1000"],
                  ["RATELIMIT", "k", "fixed-window", "5", "1000", "COST", "9"],
                  ["RATELIMIT", "k", "fixed-window", "5", "1000", "BOGUS"],
                  ["RATELIMIT", "k", "fixed-window", "x", "1000"]):
        mine, theirs = cmd(gateway, *words), cmd(embedded, *words)
        assert (mine.status_code, mine.json()) == (theirs.status_code, theirs.json()), words
    # A key of another type: WRONGTYPE from the node, as from the engine.
    for server in (gateway, embedded):
        result(server, "LPUSH", "ratelimit:list", "x")
        r = cmd(server, "RATELIMIT", "ratelimit:list", "sliding-log", "5", "1000")
        assert r.status_code == 400 and r.json()["error"].startswith("WRONGTYPE"), r.text


# --- locks ------------------------------------------------------------------------


def test_lock_acquire_release_and_fencing_keep_one_slot(cluster, gateway):
    first = rest(gateway, "POST", "/v1/locks/order:789", {"ttl": 30})
    assert first.status_code == 201, first.text
    grant = first.json()
    assert grant["fencing"] == 1 and grant["ttl"] == 30
    # The name is the hash tag: the lock and its counter share a slot.
    port, slot = node_of(cluster, "lock:{order:789}")
    assert node_of(cluster, "lock:{order:789}:fencing") == (port, slot)
    assert cluster.call(port, "GET", "lock:{order:789}") == grant["token"]
    assert cluster.call(port, "GET", "lock:{order:789}:fencing") == "1"
    # The plain SET NX pattern sees it held.
    assert result(gateway, "SET", "lock:{order:789}", "me", "NX", "PX", "1000") is None

    held = rest(gateway, "POST", "/v1/locks/order:789", {"ttl": 30})
    assert held.status_code == 409 and held.json()["code"] == "LOCK_HELD"
    state = rest(gateway, "GET", "/v1/locks/order:789").json()
    assert state["held"] is True and state["fencing"] == 1 and "token" not in state
    assert rest(gateway, "DELETE", "/v1/locks/order:789", {"token": "nope"}).status_code == 412
    assert rest(gateway, "PATCH", "/v1/locks/order:789", {"token": "nope", "ttl": 5}).status_code == 412
    extended = rest(gateway, "PATCH", "/v1/locks/order:789", {"token": grant["token"], "ttl": 90})
    assert extended.status_code == 200 and extended.json()["ttl"] == 90
    assert 80_000 < cluster.call(port, "PTTL", "lock:{order:789}") <= 90_000
    assert rest(gateway, "DELETE", "/v1/locks/order:789", {"token": grant["token"]}).status_code == 204
    assert rest(gateway, "DELETE", "/v1/locks/order:789", {"token": grant["token"]}).json()["code"] == "NO_SUCH_LOCK"
    assert rest(gateway, "POST", "/v1/locks/order:789", {"ttl": 30}).json()["fencing"] == 2
    # A name that would make an empty hash tag is refused, not split over two slots.
    bad = rest(gateway, "POST", "/v1/locks/%7Dx", {"ttl": 30})
    assert bad.status_code == 400


def test_a_waiter_gets_the_lock_when_it_is_released_or_lapses(gateway, second_gateway):
    holder = rest(gateway, "POST", "/v1/locks/w", {"ttl": 30}).json()
    answers: dict[str, requests.Response] = {}

    def wait(name, server):
        answers[name] = rest(server, "POST", "/v1/locks/w", {"ttl": 0.5, "wait": 10}, timeout=20)

    waiter = threading.Thread(target=wait, args=("released", second_gateway))
    waiter.start()
    time.sleep(0.4)
    assert "released" not in answers  # still waiting
    released_at = time.monotonic()
    assert rest(gateway, "DELETE", "/v1/locks/w", {"token": holder["token"]}).status_code == 204
    waiter.join(timeout=15)
    assert answers["released"].status_code == 201
    assert answers["released"].json()["fencing"] == holder["fencing"] + 1
    assert time.monotonic() - released_at < 1.0
    # The next waiter gets it when that 0.5 s lock lapses, nobody releasing it.
    started = time.monotonic()
    wait("lapsed", gateway)
    assert answers["lapsed"].status_code == 201
    assert answers["lapsed"].json()["fencing"] == holder["fencing"] + 2
    assert time.monotonic() - started < 1.5


def test_a_wait_times_out_with_409(gateway):
    rest(gateway, "POST", "/v1/locks/t", {"ttl": 30})
    started = time.monotonic()
    r = rest(gateway, "POST", "/v1/locks/t", {"ttl": 30, "wait": 0.3})
    assert r.status_code == 409 and r.json()["code"] == "LOCK_HELD"
    assert 0.3 <= time.monotonic() - started < 2


def test_one_holder_at_a_time_under_contention(gateway, second_gateway):
    inside = []
    fencings = []
    lock = threading.Lock()

    def worker(server):
        for _ in range(5):
            r = rest(server, "POST", "/v1/locks/contended", {"ttl": 10, "wait": 20}, timeout=30)
            assert r.status_code == 201, r.text
            grant = r.json()
            with lock:
                inside.append(1)
                assert len(inside) == 1, "two holders at once"
                fencings.append(grant["fencing"])
            time.sleep(0.005)
            with lock:
                inside.pop()
            assert rest(server, "DELETE", "/v1/locks/contended", {"token": grant["token"]}).status_code == 204

    threads = [threading.Thread(target=worker, args=(server,)) for server in (gateway, second_gateway) * 3]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(fencings) == list(range(1, 31))


def test_a_waiter_that_leaves_does_not_keep_the_lock(gateway):
    rest(gateway, "POST", "/v1/locks/gone", {"ttl": 0.6})
    body = b'{"ttl": 30, "wait": 10}'
    request = (f"POST /v1/locks/gone HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {gateway.token}\r\n"
               f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
    with socket.create_connection(("127.0.0.1", gateway.port)) as s:
        s.sendall(request)
        time.sleep(0.2)
    # The holder's lock lapses; the waiter is gone, so the lock is free again
    # (never taken, or given back) rather than held for 30 s by nobody.
    deadline = time.monotonic() + 5
    while True:
        r = rest(gateway, "POST", "/v1/locks/gone", {"ttl": 30})
        if r.status_code == 201 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert r.status_code == 201, r.text


def test_lock_commands_check_their_arguments(gateway, embedded):
    for words in (["KEYWAY.LOCK", "lock:{a}", "lock:{a}:fencing", "t", "0", "0"],
                  ["KEYWAY.LOCK", "lock:{a}", "lock:{a}:fencing", "t", "100", "-1"],
                  ["KEYWAY.EXTEND", "lock:{a}", "t", "x"]):
        mine, theirs = cmd(gateway, *words), cmd(embedded, *words)
        assert (mine.status_code, mine.json()) == (theirs.status_code, theirs.json()), words
    # The two keys of one lock must share a slot, as any multi-key command.
    r = cmd(gateway, "KEYWAY.LOCK", "lock:a", "lock:a:fencing", "t", "100", "0")
    assert r.status_code == 400 and "CROSSSLOT" in r.json()["error"]
    assert result(gateway, "KEYWAY.UNLOCK", "lock:{none}", "t") == -1


# --- sessions and cache-aside -------------------------------------------------------------


def test_sessions_are_hashes_patched_in_place(cluster, gateway):
    created = rest(gateway, "POST", "/v1/sessions", {"data": {"user_id": "123", "visits": 2}, "ttl": 600})
    assert created.status_code == 201
    sid = created.json()["id"]
    port, _ = node_of(cluster, f"session:{sid}")
    assert cluster.call(port, "HGETALL", f"session:{sid}") == ["user_id", "123", "visits", "2"]
    patched = rest(gateway, "PATCH", f"/v1/sessions/{sid}", {"data": {"visits": 3, "user_id": None, "theme": "dark"}})
    assert patched.status_code == 200, patched.text
    assert patched.json()["data"] == {"visits": "3", "theme": "dark"}
    assert 590 <= patched.json()["ttl"] <= 600
    assert rest(gateway, "GET", f"/v1/sessions/{sid}").json()["data"] == {"visits": "3", "theme": "dark"}
    # A patch that would leave no field changes nothing, as on the engine.
    emptied = rest(gateway, "PATCH", f"/v1/sessions/{sid}", {"data": {"visits": None, "theme": None}})
    assert emptied.status_code >= 400
    assert cluster.call(port, "HGETALL", f"session:{sid}") == ["visits", "3", "theme", "dark"]
    assert rest(gateway, "DELETE", f"/v1/sessions/{sid}").status_code == 204
    # A patch never brings back a session that is gone.
    assert rest(gateway, "PATCH", f"/v1/sessions/{sid}", {"data": {"visits": 4}}).status_code == 404
    assert cluster.call(port, "EXISTS", f"session:{sid}") == 0


def test_cache_aside_on_the_cluster(cluster, tmp_path):
    origin = Origin()
    config = tmp_path / "keyway.conf"
    config.write_text(f"cache-origin users http://127.0.0.1:{origin.port} ttl 3600\n")
    server = start_server("--backend", "cluster", "--cluster-nodes", cluster.seeds(), "--config", str(config))
    try:
        miss = requests.get(server.url + "/v1/cache/users/42", headers=server.auth, timeout=10)
        assert miss.status_code == 200 and miss.headers["X-Cache"] == "MISS"
        hit = requests.get(server.url + "/v1/cache/users/42", headers=server.auth, timeout=10)
        assert hit.headers["X-Cache"] == "HIT" and hit.json() == miss.json()
        assert origin.count == 1
        port, _ = node_of(cluster, "cache:users:/42")
        fields = cluster.call(port, "HGETALL", "cache:users:/42")
        assert dict(zip(fields[::2], fields[1::2]))["status"] == "200"
        assert requests.delete(server.url + "/v1/cache/users/42", headers=server.auth, timeout=10).status_code in (200, 204)
        assert cluster.call(port, "EXISTS", "cache:users:/42") == 0
    finally:
        server.cleanup()
        origin.stop()


# --- scripts a node lost, pipelines and transactions -----------------------------------------


def test_nodes_that_lost_their_scripts_get_them_again(cluster, gateway):
    assert result(gateway, "RATELIMIT", "ratelimit:flush", "fixed-window", "5", "60000")[0] == 1
    for port in cluster.masters():
        assert cluster.call(port, "SCRIPT", "FLUSH") == "OK"
    assert result(gateway, "RATELIMIT", "ratelimit:flush", "fixed-window", "5", "60000")[:3] == [1, 5, 3]
    lock = rest(gateway, "POST", "/v1/locks/flushed", {"ttl": 30})
    assert lock.status_code == 201
    for port in cluster.masters():
        cluster.call(port, "SCRIPT", "FLUSH")
    # In a pipeline too: a NOSCRIPT answer is sent again as the whole script.
    batch = [["RATELIMIT", "ratelimit:flush", "fixed-window", "5", "60000"], ["KEYWAY.UNLOCK", "lock:{flushed}", lock.json()["token"]],
             ["SET", "plain", "1"]]
    r = requests.post(gateway.url + "/pipeline", json=batch, headers=gateway.auth, timeout=10)
    assert r.status_code == 200, r.text
    replies = r.json()
    assert replies[0]["result"][:3] == [1, 5, 2]
    assert replies[1]["result"] == 1 and replies[2]["result"] == "OK"
    # And in order: the lock is taken before the GET after it reads its
    # fencing counter, on a node that had lost the script.
    for port in cluster.masters():
        cluster.call(port, "SCRIPT", "FLUSH")
    batch = [["KEYWAY.LOCK", "lock:{ordered}", "lock:{ordered}:fencing", "tok", "5000", "0"], ["GET", "lock:{ordered}:fencing"],
             ["KEYWAY.UNLOCK", "lock:{ordered}", "tok"], ["EXISTS", "lock:{ordered}"]]
    r = requests.post(gateway.url + "/pipeline", json=batch, headers=gateway.auth, timeout=10)
    assert r.status_code == 200, r.text
    assert [item.get("result") for item in r.json()] == [[1, 5000], "1", 1, 0]


def test_middleware_commands_in_a_transaction(cluster, gateway):
    for port in cluster.masters():
        cluster.call(port, "SCRIPT", "FLUSH")
    batch = [["KEYWAY.LOCK", "lock:{tx}", "lock:{tx}:fencing", "tok", "5000", "0"],
             ["KEYWAY.LOCK", "lock:{tx}", "lock:{tx}:fencing", "other", "5000", "0"],
             ["KEYWAY.EXTEND", "lock:{tx}", "tok", "9000"],
             ["GET", "lock:{tx}:fencing"]]
    r = requests.post(gateway.url + "/multi-exec", json=batch, headers=gateway.auth, timeout=10)
    assert r.status_code == 200, r.text
    assert [item.get("result") for item in r.json()] == [[1, 5000], None, 1, "1"]


def test_the_hash_patch_command_answers_as_the_engine_does(gateway, embedded):
    for server in (gateway, embedded):
        result(server, "DEL", "session:direct")
        result(server, "HSET", "session:direct", "a", "1", "b", "2")
    for words in (["KEYWAY.HPATCH", "session:direct", "900000", "1", "c", "3", "a"],
                  ["KEYWAY.HPATCH", "session:direct", "0", "0", "b", "c"],
                  ["KEYWAY.HPATCH", "session:missing", "0", "1", "x", "1"],
                  ["KEYWAY.HPATCH", "session:direct", "0", "2", "x", "1"],
                  ["KEYWAY.HPATCH", "session:direct", "-5", "0"]):
        mine, theirs = cmd(gateway, *words), cmd(embedded, *words)
        assert mine.status_code == theirs.status_code, (words, mine.text, theirs.text)
        if words[2] == "900000":
            # [fields, pttl]: the same fields; the TTL as each one ran.
            assert mine.json()["result"][0] == theirs.json()["result"][0] == ["b", "2", "c", "3"]
            assert 890_000 < mine.json()["result"][1] <= 900_000
        else:
            assert mine.json() == theirs.json(), words


def test_typed_deletes_answer_as_the_engine_does(gateway, embedded):
    # The resource API's DELETE of a typed resource: KEYWAY.DELTYPE.
    for server in (gateway, embedded):
        result(server, "DEL", "typed:h")
        result(server, "DEL", "typed:l")
        result(server, "HSET", "typed:h", "f", "v")
        result(server, "RPUSH", "typed:l", "x")
    for words in (["KEYWAY.DELTYPE", "typed:l", "hash"], ["KEYWAY.DELTYPE", "typed:h", "blob"],
                  ["KEYWAY.DELTYPE", "typed:none", "hash"], ["KEYWAY.DELTYPE", "typed:h", "HASH"]):
        mine, theirs = cmd(gateway, *words), cmd(embedded, *words)
        assert (mine.status_code, mine.json()) == (theirs.status_code, theirs.json()), words
    assert cmd(gateway, "EXISTS", "typed:h").json() == {"result": 0}
    r = requests.delete(gateway.url + "/v1/lists/typed:l", headers=gateway.auth, timeout=10)
    assert r.status_code == 204
    r = requests.delete(gateway.url + "/v1/streams/typed:none", headers=gateway.auth, timeout=10)
    assert r.status_code == 404
