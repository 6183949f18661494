"""Sessions (/v1/sessions, /v1/session) and locks (/v1/locks) over HTTP with
`requests`, against a real server: the Redis view of both (HGETALL
session:{id}, SET NX PX on lock:{name}), cookies, config directives,
ordered waiters and bad input."""

from __future__ import annotations

import re
import threading
import time

import pytest
import requests

from conftest import start_server

ID = re.compile(r"^[A-Za-z0-9_-]{22}$")


def post(server, path, body=None, **kwargs):
    headers = {**server.auth, **kwargs.pop("headers", {})}
    return requests.post(server.url + path, json=body, headers=headers, timeout=kwargs.pop("timeout", 10), **kwargs)


def call(server, method, path, body=None, **kwargs):
    headers = {**server.auth, **kwargs.pop("headers", {})}
    return requests.request(method, server.url + path, json=body, headers=headers, timeout=10, **kwargs)


# --- sessions -----------------------------------------------------------------


def test_session_lifecycle_and_its_redis_view(flush):
    server = flush
    created = post(server, "/v1/sessions", {"data": {"user_id": "123", "visits": 2, "admin": True}, "ttl": 600})
    assert created.status_code == 201
    body = created.json()
    sid = body["id"]
    assert ID.match(sid)
    assert body == {"id": sid, "data": {"user_id": "123", "visits": "2", "admin": "true"}, "ttl": 600}
    assert created.headers["Location"] == f"/v1/sessions/{sid}"
    cookie = created.headers["Set-Cookie"]
    assert cookie == f"keyway_session={sid}; Path=/; Max-Age=600; HttpOnly; SameSite=Lax"

    assert server.command("HGETALL", f"session:{sid}").json()["result"] == ["user_id", "123", "visits", "2", "admin", "true"]
    assert 590 <= server.command("TTL", f"session:{sid}").json()["result"] <= 600

    patched = call(server, "PATCH", f"/v1/sessions/{sid}", {"data": {"visits": 3, "admin": None, "tags": ["a", "b"]}})
    assert patched.status_code == 200
    assert patched.json()["data"] == {"user_id": "123", "visits": "3", "tags": '["a","b"]'}

    assert call(server, "GET", f"/v1/sessions/{sid}").json()["data"]["visits"] == "3"
    assert call(server, "DELETE", f"/v1/sessions/{sid}").status_code == 204
    gone = call(server, "GET", f"/v1/sessions/{sid}")
    assert gone.status_code == 404
    assert gone.headers["Content-Type"] == "application/problem+json"
    assert gone.json()["code"] == "NO_SUCH_SESSION"


def test_the_cookie_routes_and_401s(flush):
    server = flush
    sid = post(server, "/v1/sessions", {"data": {"u": "1"}}).json()["id"]
    jar = {"keyway_session": sid}
    mine = call(server, "GET", "/v1/session", cookies=jar)
    assert mine.status_code == 200 and mine.json()["id"] == sid
    assert call(server, "PATCH", "/v1/session", {"data": {"step": "2"}}, cookies=jar).json()["data"] == {"u": "1", "step": "2"}

    missing = call(server, "GET", "/v1/session")
    assert missing.status_code == 401 and missing.json()["code"] == "UNAUTHORIZED"
    for odd in ["A" * 22, "x", "../../etc", sid + "A", "session:" + sid]:
        r = call(server, "GET", "/v1/session", cookies={"keyway_session": odd})
        assert r.status_code == 401, odd
        assert r.json()["code"] == "SESSION_EXPIRED"
        assert "Max-Age=0" in r.headers["Set-Cookie"]

    out = call(server, "DELETE", "/v1/session", cookies=jar)
    assert out.status_code == 204
    assert out.headers["Set-Cookie"].startswith("keyway_session=; Path=/; Max-Age=0")
    assert call(server, "GET", "/v1/session", cookies=jar).status_code == 401


