"""The `/v1/json/{key}` routes: RedisJSON documents as resources. A PUT body
is the document itself and a GET body is the stored JSON (not a string
holding it); paths, errors and limits are the engine's JSON.* commands'.
Documents written here are read through `POST /` and the other way round."""

from __future__ import annotations

import json
import uuid
from urllib.parse import quote

import pytest
import requests

from conftest import start_server


def url(server, key: str) -> str:
    return server.url + "/v1/json/" + quote(key, safe="")


def put(server, key, document=None, *, data=None, params=None, headers=None):
    headers = {**server.auth, **(headers or {})}
    if data is None:
        data = json.dumps(document)
        headers.setdefault("Content-Type", "application/json")
    return requests.put(url(server, key), data=data, params=params, headers=headers, timeout=30)


def get(server, key, params=None):
    return requests.get(url(server, key), params=params, headers=server.auth, timeout=30)


def patch(server, key, document, params=None, content_type="application/merge-patch+json"):
    return requests.patch(url(server, key), data=json.dumps(document), params=params, timeout=10,
                          headers={**server.auth, "Content-Type": content_type})


def delete(server, key, params=None):
    return requests.delete(url(server, key), params=params, headers=server.auth, timeout=10)


def problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, f"{response.status_code} {response.text[:300]}"
    assert response.headers["Content-Type"].startswith("application/problem+json"), response.headers
    body = response.json()
    assert body["code"] == code, body
    return body


DOC = {"name": "Ada", "tags": ["math", "engines"], "score": 1.5, "nested": {"on": True, "none": None, "n": 7}}


def test_put_creates_then_replaces_and_get_returns_the_document(flush):
    r = put(flush, "doc", DOC)
    assert (r.status_code, r.json()) == (201, {"key": "doc", "path": "$", "created": True})
    r = get(flush, "doc")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json"
    assert r.json() == DOC
    r = put(flush, "doc", {"v": 2})
    assert (r.status_code, r.json()) == (200, {"key": "doc", "path": "$", "created": False})
    assert get(flush, "doc").json() == {"v": 2}


@pytest.mark.parametrize("document", [42, -1.25, "text", True, None, [], {}, [1, [2, [3]]], {"ü": "é😀"}])
def test_any_json_value_is_a_document(flush, document):
    assert put(flush, "any", document).status_code == 201
    r = get(flush, "any")
    assert r.status_code == 200 and r.json() == document


def test_paths_legacy_and_jsonpath(flush):
    put(flush, "doc", DOC)
    assert get(flush, "doc", {"path": "$.tags"}).json() == [["math", "engines"]]
    assert get(flush, "doc", {"path": ".tags"}).json() == ["math", "engines"]
    assert get(flush, "doc", {"path": "tags[1]"}).json() == "engines"
    assert get(flush, "doc", {"path": "$..n"}).json() == [7]
    assert get(flush, "doc", {"path": "$.missing"}).json() == []
    problem(get(flush, "doc", {"path": ".missing"}), 404, "NO_SUCH_PATH")
    # Several paths: an object keyed by path.
    assert get(flush, "doc", {"path": ["$.name", "$.score"]}).json() == {"$.name": ["Ada"], "$.score": [1.5]}
    assert get(flush, "doc", {"path": [".name", ".nested.n"]}).json() == {".name": "Ada", ".nested.n": 7}
    problem(get(flush, "doc", {"path": "$["}), 400, "INVALID_PATH")


def test_pretty_and_layout_options(flush):
    put(flush, "doc", {"a": [1, 2], "b": {"c": None}})
    r = get(flush, "doc", {"pretty": "true"})
    assert r.status_code == 200 and r.json() == {"a": [1, 2], "b": {"c": None}}
    assert "\n  " in r.text and '"a": ' in r.text
    r = get(flush, "doc", {"indent": "\t", "newline": "\n", "space": " "})
    assert r.json() == {"a": [1, 2], "b": {"c": None}} and "\n\t" in r.text
    compact = get(flush, "doc").text
    assert "\n" not in compact and " " not in compact
    problem(get(flush, "doc", {"pretty": "maybe"}), 400, "BAD_REQUEST")
    # Layout strings that would make the body something other than JSON.
    problem(get(flush, "doc", {"indent": "--"}), 400, "BAD_REQUEST")
    problem(get(flush, "doc", {"space": "x"}), 400, "BAD_REQUEST")


