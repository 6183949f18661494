"""Hash field TTL commands on a Redis 7.0 cluster (`--backend cluster`), whose
nodes have no hash field expiration: HTTL, HPTTL, HEXPIRETIME, HPEXPIRETIME and
HPERSIST answer per field as Redis 7.4 does for fields without a TTL (-1, or -2
when missing), HGETEX without a TTL and HGETDEL work, and what would give a
field a TTL is refused with NOT_SUPPORTED. Each answer is checked beside the
embedded engine's for the same calls (on fields without TTLs, where both
agree), through the command API, /pipeline, /multi-exec and the hash routes."""

from __future__ import annotations

import pytest
import requests

from cluster_fixtures import cluster, cmd, gateway, needs_redis_tools, result  # noqa: F401  (fixtures)
from conftest import start_server

pytestmark = needs_redis_tools

READS = ["HTTL", "HPTTL", "HEXPIRETIME", "HPEXPIRETIME", "HPERSIST"]
REFUSED = [
    ["HEXPIRE", "{h}user", "100", "FIELDS", "1", "name"],
    ["HPEXPIRE", "{h}user", "100000", "NX", "FIELDS", "1", "name"],
    ["HEXPIREAT", "{h}user", "4000000000", "FIELDS", "1", "name"],
    ["HPEXPIREAT", "{h}user", "4000000000000", "FIELDS", "1", "name"],
    ["HSETEX", "{h}user", "EX", "100", "FIELDS", "1", "name", "Bob"],
    ["HSETEX", "{h}user", "FIELDS", "1", "name", "Bob"],
    ["HGETEX", "{h}user", "PX", "5000", "FIELDS", "1", "name"],
]


@pytest.fixture(scope="module")
def embedded():
    server = start_server()
    yield server
    server.cleanup()


def rest(server, method, path, body=None):
    return requests.request(method, server.url + path, json=body, headers=server.auth, timeout=10)


def both(gateway, embedded, *words):
    """The same command on both backends: (status, body) of each."""
    mine, theirs = cmd(gateway, *words), cmd(embedded, *words)
    return (mine.status_code, mine.json()), (theirs.status_code, theirs.json())


@pytest.fixture(autouse=True)
def user_hash(gateway, embedded):
    """`{h}user` with two fields and `{h}text` a string, on both backends."""
    for server in (gateway, embedded):
        result(server, "DEL", "{h}user", "{h}text", "{h}gone")
        result(server, "HSET", "{h}user", "name", "Alice", "age", "36")
        result(server, "SET", "{h}text", "plain")


def test_the_nodes_lack_field_expiration_and_info_says_so(cluster, gateway):
    for port in cluster.masters():
        assert cluster.call(port, "COMMAND", "INFO", "HPTTL") == [None]
    result(gateway, "HTTL", "{h}user", "FIELDS", "1", "name")
    info = result(gateway, "INFO")
    assert "cluster_masters_without_field_expiration:" in info
    assert "cluster_masters_with_field_expiration:0" in info


@pytest.mark.parametrize("name", READS)
def test_reads_answer_minus_one_or_minus_two_as_the_engine_does(gateway, embedded, name):
    for words in ([name, "{h}user", "FIELDS", "3", "name", "nope", "age"],
                  [name, "{h}gone", "FIELDS", "2", "a", "b"],
                  [name, "{h}user", "FIELDS", "1", "name"]):
        mine, theirs = both(gateway, embedded, *words)
        assert mine == theirs, (words, mine, theirs)
    assert result(gateway, name, "{h}user", "FIELDS", "3", "name", "nope", "age") == [-1, -2, -1]
    assert result(gateway, name, "{h}gone", "FIELDS", "2", "a", "b") == [-2, -2]