def test_a_short_ttl_ends_the_session(flush):
    server = flush
    sid = post(server, "/v1/sessions", {"data": {"u": "1"}, "ttl": 0.3}).json()["id"]
    assert call(server, "GET", f"/v1/sessions/{sid}").status_code == 200
    deadline = time.monotonic() + 5
    while call(server, "GET", f"/v1/sessions/{sid}").status_code == 200 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert call(server, "GET", f"/v1/sessions/{sid}").status_code == 404
    assert call(server, "GET", "/v1/session", cookies={"keyway_session": sid}).json()["code"] == "SESSION_EXPIRED"
    # A PATCH does not bring it back.
    assert call(server, "PATCH", f"/v1/sessions/{sid}", {"data": {"u": "2"}}).status_code == 404
    assert server.command("EXISTS", f"session:{sid}").json()["result"] == 0


def test_session_directives_in_the_config_file(tmp_path):
    config = tmp_path / "keyway.conf"
    config.write_text("session-ttl 120\nsession-sliding yes\nsession-cookie sid\nsession-cookie-secure yes\n")
    server = start_server("--config", str(config))
    try:
        created = post(server, "/v1/sessions", {"data": {"u": "1"}})
        sid = created.json()["id"]
        assert created.json()["ttl"] == 120
        assert created.headers["Set-Cookie"] == f"sid={sid}; Path=/; Max-Age=120; HttpOnly; SameSite=Lax; Secure"
        server.command("PEXPIRE", f"session:{sid}", 5000)
        read = call(server, "GET", "/v1/session", cookies={"sid": sid})
        assert read.json()["ttl"] == 120  # sliding: renewed to session-ttl
        assert "Max-Age=120" in read.headers["Set-Cookie"]
    finally:
        server.cleanup()


@pytest.mark.parametrize("text", ["session-ttl 0\n", "session-ttl soon\n", "session-sliding maybe\n", "session-cookie a;b\n"])
def test_bad_session_directives_are_refused(tmp_path, text):
    from test_cli import run
    from conftest import free_port

    config = tmp_path / "keyway.conf"
    config.write_text(text)
    result = run("serve", "--config", str(config), "--port", str(free_port()))
    assert result.returncode != 0
    assert "line 1" in result.stderr + result.stdout