def test_missing_key(flush):
    problem(get(flush, "nothing"), 404, "NO_SUCH_KEY")
    problem(get(flush, "nothing", {"path": "$.a"}), 404, "NO_SUCH_KEY")
    problem(delete(flush, "nothing"), 404, "NO_SUCH_KEY")
    body = problem(put(flush, "nothing", 1, params={"path": "$.a"}), 404, "NO_SUCH_KEY")
    assert "root" in body["detail"]


def test_put_at_a_sub_path(flush):
    put(flush, "doc", DOC)
    r = put(flush, "doc", {"x": 1}, params={"path": "$.nested.added"})
    assert (r.status_code, r.json()) == (200, {"key": "doc", "path": "$.nested.added", "created": False})
    assert get(flush, "doc", {"path": ".nested.added.x"}).json() == 1
    r = put(flush, "doc", "Lovelace", params={"path": ".name"})
    assert r.status_code == 200
    assert get(flush, "doc", {"path": "$.name"}).json() == ["Lovelace"]
    # A parent that does not exist: nothing to attach the value to.
    problem(put(flush, "doc", 1, params={"path": "$.nope.deeper"}), 404, "NO_SUCH_PATH")
    problem(put(flush, "doc", 1, params={"path": ".nope.deeper"}), 404, "NO_SUCH_PATH")
    problem(put(flush, "doc", 1, params={"path": "$[oops"}), 400, "INVALID_PATH")
    assert get(flush, "doc", {"path": "$.name"}).json() == ["Lovelace"]


def test_nx_and_xx(flush):
    problem(put(flush, "doc", {"a": 1}, params={"xx": "true"}), 412, "CONDITION_NOT_MET")
    problem(get(flush, "doc"), 404, "NO_SUCH_KEY")
    assert put(flush, "doc", {"a": 1}, params={"nx": "true"}).status_code == 201
    problem(put(flush, "doc", {"a": 2}, params={"nx": "true"}), 412, "CONDITION_NOT_MET")
    assert put(flush, "doc", {"a": 3}, params={"xx": "true"}).status_code == 200
    assert get(flush, "doc").json() == {"a": 3}
    # At a sub-path the condition is on the path.
    problem(put(flush, "doc", 9, params={"path": "$.a", "nx": "true"}), 412, "CONDITION_NOT_MET")
    problem(put(flush, "doc", 9, params={"path": "$.b", "xx": "true"}), 412, "CONDITION_NOT_MET")
    assert put(flush, "doc", 9, params={"path": "$.b", "nx": "true"}).status_code == 200
    assert put(flush, "doc", 10, params={"path": "$.a", "xx": "true"}).status_code == 200
    assert get(flush, "doc").json() == {"a": 10, "b": 9}
    problem(put(flush, "doc", 1, params={"nx": "true", "xx": "true"}), 400, "BAD_REQUEST")
    problem(put(flush, "doc", 1, params={"nx": "perhaps"}), 400, "BAD_REQUEST")


@pytest.mark.parametrize("body", ['{"a":', "{'a': 1}", "[1, 2,]", "nope", '{"a": 1} trailing', "\xff"])
def test_malformed_bodies(flush, body):
    r = put(flush, "bad", data=body.encode("latin-1"), headers={"Content-Type": "application/json"})
    detail = problem(r, 400, "INVALID_JSON")["detail"]
    assert "line 1 column" in detail, detail
    problem(get(flush, "bad"), 404, "NO_SUCH_KEY")


def test_empty_body_and_media_type(flush):
    problem(put(flush, "doc", data=b"", headers={"Content-Type": "application/json"}), 400, "BAD_REQUEST")
    problem(put(flush, "doc", data=b"1", headers={"Content-Type": "text/plain"}), 415, "UNSUPPORTED_MEDIA_TYPE")
    problem(put(flush, "doc", data=b"1", headers={"Content-Type": "application/octet-stream"}), 415, "UNSUPPORTED_MEDIA_TYPE")
    # No Content-Type at all reads as JSON, as the other routes do.
    r = requests.put(url(flush, "doc"), data=b'{"a": 1}', headers=flush.auth, timeout=10)
    assert "Content-Type" not in r.request.headers
    assert r.status_code == 201, r.text