@pytest.mark.parametrize("name", READS)
def test_a_wrong_type_and_bad_arguments_get_the_engines_errors(gateway, embedded, name):
    mine, theirs = both(gateway, embedded, name, "{h}text", "FIELDS", "1", "a")
    assert mine == theirs and mine[0] == 400 and mine[1]["error"].startswith("WRONGTYPE"), (mine, theirs)
    for words in ([name, "{h}user", "FIELD", "1", "a"],
                  [name, "{h}user", "FIELDS", "0", "a"],
                  [name, "{h}user", "FIELDS", "2", "a"],
                  [name, "{h}user", "FIELDS", "one", "a"]):
        mine, theirs = both(gateway, embedded, *words)
        assert mine == theirs and mine[0] == 400, (words, mine, theirs)


def test_hpersist_changes_nothing(cluster, gateway):
    assert result(gateway, "HPERSIST", "{h}user", "FIELDS", "2", "name", "nope") == [-1, -2]
    assert result(gateway, "HGETALL", "{h}user") == ["name", "Alice", "age", "36"]


def test_hgetex_without_a_ttl_and_hgetdel_answer_as_the_engine_does(cluster, gateway, embedded):
    for words in (["HGETEX", "{h}user", "FIELDS", "2", "name", "nope"],
                  ["HGETEX", "{h}user", "PERSIST", "FIELDS", "1", "age"],
                  ["HGETEX", "{h}text", "FIELDS", "1", "a"],
                  ["HGETEX", "{h}user", "NOPE", "FIELDS", "1", "a"],
                  ["HGETDEL", "{h}text", "FIELDS", "1", "a"],
                  ["HGETDEL", "{h}user", "FIELDS", "3", "name", "nope", "name"],
                  ["HGETDEL", "{h}user", "FIELDS", "0", "a"],
                  ["HGETALL", "{h}user"],
                  ["HGETDEL", "{h}user", "FIELDS", "1", "age"],
                  ["EXISTS", "{h}user"],
                  ["HGETDEL", "{h}gone", "FIELDS", "1", "a"]):
        mine, theirs = both(gateway, embedded, *words)
        assert mine == theirs, (words, mine, theirs)
    # The node holds what the gateway said: the hash went with its last field.
    slot = cluster.call(cluster.masters()[0], "CLUSTER", "KEYSLOT", "{h}user")
    assert cluster.call(cluster.master_of_slot(slot), "EXISTS", "{h}user") == 0


@pytest.mark.parametrize("words", REFUSED, ids=lambda words: " ".join(words[:1] + words[2:3]))
def test_ttl_writes_are_refused_with_not_supported(cluster, gateway, words):
    r = cmd(gateway, *words)
    assert r.status_code == 400, r.text
    assert r.json()["error"].startswith(f"ERR {words[0]} sets a hash field TTL, which needs Redis 7.4"), r.json()
    # Nothing changed.
    assert result(gateway, "HGETALL", "{h}user") == ["name", "Alice", "age", "36"]


def test_the_field_routes_work_and_report_no_ttl(gateway, embedded):
    for path in ("/v1/hashes/{h}user/fields/name", "/v1/hashes/{h}user/fields/name/ttl",
                 "/v1/hashes/{h}user/fields/nope", "/v1/hashes/{h}gone/fields/name",
                 "/v1/hashes/{h}user/fields/nope/ttl", "/v1/hashes/{h}text/fields/name"):
        mine, theirs = rest(gateway, "GET", path), rest(embedded, "GET", path)
        assert (mine.status_code, mine.json()) == (theirs.status_code, theirs.json()), path
    field = rest(gateway, "GET", "/v1/hashes/{h}user/fields/name")
    assert field.status_code == 200
    assert field.json() == {"key": "{h}user", "field": "name", "value": "Alice", "encoding": "utf-8", "ttl": None}
    assert rest(gateway, "GET", "/v1/hashes/{h}user/fields/nope").json()["code"] == "NO_SUCH_FIELD"
    # Removing a TTL there is none of: 204, as on the engine; a missing field 404.
    for path in ("/v1/hashes/{h}user/fields/name/ttl", "/v1/hashes/{h}user/fields/nope/ttl"):
        mine, theirs = rest(gateway, "DELETE", path), rest(embedded, "DELETE", path)
        assert mine.status_code == theirs.status_code, path
    # Setting one is refused, with the problem's stable code.
    refused = rest(gateway, "PUT", "/v1/hashes/{h}user/fields/name/ttl", {"ttl": 60})
    assert refused.status_code == 400
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    assert refused.json()["code"] == "NOT_SUPPORTED" and "HPEXPIRE" in refused.json()["detail"]
    # The other field routes, unchanged.
    assert rest(gateway, "PUT", "/v1/hashes/{h}user/fields/city", {"value": "Oslo"}).status_code in (200, 201)
    assert rest(gateway, "POST", "/v1/hashes/{h}user/fields/age/incr", {"by": 1}).json()["value"] == 37
    assert rest(gateway, "GET", "/v1/hashes/{h}user/fields/city").json()["ttl"] is None
    assert rest(gateway, "DELETE", "/v1/hashes/{h}user/fields/city").status_code == 204