@pytest.mark.parametrize(
    "body",
    ['{"data":', "[]", "{}", '{"data":{}}', '{"data":"x"}', '{"data":{"a":"1"},"ttl":-1}', '{"data":{"a":"1"},"ttl":"60"}',
     '{"data":{"a":"1"},"ttl":1e308}'],
)
def test_bad_session_bodies(flush, body):
    r = requests.post(flush.url + "/v1/sessions", data=body, headers={**flush.auth, "Content-Type": "application/json"}, timeout=10)
    assert r.status_code == 400
    assert r.headers["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize("sid", ["short", "A" * 21 + "%2F", "A" * 21 + "%00", "A" * 23, "%FF" * 22])
def test_ids_of_the_wrong_shape_are_400(flush, sid):
    assert call(flush, "GET", f"/v1/sessions/{sid}").status_code == 400


# --- locks --------------------------------------------------------------------


def test_lock_acquire_release_and_fencing(flush):
    server = flush
    first = post(server, "/v1/locks/order:789", {"ttl": 30})
    assert first.status_code == 201
    grant = first.json()
    assert grant["fencing"] == 1 and grant["ttl"] == 30 and ID.match(grant["token"])
    # Interoperates with the plain pattern: SET NX fails while held.
    assert server.command("GET", "lock:order:789").json()["result"] == grant["token"]
    assert server.command("SET", "lock:order:789", "me", "NX", "PX", "1000").json()["result"] is None

    held = post(server, "/v1/locks/order:789", {"ttl": 30})
    assert held.status_code == 409 and held.json()["code"] == "LOCK_HELD"
    state = call(server, "GET", "/v1/locks/order:789").json()
    assert state["held"] is True and state["fencing"] == 1 and "token" not in state

    assert call(server, "DELETE", "/v1/locks/order:789", {"token": "nope"}).status_code == 412
    assert call(server, "PATCH", "/v1/locks/order:789", {"token": "nope", "ttl": 5}).status_code == 412
    extended = call(server, "PATCH", "/v1/locks/order:789", {"token": grant["token"], "ttl": 90})
    assert extended.status_code == 200 and extended.json()["ttl"] == 90
    assert call(server, "DELETE", "/v1/locks/order:789", headers={"If-Match": f'"{grant["token"]}"'}).status_code == 204
    assert call(server, "DELETE", "/v1/locks/order:789", {"token": grant["token"]}).json()["code"] == "NO_SUCH_LOCK"
    # The counter survives the release.
    assert post(server, "/v1/locks/order:789", {"ttl": 30}).json()["fencing"] == 2


def test_waiters_are_served_in_order_and_expiry_hands_the_lock_on(flush):
    server = flush
    holder = post(server, "/v1/locks/q", {"ttl": 0.5}).json()
    results: dict[int, requests.Response] = {}

    def wait(index):
        results[index] = post(server, "/v1/locks/q", {"ttl": 30, "wait": 10}, timeout=20)

    threads = []
    for index in range(3):
        t = threading.Thread(target=wait, args=(index,))
        t.start()
        threads.append(t)
        time.sleep(0.15)  # arrival order
    # The first lapses by TTL (nobody releases it): waiter 0 gets it.
    threads[0].join(timeout=15)
    assert results[0].status_code == 201
    assert results[0].json()["fencing"] == holder["fencing"] + 1
    for index in (1, 2):
        call(server, "DELETE", "/v1/locks/q", {"token": results[index - 1].json()["token"]})
        threads[index].join(timeout=15)
        assert results[index].status_code == 201
        assert results[index].json()["fencing"] == holder["fencing"] + 1 + index


def test_a_wait_times_out_with_409(flush):
    post(flush, "/v1/locks/t", {"ttl": 30})
    r = post(flush, "/v1/locks/t", {"ttl": 30, "wait": 0.3})
    assert r.status_code == 409 and r.json()["code"] == "LOCK_HELD"


def test_one_holder_at_a_time_under_contention(flush):
    server = flush
    lock = threading.Lock()
    holders = []
    fencings = []
    problems = []

    def worker():
        session = requests.Session()
        for _ in range(8):
            r = session.post(server.url + "/v1/locks/hot", json={"ttl": 30, "wait": 30}, headers=server.auth, timeout=40)
            if r.status_code != 201:
                problems.append(r.status_code)
                continue
            with lock:
                holders.append(1)
                if len(holders) != 1:
                    problems.append("overlap")
                fencings.append(r.json()["fencing"])
                holders.pop()
            session.delete(server.url + "/v1/locks/hot", json={"token": r.json()["token"]}, headers=server.auth, timeout=10)

    threads = [threading.Thread(target=worker) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not problems
    assert fencings == sorted(fencings) and len(set(fencings)) == 40


@pytest.mark.parametrize(
    "body", ['{"ttl":', "[]", '{"ttl":0}', '{"ttl":-1}', '{"ttl":"30"}', '{"ttl":1e308}', '{"wait":-1}', '{"wait":"x"}', '{"wait":1000}']
)
def test_bad_lock_bodies(flush, body):
    r = requests.post(flush.url + "/v1/locks/x", data=body, headers={**flush.auth, "Content-Type": "application/json"}, timeout=10)
    assert r.status_code == 400
    assert r.json()["code"] == "BAD_REQUEST"


@pytest.mark.parametrize("name", ["a%2Fb", "a%00b", "%FF%FE", "tab%09", "x" * 300, "job:fencing"])
def test_bad_lock_names(flush, name):
    assert post(flush, f"/v1/locks/{name}", {}).status_code == 400
    assert call(flush, "GET", f"/v1/locks/{name}").status_code == 400


def test_release_needs_a_token(flush):
    assert call(flush, "DELETE", "/v1/locks/x").status_code == 400
    assert call(flush, "DELETE", "/v1/locks/x", {"token": 7}).status_code == 400
    assert call(flush, "PATCH", "/v1/locks/x", {"ttl": 5}).status_code == 400