def test_nesting_limit(flush):
    deep = "[" * 100_000 + "]" * 100_000
    detail = problem(put(flush, "deep", data=deep), 400, "INVALID_JSON")["detail"]
    assert "recursion limit exceeded" in detail, detail
    deep_object = '{"a":' * 100_000 + "1" + "}" * 100_000
    problem(put(flush, "deep", data=deep_object), 400, "INVALID_JSON")
    r = requests.patch(url(flush, "deep"), data=deep, headers={**flush.auth, "Content-Type": "application/json"}, timeout=30)
    problem(r, 400, "INVALID_JSON")
    # The server still answers, and a document well inside the limit is fine.
    assert flush.command("PING").json() == {"result": "PONG"}
    fine = "[" * 100 + "]" * 100
    assert put(flush, "deep", data=fine).status_code == 201
    assert get(flush, "deep").text == fine


def test_large_document_round_trips(flush):
    document = {"items": [{"id": n, "name": f"item-{n}", "tags": ["a", "b"], "price": n / 4} for n in range(60_000)]}
    data = json.dumps(document)
    assert len(data) > 3_000_000
    assert put(flush, "big", data=data).status_code == 201
    assert get(flush, "big").json() == document
    assert get(flush, "big", {"path": "$.items[59999].name"}).json() == ["item-59999"]


def test_body_over_max_body_is_413():
    server = start_server("--max-body", "65536")
    try:
        r = put(server, "big", data=json.dumps(["x" * 100] * 1000))
        assert r.status_code == 413, r.text
        assert server.command("PING").json() == {"result": "PONG"}
    finally:
        server.cleanup()


def test_wrong_type(flush):
    flush.command("SET", "str", "v")
    flush.command("RPUSH", "list", "v")
    for key in ("str", "list"):
        problem(put(flush, key, {"a": 1}), 409, "WRONGTYPE")
        problem(get(flush, key), 409, "WRONGTYPE")
        problem(patch(flush, key, {"a": 1}), 409, "WRONGTYPE")
        problem(delete(flush, key), 409, "WRONGTYPE")
    assert flush.command("GET", "str").json() == {"result": "v"}
    put(flush, "doc", {"a": 1})
    assert flush.command("TYPE", "doc").json() == {"result": "ReJSON-RL"}
    assert flush.command("GET", "doc").json()["error"].startswith("WRONGTYPE")


@pytest.mark.parametrize("key", ["a/b c", "100%", "ü:é", "q?x=1&y#z", "tab\there"])
def test_percent_encoded_keys(flush, key):
    r = put(flush, key, {"k": key})
    assert r.status_code == 201 and r.json()["key"] == key
    assert get(flush, key).json() == {"k": key}
    assert json.loads(flush.command("JSON.GET", key).json()["result"]) == {"k": key}
    assert delete(flush, key).json() == {"key": key, "deleted": 1}


def test_binary_key(flush):
    target = flush.url + "/v1/json/%FF%00%FE"
    r = requests.put(target, data=b"[1]", headers={**flush.auth, "Content-Type": "application/json"}, timeout=10)
    assert r.status_code == 201
    assert r.json()["key"] == "/wD+"  # not UTF-8: base64
    assert requests.get(target, headers=flush.auth, timeout=10).json() == [1]
    assert flush.command("KEYS", "*", headers={"Upstash-Encoding": "base64"}).json() == {"result": ["/wD+"]}


def test_merge_patch(flush):
    put(flush, "doc", {"a": 1, "b": {"c": 2, "d": 3}, "list": [1, 2]})
    r = patch(flush, "doc", {"b": {"c": None, "e": 4}, "list": [9], "f": "new", "a": None})
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "application/json"
    merged = {"b": {"d": 3, "e": 4}, "list": [9], "f": "new"}
    assert r.json() == merged
    assert get(flush, "doc").json() == merged
    # At a path; application/json is accepted too.
    r = patch(flush, "doc", {"d": None, "z": True}, params={"path": "$.b"}, content_type="application/json")
    assert r.status_code == 200 and r.json()["b"] == {"e": 4, "z": True}
    # A missing key: the root patch creates it; a deeper one cannot.
    r = patch(flush, "fresh", {"a": {"b": 1}})
    assert (r.status_code, r.json()) == (201, {"a": {"b": 1}})
    problem(patch(flush, "absent", {"a": 1}, params={"path": "$.a"}), 404, "NO_SUCH_KEY")
    r = requests.patch(url(flush, "doc"), data=b'{"a":', timeout=10,
                       headers={**flush.auth, "Content-Type": "application/merge-patch+json"})
    problem(r, 400, "INVALID_JSON")
    problem(requests.patch(url(flush, "doc"), data=b"{}", headers={**flush.auth, "Content-Type": "text/plain"}, timeout=10),
            415, "UNSUPPORTED_MEDIA_TYPE")