def test_in_a_pipeline(cluster, gateway, embedded):
    for port in cluster.masters():
        cluster.call(port, "SCRIPT", "FLUSH")
    batch = [["HPTTL", "{h}user", "FIELDS", "2", "name", "nope"], ["HTTL", "other", "FIELDS", "1", "a"],
             ["HGETDEL", "{h}user", "FIELDS", "1", "age"], ["HEXPIRETIME", "{h}text", "FIELDS", "1", "a"],
             ["HGETALL", "{h}user"]]
    mine = requests.post(gateway.url + "/pipeline", json=batch, headers=gateway.auth, timeout=10)
    theirs = requests.post(embedded.url + "/pipeline", json=batch, headers=embedded.auth, timeout=10)
    assert mine.status_code == theirs.status_code == 200
    assert mine.json() == theirs.json()
    assert mine.json()[0] == {"result": [-1, -2]}
    refused = requests.post(gateway.url + "/pipeline", json=[["HEXPIRE", "{h}user", "10", "FIELDS", "1", "name"],
                                                              ["HPTTL", "{h}user", "FIELDS", "1", "name"]],
                            headers=gateway.auth, timeout=10)
    assert refused.status_code == 200
    assert refused.json()[0]["error"].startswith("ERR HEXPIRE sets a hash field TTL")
    assert refused.json()[1] == {"result": [-1]}


def test_in_a_transaction(cluster, gateway, embedded):
    for port in cluster.masters():
        cluster.call(port, "SCRIPT", "FLUSH")
    batch = [["HSET", "{h}user", "city", "Oslo"], ["HPTTL", "{h}user", "FIELDS", "2", "city", "nope"],
             ["HPERSIST", "{h}user", "FIELDS", "1", "name"], ["HGETDEL", "{h}user", "FIELDS", "1", "age"],
             ["HPEXPIRETIME", "{h}user", "FIELDS", "1", "age"]]
    mine = requests.post(gateway.url + "/multi-exec", json=batch, headers=gateway.auth, timeout=10)
    theirs = requests.post(embedded.url + "/multi-exec", json=batch, headers=embedded.auth, timeout=10)
    assert mine.status_code == theirs.status_code == 200, mine.text
    assert mine.json() == theirs.json()
    assert [item["result"] for item in mine.json()] == [1, [-1, -2], [-1], ["36"], [-2]]
    # A TTL write refuses the whole transaction, saying why; nothing ran.
    refused = requests.post(gateway.url + "/multi-exec", json=[["HSET", "{h}user", "zip", "0150"],
                                                                ["HPEXPIRE", "{h}user", "1000", "FIELDS", "1", "zip"]],
                            headers=gateway.auth, timeout=10)
    assert refused.status_code == 400
    assert refused.json()["error"].startswith("ERR HPEXPIRE sets a hash field TTL")
    assert result(gateway, "HEXISTS", "{h}user", "zip") == 0
