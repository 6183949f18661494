"""Plain-HTTP tests of docs/API.md: the command API and the /v1 resource API.

Every JSON body is also checked against the matching schema of openapi.yaml.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import time
from urllib.parse import quote

import pytest
import requests
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from conftest import keyway_bin, start_server

pytestmark = pytest.mark.usefixtures("flush")

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
NOT_INTEGER = "ERR value is not an integer or out of range"
SPEC_URI = "urn:keyway:openapi"


# --- helpers ------------------------------------------------------------------


@pytest.fixture(scope="session")
def schema(openapi_spec):
    """``schema(name, instance)`` validates against ``components/schemas/<name>``."""
    registry = Registry().with_resource(SPEC_URI, Resource.from_contents(openapi_spec, default_specification=DRAFT202012))
    validators = {}

    def check(name: str, instance):
        if name not in validators:
            validators[name] = Draft202012Validator({"$ref": f"{SPEC_URI}#/components/schemas/{name}"}, registry=registry)
        errors = sorted(validators[name].iter_errors(instance), key=str)
        assert not errors, f"body does not match openapi.yaml schema {name}: {errors[0].message}\nbody: {instance!r}"
        return instance

    return check


@pytest.fixture
def http(server):
    s = requests.Session()
    s.headers.update(server.auth)
    yield s
    s.close()


def b64(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode()
    return base64.b64encode(data).decode()


def seg(arg: bytes | str) -> str:
    """Percent-encode one path segment (every byte but the unreserved ones)."""
    return quote(arg if isinstance(arg, bytes) else arg.encode(), safe="")


def key_url(server, key: bytes | str, suffix: str = "") -> str:
    url = f"{server.url}/v1/keys/{seg(key)}{suffix}"
    prepared = requests.Request("GET", url).prepare().url
    assert prepared == url, f"requests rewrote the URL {url!r} to {prepared!r}"
    return url


def media_type(r: requests.Response) -> str:
    return r.headers.get("Content-Type", "").split(";")[0].strip().lower()


def ok_json(r: requests.Response, status: int = 200):
    assert r.status_code == status, f"{r.request.method} {r.request.url}: expected {status}, got {r.status_code} {r.text[:500]}"
    assert media_type(r) == "application/json", f"Content-Type {r.headers.get('Content-Type')!r}"
    return r.json()


def problem(r: requests.Response, status: int, code: str, schema) -> dict:
    assert (r.status_code, media_type(r)) == (status, "application/problem+json"), (
        f"{r.request.method} {r.request.url}: expected {status} problem+json {code}, "
        f"got {r.status_code} {r.headers.get('Content-Type')!r} {r.text[:500]}"
    )
    body = schema("Problem", r.json())
    assert body["code"] == code, f"expected code {code}, got {body}"
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["type"], str) and body["type"]
    return body


def cmd(server, *args, headers=None, **kwargs) -> requests.Response:
    return requests.post(server.url + "/", json=list(args), headers={**server.auth, **(headers or {})}, timeout=10, **kwargs)


def result(r: requests.Response):
    body = ok_json(r)
    assert set(body) == {"result"}, body
    return body["result"]


def command_error(r: requests.Response) -> str:
    assert r.status_code == 400, f"expected 400, got {r.status_code} {r.text[:500]}"
    assert media_type(r) == "application/json"
    body = r.json()
    assert set(body) == {"error"} and isinstance(body["error"], str), body
    return body["error"]


def make_non_string_key(server, key: str) -> str:
    """Create ``key`` holding a non-string type with whatever command the server has."""
    errors = []
    for type_name, args in [
        ("list", ["LPUSH", key, "x"]),
        ("set", ["SADD", key, "x"]),
        ("hash", ["HSET", key, "f", "x"]),
        ("zset", ["ZADD", key, "1", "x"]),
    ]:
        r = cmd(server, *args)
        if r.status_code == 200:
            return type_name
        err = r.json().get("error", "")
        if "unknown command" not in err.lower():
            pytest.fail(f"{args} -> {r.status_code} {r.text}")
        errors.append(err)
    pytest.skip(f"server implements no non-string type yet, cannot provoke WRONGTYPE: {errors}")


def now_ms() -> int:
    return int(time.time() * 1000)


# ==============================================================================
# Command API
# ==============================================================================


def test_command_set_get(server):
    r = cmd(server, "SET", "k", "v")
    assert ok_json(r) == {"result": "OK"}
    assert result(cmd(server, "GET", "k")) == "v"
    assert result(cmd(server, "GET", "missing")) is None
    assert result(cmd(server, "EXISTS", "k", "missing")) == 1
    assert result(cmd(server, "MGET", "k", "missing")) == ["v", None]


def test_command_numbers_and_case(server):
    assert result(cmd(server, "set", "n", 5)) == "OK"
    assert result(cmd(server, "IncR", "n")) == 6
    assert result(cmd(server, "INCRBY", "n", -10)) == -4
    assert result(cmd(server, "SET", "f", 1.5)) == "OK"
    assert result(cmd(server, "GET", "f")) == "1.5"
    assert result(cmd(server, "SET", "big", 12345678901234)) == "OK"
    assert result(cmd(server, "GET", "big")) == "12345678901234"


def test_command_set_lock_nx_ex(server):
    assert result(cmd(server, "SET", "lock", "owner-1", "NX", "EX", 30)) == "OK"
    assert result(cmd(server, "SET", "lock", "owner-2", "NX", "EX", 30)) is None
    assert result(cmd(server, "GET", "lock")) == "owner-1"
    assert 1 <= result(cmd(server, "TTL", "lock")) <= 30


def test_command_json_escapes(server):
    value = 'nul\x00 quote" backslash\\ newline\n tab\t é 🎉'
    assert result(cmd(server, "SET", "k", value)) == "OK"
    assert result(cmd(server, "GET", "k")) == value
    assert result(cmd(server, "STRLEN", "k")) == len(value.encode())


def test_base64_encoding(server):
    h = {"Upstash-Encoding": "base64"}
    assert result(cmd(server, "SET", "k", "hello", headers=h)) == "OK"
    assert result(cmd(server, "GET", "k", headers=h)) == b64("hello")
    assert result(cmd(server, "GET", "missing", headers=h)) is None
    assert result(cmd(server, "INCR", "n", headers=h)) == 1
    assert result(cmd(server, "MGET", "k", "missing", "n", headers=h)) == [b64("hello"), None, b64("1")]
    assert result(cmd(server, "PING", headers=h)) == b64("PONG")
    assert result(cmd(server, "TYPE", "k", headers=h)) == b64("string")
    # Only the simple string OK is left alone; a bulk string "OK" is encoded.
    cmd(server, "SET", "ok", "OK")
    assert result(cmd(server, "GET", "ok", headers=h)) == b64("OK")
    assert sorted(result(cmd(server, "KEYS", "*", headers=h))) == sorted([b64("k"), b64("n"), b64("ok")])


def test_invalid_utf8_value_with_and_without_base64(server):
    raw = b"\xff\xfeab\x00c"
    r = requests.post(f"{server.url}/set/bin", data=raw, headers={**server.auth, "Content-Type": "application/octet-stream"})
    assert result(r) == "OK"
    assert result(cmd(server, "STRLEN", "bin")) == len(raw)
    assert result(cmd(server, "GET", "bin", headers={"Upstash-Encoding": "base64"})) == b64(raw)
    assert result(cmd(server, "GET", "bin")) == raw.decode("utf-8", errors="replace")


def test_path_form(server, http):
    assert result(http.get(f"{server.url}/set/k/v")) == "OK"
    assert result(http.get(f"{server.url}/get/k")) == "v"
    assert result(http.get(f"{server.url}/SET/k2/v2/EX/60")) == "OK"
    assert 1 <= result(http.get(f"{server.url}/ttl/k2")) <= 60
    assert result(http.get(f"{server.url}/ping")) == "PONG"
    assert result(http.get(f"{server.url}/dbsize")) == 2
    assert result(http.get(f"{server.url}/get/missing")) is None
    assert result(http.get(f"{server.url}/incrby/counter/50")) == 50
    assert result(http.post(f"{server.url}/incr/counter")) == 51  # POST without a body adds no argument


def test_head_sends_the_length_of_the_get_without_its_body(server, http):
    """RFC 9110, 9.3.2: a HEAD is answered with the GET's header fields,
    Content-Length included, and no content."""
    assert http.put(key_url(server, "headed"), json={"value": "x" * 300}).status_code == 201
    for path in ("/v1/keys/headed", "/get/headed", "/healthz"):
        got = http.get(server.url + path)
        head = http.head(server.url + path)
        assert got.status_code == head.status_code == 200, path
        assert head.content == b"", path
        assert int(head.headers["Content-Length"]) == len(got.content) > 0, path
        assert head.headers["Content-Type"] == got.headers["Content-Type"], path
    missing = http.head(key_url(server, "not-there"))
    assert missing.status_code == 404 and missing.content == b""
    assert int(missing.headers["Content-Length"]) == len(http.get(key_url(server, "not-there")).content)


def test_head_of_a_path_form_command_with_side_effects_is_refused_and_changes_nothing(server, http):
    """A HEAD looks and must not change anything (RFC 9110, 9.2.1): the
    path form answers it only for commands without side effects."""
    assert result(cmd(server, "SET", "head:kept", "v")) == "OK"
    for path in ("/set/head:written/v", "/incr/head:counter", "/expire/head:kept/100", "/publish/head:channel/hi"):
        r = http.head(server.url + path)
        assert r.status_code == 405, path
        assert {m.strip() for m in r.headers["Allow"].split(",")} == {"GET", "POST"}, path
        assert r.content == b"", path
    assert result(cmd(server, "EXISTS", "head:written")) == 0
    assert result(cmd(server, "EXISTS", "head:counter")) == 0
    assert result(cmd(server, "TTL", "head:kept")) == -1
    # The same commands run with GET and POST; reads answer a HEAD as their GET does.
    assert result(http.get(f"{server.url}/set/head:written/v")) == "OK"
    assert result(http.post(f"{server.url}/incr/head:counter")) == 1
    for path in ("/get/head:written", "/exists/head:written", "/ping", "/ttl/head:kept"):
        assert http.head(server.url + path).status_code == 200, path


def test_path_form_post_body_is_last_argument(server, http):
    assert result(http.post(f"{server.url}/set/page", data="hello world", headers={"Content-Type": "text/plain"})) == "OK"
    assert result(cmd(server, "GET", "page")) == "hello world"
    raw = b"raw\x00bytes\xff"
    assert result(http.post(f"{server.url}/setex/blob/60", data=raw, headers={"Content-Type": "application/octet-stream"})) == "OK"
    assert result(cmd(server, "GET", "blob", headers={"Upstash-Encoding": "base64"})) == b64(raw)
    assert 1 <= result(cmd(server, "TTL", "blob")) <= 60
    assert result(http.post(f"{server.url}/echo", data="hi there")) == "hi there"
    assert result(http.post(f"{server.url}/set/json", json={"a": [1, 2]})) == "OK"
    assert json.loads(result(cmd(server, "GET", "json"))) == {"a": [1, 2]}


def test_path_form_percent_encoding(server, http):
    assert result(http.get(f"{server.url}/set/{seg('a/b')}/{seg('x y%')}")) == "OK"
    assert result(cmd(server, "GET", "a/b")) == "x y%"
    assert result(http.get(f"{server.url}/set/{seg('nul' + chr(0) + 'key')}/v")) == "OK"
    assert result(cmd(server, "GET", "nul\x00key")) == "v"
    assert result(http.get(f"{server.url}/set/a+b/c")) == "OK"
    assert result(cmd(server, "GET", "a+b")) == "c"
    assert result(cmd(server, "GET", "a b")) is None
    assert result(http.get(f"{server.url}/set/%FF%FE/binary-key")) == "OK"
    assert result(http.get(f"{server.url}/get/%FF%FE")) == "binary-key"
    keys = result(cmd(server, "KEYS", "*", headers={"Upstash-Encoding": "base64"}))
    assert b64(b"\xff\xfe") in keys


def test_wrong_arity(server, http):
    assert command_error(cmd(server, "GET")) == "ERR wrong number of arguments for 'get' command"
    assert command_error(cmd(server, "get", "a", "b")) == "ERR wrong number of arguments for 'get' command"
    assert command_error(http.get(f"{server.url}/get")) == "ERR wrong number of arguments for 'get' command"
    assert command_error(cmd(server, "SET", "k")) == "ERR wrong number of arguments for 'set' command"


def test_unknown_command(server):
    err = command_error(cmd(server, "NOSUCH", "a", "b"))
    assert err.rstrip() == "ERR unknown command 'NOSUCH', with args beginning with: 'a' 'b'"


def test_command_errors_use_redis_text(server):
    cmd(server, "SET", "s", "abc")
    assert command_error(cmd(server, "INCR", "s")) == NOT_INTEGER
    assert command_error(cmd(server, "SET", "k", "v", "EX", 0)) == "ERR invalid expire time in 'set' command"
    assert command_error(cmd(server, "SET", "k", "v", "NX", "XX")) == "ERR syntax error"


def test_wrongtype_on_command_api(server):
    make_non_string_key(server, "container")
    assert command_error(cmd(server, "GET", "container")) == WRONGTYPE


@pytest.mark.parametrize(
    "body",
    [
        b'["SET", "k",',  # truncated
        b"not json",
        b'{"command": "SET"}',  # not an array
        b"[]",  # no command
        b'[["SET", "k", "v"]]',  # nested array
        b'"SET"',
    ],
    ids=["truncated", "garbage", "object", "empty", "nested", "string"],
)
def test_malformed_command_body(server, body):
    r = requests.post(server.url + "/", data=body, headers={**server.auth, "Content-Type": "application/json"})
    command_error(r)
    assert result(cmd(server, "DBSIZE")) == 0


def test_pipeline(server):
    body = [
        ["SET", "a", "1"],
        ["INCR", "a"],
        ["SET", "s", "x"],
        ["INCR", "s"],
        ["NOSUCHCMD"],
        ["GET", "a"],
        ["MGET", "a", "missing"],
    ]
    r = requests.post(server.url + "/pipeline", json=body, headers=server.auth)
    replies = ok_json(r)
    assert isinstance(replies, list) and len(replies) == len(body)
    assert replies[:4] == [{"result": "OK"}, {"result": 2}, {"result": "OK"}, {"error": NOT_INTEGER}]
    assert set(replies[4]) == {"error"} and replies[4]["error"].startswith("ERR unknown command")
    assert replies[5:] == [{"result": "2"}, {"result": ["2", None]}]


def test_pipeline_base64(server):
    body = [["SET", "a", "x"], ["GET", "a"], ["GET", "missing"], ["INCR", "n"]]
    r = requests.post(server.url + "/pipeline", json=body, headers={**server.auth, "Upstash-Encoding": "base64"})
    assert ok_json(r) == [{"result": "OK"}, {"result": b64("x")}, {"result": None}, {"result": 1}]


def test_pipeline_malformed(server):
    r = requests.post(server.url + "/pipeline", json=["SET", "a", "1"], headers=server.auth)
    command_error(r)
    r = requests.post(server.url + "/pipeline", data=b"[[", headers={**server.auth, "Content-Type": "application/json"})
    command_error(r)


def test_multi_exec(server):
    body = [["SET", "a", "1"], ["INCR", "a"], ["GET", "a"]]
    r = requests.post(server.url + "/multi-exec", json=body, headers=server.auth)
    assert ok_json(r) == [{"result": "OK"}, {"result": 2}, {"result": "2"}]


def test_multi_exec_runtime_error_does_not_roll_back(server):
    body = [["SET", "s", "x"], ["INCR", "s"], ["SET", "b", "2"]]
    r = requests.post(server.url + "/multi-exec", json=body, headers=server.auth)
    assert ok_json(r) == [{"result": "OK"}, {"error": NOT_INTEGER}, {"result": "OK"}]
    assert result(cmd(server, "GET", "b")) == "2"


@pytest.mark.parametrize("bad", [["NOSUCHCMD", "x"], ["GET"]], ids=["unknown", "arity"])
def test_multi_exec_abort(server, bad):
    body = [["SET", "c", "1"], bad, ["SET", "d", "1"]]
    r = requests.post(server.url + "/multi-exec", json=body, headers=server.auth)
    err = command_error(r)
    assert err.startswith("EXECABORT"), err
    assert result(cmd(server, "MGET", "c", "d")) == [None, None]


def test_sync_token_grows_with_writes(server, http):
    def token(r):
        assert r.status_code in (200, 400), r.text
        value = r.headers.get("Upstash-Sync-Token")
        assert value is not None, f"no Upstash-Sync-Token on {r.request.method} {r.request.url}"
        assert re.fullmatch(r"[0-9]+", value), value
        return int(value)

    t1 = token(cmd(server, "SET", "a", "1"))
    t2 = token(cmd(server, "SET", "a", "2"))
    assert t2 > t1
    t3 = token(cmd(server, "GET", "a"))
    assert t3 >= t2
    t4 = token(http.get(f"{server.url}/incr/a"))
    assert t4 > t3
    t5 = token(requests.post(server.url + "/pipeline", json=[["SET", "b", "1"]], headers=server.auth))
    assert t5 > t4
    t6 = token(requests.post(server.url + "/multi-exec", json=[["SET", "b", "2"]], headers=server.auth))
    assert t6 > t5
    t7 = token(cmd(server, "GET"))  # an error reply carries it too
    assert t7 >= t6


# --- authentication -------------------------------------------------------------


def assert_command_unauthorized(r):
    assert r.status_code == 401, f"expected 401, got {r.status_code} {r.text[:300]}"
    assert r.headers.get("WWW-Authenticate", "").startswith("Bearer"), r.headers
    body = r.json()
    assert set(body) == {"error"} and isinstance(body["error"], str), body


def test_command_api_auth(server):
    assert_command_unauthorized(requests.post(server.url + "/", json=["SET", "k", "v"]))
    assert_command_unauthorized(
        requests.post(server.url + "/", json=["SET", "k", "v"], headers={"Authorization": "Bearer wrong"})
    )
    assert_command_unauthorized(requests.post(server.url + "/", json=["SET", "k", "v"], headers={"Authorization": server.token}))
    assert_command_unauthorized(requests.get(server.url + "/set/k/v"))
    assert_command_unauthorized(requests.post(server.url + "/pipeline", json=[["SET", "k", "v"]]))
    assert_command_unauthorized(requests.post(server.url + "/multi-exec", json=[["SET", "k", "v"]]))
    assert_command_unauthorized(requests.get(server.url + "/get/k", params={"_token": "wrong"}))
    assert result(cmd(server, "EXISTS", "k")) == 0, "unauthorized requests must not write"
    assert result(requests.get(server.url + "/set/k/v", params={"_token": server.token})) == "OK"
    assert result(requests.post(server.url + "/", json=["GET", "k"], params={"_token": server.token})) == "v"


def test_resource_api_auth(server, schema):
    for method, path in [
        ("GET", "/v1/keys/k"),
        ("PUT", "/v1/keys/k"),
        ("DELETE", "/v1/keys/k"),
        ("GET", "/v1/keys"),
        ("GET", "/v1/keys/k/ttl"),
        ("POST", "/v1/keys/k/incr"),
        ("GET", "/v1/info"),
    ]:
        for headers in ({}, {"Authorization": "Bearer wrong"}):
            r = requests.request(method, server.url + path, json={"value": "v"} if method == "PUT" else None, headers=headers)
            problem(r, 401, "UNAUTHORIZED", schema)
            assert r.headers.get("WWW-Authenticate", "").startswith("Bearer"), f"{method} {path}: {r.headers}"
    assert result(cmd(server, "EXISTS", "k")) == 0


def test_resource_api_ignores_query_token(server, schema):
    # docs/API.md: only the command API accepts ?_token=.
    r = requests.get(server.url + "/v1/keys/k", params={"_token": server.token})
    problem(r, 401, "UNAUTHORIZED", schema)


def test_healthz_needs_no_token(server):
    assert ok_json(requests.get(server.url + "/healthz")) == {"status": "ok"}
    assert ok_json(requests.get(server.url + "/healthz", headers={"Authorization": "Bearer wrong"})) == {"status": "ok"}


# ==============================================================================
# Resource API: /v1/keys/{key}
# ==============================================================================


def test_put_get_delete(server, http, schema):
    url = key_url(server, "greeting")
    body = schema("SetResult", ok_json(http.put(url, json={"value": "hello"}), 201))
    assert body == {"key": "greeting", "created": True}
    body = schema("KeyValue", ok_json(http.get(url)))
    assert body == {"key": "greeting", "type": "string", "value": "hello", "encoding": "utf-8", "ttl": None}
    body = schema("SetResult", ok_json(http.put(url, json={"value": "hi"}), 200))
    assert body == {"key": "greeting", "created": False}
    assert ok_json(http.get(url))["value"] == "hi"
    assert result(cmd(server, "GET", "greeting")) == "hi"
    r = http.delete(url)
    assert r.status_code == 204 and r.content == b""
    problem(http.get(url), 404, "NO_SUCH_KEY", schema)
    problem(http.delete(url), 404, "NO_SUCH_KEY", schema)


def test_put_json_with_charset(server, http):
    r = http.put(key_url(server, "k"), data='{"value": "é"}'.encode(), headers={"Content-Type": "application/json; charset=utf-8"})
    assert ok_json(r, 201) == {"key": "k", "created": True}
    assert ok_json(http.get(key_url(server, "k")))["value"] == "é"


def test_expired_key_is_gone(server, http, schema):
    url = key_url(server, "short")
    ok_json(http.put(url, json={"value": "v", "px": 100}), 201)
    time.sleep(0.25)
    problem(http.get(url), 404, "NO_SUCH_KEY", schema)
    problem(http.get(url + "/ttl"), 404, "NO_SUCH_KEY", schema)
    assert ok_json(http.put(url, json={"value": "again"}), 201)["created"] is True


def test_get_missing_key(server, http, schema):
    body = problem(http.get(key_url(server, "nope")), 404, "NO_SUCH_KEY", schema)
    assert isinstance(body.get("detail", ""), str)
    problem(http.get(key_url(server, "nope"), headers={"Accept": "application/octet-stream"}), 404, "NO_SUCH_KEY", schema)


def test_put_with_ttl_cache(server, http, schema):
    url = key_url(server, "cache:/home")
    assert ok_json(http.put(url, json={"value": "<html>", "ttl": 60}), 201)["created"] is True
    body = schema("KeyValue", ok_json(http.get(url)))
    assert 59 <= body["ttl"] <= 60
    assert abs(body["ttl"] * 1000 - round(body["ttl"] * 1000)) < 1e-6, "ttl must have millisecond precision"
    ttl = schema("TtlInfo", ok_json(http.get(url + "/ttl")))
    assert ttl["key"] == "cache:/home"
    assert 59 <= ttl["ttl"] <= 60
    assert 59_000 <= ttl["pttl"] <= 60_000
    assert abs(ttl["expiresAt"] - (now_ms() + ttl["pttl"])) < 2000
    assert 1 <= result(cmd(server, "TTL", "cache:/home")) <= 60


def test_put_px_expiresat_and_fractional_ttl(server, http):
    ok_json(http.put(key_url(server, "a"), json={"value": "1", "px": 5000}), 201)
    assert 4_000 <= ok_json(http.get(key_url(server, "a", "/ttl")))["pttl"] <= 5_000
    at = now_ms() + 100_000
    ok_json(http.put(key_url(server, "b"), json={"value": "1", "expiresAt": at}), 201)
    assert ok_json(http.get(key_url(server, "b", "/ttl")))["expiresAt"] == at
    ok_json(http.put(key_url(server, "c"), json={"value": "1", "ttl": 1.5}), 201)
    assert 1_000 < ok_json(http.get(key_url(server, "c", "/ttl")))["pttl"] <= 1_500


def test_put_replaces_ttl_unless_keepttl(server, http):
    url = key_url(server, "k")
    ok_json(http.put(url, json={"value": "1", "ttl": 100}), 201)
    ok_json(http.put(url, json={"value": "2", "keepttl": True}), 200)
    assert 90 <= ok_json(http.get(url))["ttl"] <= 100
    ok_json(http.put(url, json={"value": "3"}), 200)
    body = ok_json(http.get(url))
    assert body["value"] == "3" and body["ttl"] is None


def test_put_nx_xx(server, http, schema):
    url = key_url(server, "lock")
    assert ok_json(http.put(url, json={"value": "owner-1", "nx": True, "ttl": 30}), 201) == {"key": "lock", "created": True}
    problem(http.put(url, json={"value": "owner-2", "nx": True, "ttl": 30}), 412, "CONDITION_NOT_MET", schema)
    assert ok_json(http.get(url))["value"] == "owner-1"
    other = key_url(server, "absent")
    problem(http.put(other, json={"value": "v", "xx": True}), 412, "CONDITION_NOT_MET", schema)
    problem(http.get(other), 404, "NO_SUCH_KEY", schema)
    assert ok_json(http.put(url, json={"value": "owner-3", "xx": True}), 200) == {"key": "lock", "created": False}
    assert ok_json(http.get(url))["value"] == "owner-3"


def test_put_get_previous(server, http, schema):
    url = key_url(server, "k")
    body = schema("SetResult", ok_json(http.put(url, json={"value": "old", "get": True}), 201))
    assert body == {"key": "k", "created": True, "previous": None}
    body = schema("SetResult", ok_json(http.put(url, json={"value": "new", "get": True}), 200))
    assert body.get("encoding", "utf-8") == "utf-8"
    assert {k: v for k, v in body.items() if k != "encoding"} == {"key": "k", "created": False, "previous": "old"}
    assert ok_json(http.get(url))["value"] == "new"
    # A previous value that is not UTF-8 comes back base64, flagged by "encoding".
    http.put(url, data=b"\xff\xfe", headers={"Content-Type": "application/octet-stream"})
    body = schema("SetResult", ok_json(http.put(url, json={"value": "x", "get": True}), 200))
    assert body["encoding"] == "base64" and base64.b64decode(body["previous"]) == b"\xff\xfe"


def test_put_base64_value(server, http, schema):
    raw = b"\x00\xff\xfe binary \x80"
    url = key_url(server, "bin")
    ok_json(http.put(url, json={"value": b64(raw), "encoding": "base64"}), 201)
    body = schema("KeyValue", ok_json(http.get(url)))
    assert body["encoding"] == "base64" and base64.b64decode(body["value"]) == raw
    assert result(cmd(server, "GET", "bin", headers={"Upstash-Encoding": "base64"})) == b64(raw)
    # A base64 value that is valid UTF-8 is stored decoded.
    ok_json(http.put(url, json={"value": b64("héllo"), "encoding": "base64"}), 200)
    assert ok_json(http.get(url))["value"] == "héllo"


def test_put_json_string_with_nul(server, http):
    url = key_url(server, "k")
    ok_json(http.put(url, json={"value": "a\x00b é"}), 201)
    body = ok_json(http.get(url))
    assert body["value"] == "a\x00b é" and body["encoding"] == "utf-8"
    assert result(cmd(server, "STRLEN", "k")) == len("a\x00b é".encode())


def test_get_encoding_base64_forced(server, http):
    url = key_url(server, "k")
    ok_json(http.put(url, json={"value": "héllo"}), 201)
    body = ok_json(http.get(url, params={"encoding": "base64"}))
    assert body["encoding"] == "base64" and body["value"] == b64("héllo")


def test_octet_stream_both_ways(server, http, schema):
    raw = bytes(range(256)) * 4
    url = key_url(server, "blob")
    r = http.put(url, data=raw, headers={"Content-Type": "application/octet-stream"}, params={"ttl": 60, "nx": "true"})
    assert ok_json(r, 201) == {"key": "blob", "created": True}
    r = http.get(url, headers={"Accept": "application/octet-stream"})
    assert r.status_code == 200, r.text
    assert media_type(r) == "application/octet-stream"
    assert r.content == raw
    body = schema("KeyValue", ok_json(http.get(url)))
    assert body["encoding"] == "base64" and base64.b64decode(body["value"]) == raw
    assert 59 <= body["ttl"] <= 60
    assert base64.b64decode(ok_json(http.get(url, params={"encoding": "base64"}))["value"]) == raw
    # Query options apply to raw bodies too.
    r = http.put(url, data=b"other", headers={"Content-Type": "application/octet-stream"}, params={"nx": "true"})
    problem(r, 412, "CONDITION_NOT_MET", schema)
    r = http.put(url, data=b"v2", headers={"Content-Type": "application/octet-stream"}, params={"xx": "true", "keepttl": "true"})
    assert ok_json(r, 200) == {"key": "blob", "created": False}
    assert http.get(url, headers={"Accept": "application/octet-stream"}).content == b"v2"
    assert 55 <= ok_json(http.get(url))["ttl"] <= 60
    r = http.put(url, data=b"v3", headers={"Content-Type": "application/octet-stream"}, params={"get": "true"})
    body = ok_json(r, 200)
    assert (body["created"], body["previous"], body.get("encoding", "utf-8")) == (False, "v2", "utf-8")
    assert ok_json(http.get(url))["ttl"] is None


def test_put_empty_octet_stream_value(server, http):
    url = key_url(server, "empty")
    ok_json(http.put(url, data=b"", headers={"Content-Type": "application/octet-stream"}), 201)
    assert ok_json(http.get(url))["value"] == ""
    assert result(cmd(server, "STRLEN", "empty")) == 0


@pytest.mark.parametrize(
    "body, codes",
    [
        (b'{"value": "v"', {"BAD_REQUEST"}),
        (b'{"ttl": 60}', {"BAD_REQUEST"}),
        (b'{"value": "v", "ttl": "soon"}', {"BAD_REQUEST"}),
        (b'{"value": "%%%", "encoding": "base64"}', {"BAD_REQUEST"}),
        (b'{"value": "v", "encoding": "latin-1"}', {"BAD_REQUEST"}),
        (b'["value"]', {"BAD_REQUEST"}),
        (b'{"value": "v", "ttl": 0}', {"INVALID_EXPIRE"}),
        (b'{"value": "v", "ttl": -5}', {"INVALID_EXPIRE"}),
        (b'{"value": "v", "px": -1}', {"INVALID_EXPIRE"}),
        (b'{"value": "v", "nx": true, "xx": true}', {"SYNTAX", "BAD_REQUEST"}),
        (b'{"value": "v", "ttl": 10, "px": 10000}', {"SYNTAX", "BAD_REQUEST"}),
        (b'{"value": "v", "ttl": 10, "keepttl": true}', {"SYNTAX", "BAD_REQUEST"}),
    ],
    ids=[
        "malformed-json",
        "missing-value",
        "ttl-not-number",
        "bad-base64",
        "unknown-encoding",
        "not-an-object",
        "ttl-zero",
        "ttl-negative",
        "px-negative",
        "nx-and-xx",
        "ttl-and-px",
        "ttl-and-keepttl",
    ],
)
def test_put_bad_request(server, http, schema, body, codes):
    url = key_url(server, "k")
    r = http.put(url, data=body, headers={"Content-Type": "application/json"})
    assert (r.status_code, media_type(r)) == (400, "application/problem+json"), f"PUT {body!r}: {r.status_code} {r.text}"
    got = r.json().get("code")
    assert got in codes, f"PUT {body!r}: expected code in {sorted(codes)}, got {r.text}"
    problem(r, 400, got, schema)
    problem(http.get(url), 404, "NO_SUCH_KEY", schema)


def test_put_unsupported_media_type(server, http, schema):
    r = http.put(key_url(server, "k"), data=b"hello", headers={"Content-Type": "text/plain"})
    problem(r, 415, "UNSUPPORTED_MEDIA_TYPE", schema)
    problem(http.get(key_url(server, "k")), 404, "NO_SUCH_KEY", schema)


def test_wrongtype_on_resource_api(server, http, schema):
    make_non_string_key(server, "container")
    body = problem(http.get(key_url(server, "container")), 409, "WRONGTYPE", schema)
    assert body.get("detail") == WRONGTYPE
    problem(http.post(key_url(server, "container", "/incr")), 409, "WRONGTYPE", schema)
    problem(http.put(key_url(server, "container"), json={"value": "v", "get": True}), 409, "WRONGTYPE", schema)
    # DELETE and TTL work on any type.
    schema("TtlInfo", ok_json(http.get(key_url(server, "container", "/ttl"))))
    assert http.delete(key_url(server, "container")).status_code == 204


# --- odd keys -----------------------------------------------------------------

ODD_KEYS = [
    "user/1",
    "a/b/c/",
    "100%",
    "%41",
    "a b",
    "a+b",
    "q?x=1&y=2#frag",
    "ключ",
    "🔑",
    "ttl",
    "incr",
    b"nul\x00byte",
    b"\x00",
    b"\xff\xfe",
    b"bad\xc3(utf8",
]


@pytest.mark.parametrize("key", ODD_KEYS, ids=[repr(k) for k in ODD_KEYS])
def test_odd_keys_round_trip(server, http, schema, key):
    key_bytes = key if isinstance(key, bytes) else key.encode()
    url = key_url(server, key)
    body = schema("SetResult", ok_json(http.put(url, json={"value": "value-1"}), 201))
    assert body["created"] is True
    if isinstance(key, str):
        assert body["key"] == key
    body = ok_json(http.get(url))
    assert body["value"] == "value-1"
    assert http.get(url, headers={"Accept": "application/octet-stream"}).content == b"value-1"
    # The command API sees exactly these bytes as the key.
    keys = result(cmd(server, "KEYS", "*", headers={"Upstash-Encoding": "base64"}))
    assert keys == [b64(key_bytes)], f"stored key bytes {[base64.b64decode(k) for k in keys]!r}, expected {[key_bytes]!r}"
    assert result(http.get(f"{server.url}/get/{seg(key_bytes)}")) == "value-1"
    # Sub-resources address the same key.
    ok_json(http.put(url + "/ttl", json={"ttl": 100}))
    assert 95 <= ok_json(http.get(url + "/ttl"))["ttl"] <= 100
    assert http.delete(url).status_code == 204
    assert result(cmd(server, "DBSIZE")) == 0


def test_binary_value_under_binary_key(server, http):
    key = b"\xff\x00key"
    raw = b"\xfe\xff\x00\x01value"
    url = key_url(server, key)
    ok_json(http.put(url, data=raw, headers={"Content-Type": "application/octet-stream"}), 201)
    body = ok_json(http.get(url, params={"encoding": "base64"}))
    assert body["encoding"] == "base64" and base64.b64decode(body["value"]) == raw
    assert http.get(url, headers={"Accept": "application/octet-stream"}).content == raw


# ==============================================================================
# Resource API: /v1/keys (SCAN)
# ==============================================================================


def scan_all(http, server, schema, **params):
    seen, cursor, steps = [], "0", 0
    while True:
        page = schema("ScanPage", ok_json(http.get(server.url + "/v1/keys", params={**params, "cursor": cursor})))
        assert isinstance(page["cursor"], str)
        seen.extend(page["keys"])
        cursor = page["cursor"]
        steps += 1
        assert steps < 200, "SCAN never returned cursor 0"
        if cursor == "0":
            return seen, steps


def test_scan_keys(server, http, schema):
    users = {f"user:{i}" for i in range(25)}
    cmd(server, "MSET", *[x for k in users for x in (k, "v")])
    cmd(server, "MSET", "order:1", "v", "order:2", "v")

    seen, steps = scan_all(http, server, schema, match="user:*", count=5)
    assert set(seen) == users
    assert steps > 1, "COUNT 5 over 27 keys should take several steps"

    everything, _ = scan_all(http, server, schema)
    assert set(everything) == users | {"order:1", "order:2"}

    strings, _ = scan_all(http, server, schema, type="string", count=100)
    assert set(strings) == set(everything)
    hashes, _ = scan_all(http, server, schema, type="hash", count=100)
    assert hashes == []
    none, _ = scan_all(http, server, schema, match="nothing:*")
    assert none == []


def test_scan_first_page_without_cursor(server, http, schema):
    cmd(server, "SET", "only", "v")
    page = schema("ScanPage", ok_json(http.get(server.url + "/v1/keys", params={"count": 100})))
    assert page == {"cursor": "0", "keys": ["only"]}


def test_scan_binary_keys_base64(server, http, schema):
    http.put(key_url(server, b"\xff\xfe"), json={"value": "v"})
    keys, _ = scan_all(http, server, schema, encoding="base64", count=100)
    assert b64(b"\xff\xfe") in keys


def test_scan_bad_cursor(server, http, schema):
    # An invalid query parameter is BAD_REQUEST; passing Redis's "ERR invalid cursor"
    # through would be ERR. SYNTAX is reserved for "ERR syntax error".
    r = http.get(server.url + "/v1/keys", params={"cursor": "abc"})
    assert (r.status_code, media_type(r)) == (400, "application/problem+json"), r.text
    assert r.json().get("code") in {"BAD_REQUEST", "ERR"}, r.text
    problem(r, 400, r.json()["code"], schema)


# ==============================================================================
# Resource API: /v1/keys/{key}/ttl
# ==============================================================================


def test_ttl_routes(server, http, schema):
    url = key_url(server, "k")
    problem(http.get(url + "/ttl"), 404, "NO_SUCH_KEY", schema)
    problem(http.put(url + "/ttl", json={"ttl": 10}), 404, "NO_SUCH_KEY", schema)
    problem(http.delete(url + "/ttl"), 404, "NO_SUCH_KEY", schema)

    ok_json(http.put(url, json={"value": "v"}), 201)
    assert schema("TtlInfo", ok_json(http.get(url + "/ttl"))) == {"key": "k", "ttl": None, "pttl": None, "expiresAt": None}

    body = schema("TtlInfo", ok_json(http.put(url + "/ttl", json={"ttl": 60})))
    assert body["key"] == "k" and 59 <= body["ttl"] <= 60 and 59_000 <= body["pttl"] <= 60_000
    body = ok_json(http.put(url + "/ttl", json={"pttl": 1500}))
    assert 1_000 < body["pttl"] <= 1_500
    at = now_ms() + 100_000
    body = ok_json(http.put(url + "/ttl", json={"expiresAt": at}))
    assert body["expiresAt"] == at and 99_000 <= body["pttl"] <= 100_000
    assert ok_json(http.get(url + "/ttl")) == body | {"ttl": pytest.approx(body["ttl"], abs=1), "pttl": pytest.approx(body["pttl"], abs=1000)}

    r = http.delete(url + "/ttl")
    assert r.status_code == 204 and r.content == b""
    assert ok_json(http.get(url + "/ttl")) == {"key": "k", "ttl": None, "pttl": None, "expiresAt": None}
    assert result(cmd(server, "TTL", "k")) == -1
    # Removing an expiry that is not there is still 204.
    assert http.delete(url + "/ttl").status_code == 204


def test_ttl_conditions(server, http, schema):
    url = key_url(server, "k")
    ok_json(http.put(url, json={"value": "v"}), 201)
    problem(http.put(url + "/ttl", json={"ttl": 100, "condition": "xx"}), 412, "CONDITION_NOT_MET", schema)
    assert ok_json(http.get(url + "/ttl"))["ttl"] is None
    assert 95 <= ok_json(http.put(url + "/ttl", json={"ttl": 100, "condition": "nx"}))["ttl"] <= 100
    problem(http.put(url + "/ttl", json={"ttl": 200, "condition": "nx"}), 412, "CONDITION_NOT_MET", schema)
    problem(http.put(url + "/ttl", json={"ttl": 50, "condition": "gt"}), 412, "CONDITION_NOT_MET", schema)
    assert 495 <= ok_json(http.put(url + "/ttl", json={"ttl": 500, "condition": "gt"}))["ttl"] <= 500
    problem(http.put(url + "/ttl", json={"ttl": 1000, "condition": "lt"}), 412, "CONDITION_NOT_MET", schema)
    assert 55 <= ok_json(http.put(url + "/ttl", json={"pttl": 60_000, "condition": "lt"}))["ttl"] <= 60
    assert 65 <= ok_json(http.put(url + "/ttl", json={"ttl": 70, "condition": "xx"}))["ttl"] <= 70
    assert 65 <= ok_json(http.get(url + "/ttl"))["ttl"] <= 70


@pytest.mark.parametrize(
    "body",
    [b"{}", b'{"ttl": "soon"}', b'{"ttl": 10, "condition": "maybe"}', b'{"ttl": 10', b"[10]"],
    ids=["empty", "not-number", "bad-condition", "malformed", "not-object"],
)
def test_ttl_bad_request(server, http, schema, body):
    url = key_url(server, "k")
    ok_json(http.put(url, json={"value": "v"}), 201)
    problem(http.put(url + "/ttl", data=body, headers={"Content-Type": "application/json"}), 400, "BAD_REQUEST", schema)
    assert ok_json(http.get(url + "/ttl"))["ttl"] is None


# ==============================================================================
# Resource API: /v1/keys/{key}/incr
# ==============================================================================


def test_incr_counter(server, http, schema):
    url = key_url(server, "hits", "/incr")
    assert schema("IncrResult", ok_json(http.post(url))) == {"key": "hits", "value": 1}
    assert ok_json(http.post(url, json={})) == {"key": "hits", "value": 2}
    assert ok_json(http.post(url, json={"by": 50})) == {"key": "hits", "value": 52}
    assert ok_json(http.post(url, json={"by": -2})) == {"key": "hits", "value": 50}
    body = ok_json(http.post(url, json={"by": 1.5}))
    assert body == {"key": "hits", "value": 51.5}
    assert result(cmd(server, "GET", "hits")) == "51.5"
    assert isinstance(ok_json(http.post(key_url(server, "n", "/incr"), json={"by": 7}))["value"], int)


def test_incr_errors(server, http, schema):
    cmd(server, "SET", "s", "abc")
    problem(http.post(key_url(server, "s", "/incr")), 400, "NOT_INTEGER", schema)
    problem(http.post(key_url(server, "s", "/incr"), json={"by": 5}), 400, "NOT_INTEGER", schema)
    problem(http.post(key_url(server, "s", "/incr"), json={"by": 0.5}), 400, "NOT_FLOAT", schema)
    cmd(server, "SET", "max", str(2**63 - 1))
    body = problem(http.post(key_url(server, "max", "/incr")), 400, "OVERFLOW", schema)
    assert body.get("detail") == "ERR increment or decrement would overflow"
    assert result(cmd(server, "GET", "max")) == str(2**63 - 1)
    problem(http.post(key_url(server, "n", "/incr"), json={"by": "ten"}), 400, "BAD_REQUEST", schema)
    problem(
        http.post(key_url(server, "n", "/incr"), data=b'{"by": ', headers={"Content-Type": "application/json"}),
        400,
        "BAD_REQUEST",
        schema,
    )
    problem(http.post(key_url(server, "n", "/incr"), data=b"5", headers={"Content-Type": "text/plain"}), 415, "UNSUPPORTED_MEDIA_TYPE", schema)
    assert result(cmd(server, "EXISTS", "n")) == 0


# ==============================================================================
# Resource API: server routes, unknown routes, methods
# ==============================================================================


def test_info(server, http, schema):
    cmd(server, "MSET", "a", "1", "b", "2")
    cmd(server, "SET", "c", "3", "EX", 100)
    info = schema("Info", ok_json(http.get(server.url + "/v1/info")))
    for section in ("server", "clients", "stats", "keyspace"):
        assert section in info, f"INFO has no {section} section: {sorted(info)}"
    assert isinstance(info["server"]["redis_version"], str)
    assert "keyway_version" in info["server"]
    assert info["keyspace"]["db0"]["keys"] == 3
    assert info["keyspace"]["db0"]["expires"] == 1
    numeric_strings = [
        f"{section}.{name}={value!r}"
        for section, fields in info.items()
        for name, value in fields.items()
        if isinstance(value, str) and re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", value)
    ]
    assert not numeric_strings, f"numeric INFO fields must be JSON numbers: {numeric_strings}"


def test_info_section(server, http, schema):
    info = schema("Info", ok_json(http.get(server.url + "/v1/info", params={"section": "server"})))
    assert "server" in info and "keyspace" not in info
    assert isinstance(info["server"].get("uptime_in_seconds"), int)


def test_unknown_v1_route(server, http, schema):
    problem(http.get(server.url + "/v1/nothing-here"), 404, "NOT_FOUND", schema)
    problem(http.get(key_url(server, "k", "/nothing")), 404, "NOT_FOUND", schema)


@pytest.mark.parametrize(
    "method, path, allowed",
    [
        ("PATCH", "/v1/keys/k", {"GET", "PUT", "DELETE"}),
        ("POST", "/v1/keys/k", {"GET", "PUT", "DELETE"}),
        ("DELETE", "/v1/keys", {"GET"}),
        ("PATCH", "/v1/keys/k/ttl", {"GET", "PUT", "DELETE"}),
        ("GET", "/v1/keys/k/incr", {"POST"}),
        ("PUT", "/v1/info", {"GET"}),
    ],
)
def test_method_not_allowed(server, http, schema, method, path, allowed):
    r = http.request(method, server.url + path, json={})
    problem(r, 405, "METHOD_NOT_ALLOWED", schema)
    allow = {m.strip().upper() for m in r.headers.get("Allow", "").split(",") if m.strip()}
    assert allowed <= allow and not (allow - allowed - {"HEAD", "OPTIONS"}), f"Allow: {r.headers.get('Allow')!r}"


def test_responses_are_json(server, http):
    r = http.get(server.url + "/v1/keys")
    assert media_type(r) == "application/json"
    r = http.put(key_url(server, "k"), json={"value": "v"})
    assert media_type(r) == "application/json"


# ==============================================================================
# Body limit (a second server with --max-body 1024)
# ==============================================================================


@pytest.fixture(scope="module")
def small_server():
    srv = start_server("--max-body", "1024")
    try:
        yield srv
    finally:
        srv.cleanup()


def test_body_limit(small_server, schema):
    srv = small_server
    auth = srv.auth
    url = f"{srv.url}/v1/keys/big"
    r = requests.put(url, data=b"x" * 2048, headers={**auth, "Content-Type": "application/octet-stream"})
    problem(r, 413, "PAYLOAD_TOO_LARGE", schema)
    r = requests.put(url, json={"value": "y" * 2048}, headers=auth)
    problem(r, 413, "PAYLOAD_TOO_LARGE", schema)
    problem(requests.get(url, headers=auth), 404, "NO_SUCH_KEY", schema)

    # The limit applies before routing: the command API answers with a problem too.
    problem(requests.post(srv.url + "/", json=["SET", "big", "z" * 2048], headers=auth), 413, "PAYLOAD_TOO_LARGE", schema)
    problem(requests.post(srv.url + "/set/big", data=b"z" * 2048, headers=auth), 413, "PAYLOAD_TOO_LARGE", schema)
    problem(requests.post(srv.url + "/pipeline", json=[["SET", "big", "z" * 2048]], headers=auth), 413, "PAYLOAD_TOO_LARGE", schema)

    # Under the limit still works.
    r = requests.put(url, data=b"x" * 512, headers={**auth, "Content-Type": "application/octet-stream"})
    assert r.status_code == 201, r.text
    r = requests.post(srv.url + "/", json=["GET", "big"], headers=auth)
    assert r.json() == {"result": "x" * 512}


# ==============================================================================
# Server process
# ==============================================================================


def test_second_server_on_busy_port_fails(server, tmp_path):
    """Like redis-server, a second instance must not start on a port that is in use
    (with SO_REUSEPORT both would listen and the kernel would split clients between them)."""
    proc = subprocess.Popen(
        [str(keyway_bin()), "serve", "--port", str(server.port), "--token", "other"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
    )
    try:
        rc = proc.wait(timeout=3)
    except subprocess.TimeoutExpired:
        rc = None
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    output = proc.stdout.read().decode(errors="replace")
    proc.stdout.close()
    assert rc not in (None, 0), f"a second `keyway serve --port {server.port}` kept running on the busy port:\n{output}"