def test_delete_paths_and_whole_documents(flush):
    put(flush, "doc", {"a": {"x": 1}, "b": {"x": 2}, "c": [1, 2, 3]})
    assert delete(flush, "doc", {"path": "$.a.x"}).json() == {"key": "doc", "deleted": 1}
    assert delete(flush, "doc", {"path": "$..x"}).json() == {"key": "doc", "deleted": 1}
    assert delete(flush, "doc", {"path": "$.c[0]"}).json() == {"key": "doc", "deleted": 1}
    assert delete(flush, "doc", {"path": "$.nothing"}).json() == {"key": "doc", "deleted": 0}
    assert get(flush, "doc").json() == {"a": {}, "b": {}, "c": [2, 3]}
    r = delete(flush, "doc")
    assert (r.status_code, r.json()) == (200, {"key": "doc", "deleted": 1})
    problem(get(flush, "doc"), 404, "NO_SUCH_KEY")
    problem(delete(flush, "doc"), 404, "NO_SUCH_KEY")
    # Deleting the root by path deletes the key.
    put(flush, "doc", [1])
    assert delete(flush, "doc", {"path": "."}).json() == {"key": "doc", "deleted": 1}
    assert flush.command("EXISTS", "doc").json() == {"result": 0}


def test_rest_and_command_api_see_the_same_documents(flush):
    put(flush, "rest", {"from": "rest", "n": [1, 2]})
    r = flush.command("JSON.GET", "rest", "$")
    assert r.status_code == 200
    assert json.loads(r.json()["result"]) == [{"from": "rest", "n": [1, 2]}]
    assert flush.command("JSON.ARRAPPEND", "rest", "$.n", "3").json() == {"result": [3]}
    assert get(flush, "rest", {"path": "$.n"}).json() == [[1, 2, 3]]
    assert flush.command("JSON.SET", "cmd", "$", '{"from":"command","ok":true}').json() == {"result": "OK"}
    assert get(flush, "cmd").json() == {"from": "command", "ok": True}
    assert get(flush, "cmd", {"path": ".ok"}).json() is True
    # The command face answers 400 for what the resource face says with 404.
    r = flush.command("JSON.GET", "cmd", ".missing")
    assert r.status_code == 400 and "does not exist" in r.json()["error"]


def test_acl_category(server):
    name = "json-" + uuid.uuid4().hex[:8]
    other = "nojson-" + uuid.uuid4().hex[:8]
    assert server.command("ACL", "SETUSER", name, "on", ">pw1", "~*", "-@all", "+@json").json() == {"result": "OK"}
    assert server.command("ACL", "SETUSER", other, "on", ">pw2", "~*", "+@all", "-@json").json() == {"result": "OK"}
    try:
        allowed, refused = (name, "pw1"), (other, "pw2")
        key = url(server, "acl:" + name)
        for method, data in (("PUT", b'{"a": 1}'), ("GET", None), ("PATCH", b'{"b": 2}'), ("DELETE", None)):
            r = requests.request(method, key, data=data, auth=allowed, timeout=10, headers={"Content-Type": "application/json"})
            assert r.status_code in (200, 201), f"{method} with +@json: {r.status_code} {r.text}"
            r = requests.request(method, key, data=data, auth=refused, timeout=10, headers={"Content-Type": "application/json"})
            assert r.status_code == 403 and r.json()["code"] == "NOPERM", f"{method} with -@json: {r.status_code} {r.text}"
        reader = "jsonread-" + uuid.uuid4().hex[:8]
        server.command("ACL", "SETUSER", reader, "on", ">pw3", "~*", "-@all", "+@json", "-@write")
        try:
            requests.put(key, data=b"[1]", auth=allowed, timeout=10)
            assert requests.get(key, auth=(reader, "pw3"), timeout=10).json() == [1]
            r = requests.put(key, data=b"[2]", auth=(reader, "pw3"), timeout=10)
            assert r.status_code == 403, r.text
        finally:
            server.command("ACL", "DELUSER", reader)
    finally:
        server.command("ACL", "DELUSER", name, other)
        server.command("DEL", "acl:" + name)
