"""No route skips authorization: every route that ``keyway routes`` lists is
tried three times, without credentials (401), as a user whose rules allow
nothing (403 NOPERM), and as a user whose rules allow everything (neither
401 nor 403). A route added without an example here fails the walk, so a
new route cannot join the server unchecked."""

from __future__ import annotations

import base64
import subprocess

import pytest
import requests

from conftest import require_keyway_bin, start_server

ADMIN = "walk-admin"

# Routes every authenticated user may call, or no one needs to.
# The dashboard's files hold no data: the page signs in and calls the API.
OPEN = {"GET /healthz", "GET /readyz", "GET /ui", "GET /ui/{asset}"}
ANY_USER = {"GET /v1/acl/whoami"}

# Batches answer 200 with each command's own reply: a refusal is in the items.
BATCHES = {"POST /pipeline"}

# Server-Sent Event routes: success is a stream that opens.
STREAMS = {
    "GET /v1/subscribe", "GET /subscribe/{channels}", "POST /subscribe/{channels}",
    "GET /psubscribe/{patterns}", "POST /psubscribe/{patterns}", "GET /v1/monitor",
    "GET /v1/streams/{key}/events", "GET /v1/streams/{key}/groups/{group}/events",
}

PARAMETERS = {
    "key": "walk:key", "field": "f", "member": "m", "index": "0", "group": "g", "name": "walk", "id": "1",
    "origin": "web", "path": "item", "channel": "walk", "channels": "walk", "patterns": "walk*",
    "command": "echo", "args": "hello", "offset": "3",
}

# Query strings and bodies that get each route past its input checks to
# the commands it runs. Paths are the route patterns of `keyway routes`.
EXAMPLES = {
    "POST /": {"json": ["PING"]},
    "POST /pipeline": {"json": [["PING"]]},
    "POST /multi-exec": {"json": [["PING"]]},
    "GET /v1/subscribe": {"query": "channel=walk"},
    "GET /v1/streams/{key}/groups/{group}/events": {"query": "consumer=c"},
    "PATCH /v1/config": {"json": {"slowlog-max-len": "128"}},
    "PUT /v1/acl/users/{name}": {"json": {"rules": ["off"]}},
    "POST /v1/acl/tokens": {"json": {"user": "nothing"}},
    "GET /v1/sets/difference": {"query": "keys=a&keys=b"},
    "GET /v1/sets/intersection": {"query": "keys=a&keys=b"},
    "GET /v1/sets/union": {"query": "keys=a&keys=b"},
    "PUT /v1/sets/{key}/members/{member}": {},
    "POST /subscribe/{channels}": {},
    "POST /psubscribe/{patterns}": {},
    "GET /{command}": {"path": "/ping"},
    "GET /ui/{asset}": {"path": "/ui/app.js"},
    "POST /v1/sets/difference": {"json": {"keys": ["a", "b"], "store": "walk:d"}},
    "POST /v1/sets/intersection": {"json": {"keys": ["a", "b"], "store": "walk:d"}},
    "POST /v1/sets/union": {"json": {"keys": ["a", "b"], "store": "walk:d"}},
    "POST /v1/sets/{key}": {"json": {"members": ["a"]}},
    "POST /v1/sets/{key}/remove": {"json": {"members": ["a"]}},
    "POST /v1/lists/{key}": {"json": {"values": ["a"]}},
    "POST /v1/lists/{key}/trim": {"json": {"start": 0, "stop": 9}},
    "PUT /v1/lists/{key}/items/{index}": {"json": {"value": "v"}},
    "PUT /v1/hashes/{key}": {"json": {"fields": {"a": "1"}}},
    "PATCH /v1/hashes/{key}": {"json": {"fields": {"a": "1"}}},
    "PUT /v1/hashes/{key}/fields/{field}": {"json": {"value": "v"}},
    "PUT /v1/hashes/{key}/fields/{field}/ttl": {"json": {"ttl": 60}},
    "PUT /v1/keys/{key}": {"json": {"value": "v"}},
    "PUT /v1/keys/{key}/ttl": {"json": {"ttl": 60}},
    "POST /v1/leaderboards/{key}": {"json": {"scores": {"a": 1}}},
    "PUT /v1/leaderboards/{key}/members/{member}": {"json": {"score": 1}},
    "POST /v1/leaderboards/{key}/members/{member}/incr": {"json": {"by": 1}},
    "POST /v1/streams/{key}/entries": {"json": {"fields": {"a": "1"}}},
    "POST /v1/streams/{key}/groups": {"json": {"group": "g", "mkstream": True}},
    "POST /v1/streams/{key}/groups/{group}/ack": {"json": {"ids": ["0-1"]}},
    "POST /v1/streams/{key}/groups/{group}/claim": {"json": {"consumer": "c", "minIdle": 0}},
    "POST /v1/channels/{channel}/messages": {"json": {"message": "hi"}},
    "POST /v1/locks/{name}": {"json": {"ttl": 1000}},
    "PATCH /v1/locks/{name}": {"json": {"token": "t", "ttl": 1000}},
    "DELETE /v1/locks/{name}": {"json": {"token": "t"}},
    "POST /v1/ratelimits/{name}": {"json": {"key": "k", "limit": 5, "window": 60}},
    "GET /v1/ratelimits/{name}": {"query": "key=k&limit=5&window=60"},
    "DELETE /v1/ratelimits/{name}": {"query": "key=k"},
    "POST /v1/sessions": {"json": {"data": {"a": "1"}}},
    "PATCH /v1/sessions/{id}": {"json": {"data": {"a": "2"}}},
    "PATCH /v1/session": {"json": {"data": {"a": "2"}}},
    "PUT /v1/cache/{origin}/{path}": {"json": {"a": 1}},
    "PATCH /v1/cache/{origin}/{path}": {"json": {"a": 1}},
    "POST /v1/cache/{origin}/{path}": {"json": {"a": 1}},
    "POST /{command}": {"path": "/ping"},
    "POST /{command}/{args}": {},
    "PUT /v1/bitmaps/{key}/bits/{offset}": {"json": {"bit": 1}},
    "GET /v1/bitmaps/{key}/position": {"query": "bit=1"},
    "POST /v1/bitmaps/{key}/op": {"json": {"operation": "or", "keys": ["a"]}},
    "POST /v1/hyperloglogs/{key}": {"json": {"members": ["a"]}},
    "POST /v1/hyperloglogs/{key}/merge": {"json": {"keys": ["a"]}},
    "POST /v1/geo/{key}": {"json": {"points": {"a": [1, 1]}}},
    "GET /v1/geo/{key}/search": {"query": "lon=1&lat=1&radius=10"},
    "PUT /v1/json/{key}": {"json": {"a": 1}},
    "PATCH /v1/json/{key}": {"json": {"a": 1}},
    "GET /v1/json/{key}": {"query": "path=%24.a"},
    "DELETE /v1/json/{key}": {"query": "path=%24.a"},
}
# Routes whose request needs nothing beyond the path.
PATH_ONLY_METHODS = {"GET", "DELETE"}
PATH_ONLY_POSTS = {
    "POST /v1/admin/bgrewriteaof", "POST /v1/admin/bgsave", "POST /v1/admin/save",
    "POST /v1/keys/{key}/incr", "POST /v1/hashes/{key}/fields/{field}/incr",
    "POST /v1/lists/{key}/pop", "POST /v1/sets/{key}/pop",
}


def basic(name: str, password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()}


NOTHING = basic("nothing", "nothingpw")
EVERYTHING = basic("everything", "everythingpw")


def listed_routes() -> list[str]:
    result = subprocess.run([str(require_keyway_bin()), "routes"], capture_output=True, text=True, timeout=30, check=True)
    return [line.strip() for line in result.stdout.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def keyway(tmp_path_factory):
    directory = tmp_path_factory.mktemp("walk")
    config = directory / "keyway.conf"
    config.write_text(
        f"requirepass {ADMIN}\n"
        "user nothing on >nothingpw resetkeys resetchannels -@all\n"
        "user everything on >everythingpw ~* &* +@all\n"
        # Nothing listens on port 9: cache fetches fail, after authorization.
        "cache-origin web http://127.0.0.1:9 ttl 60\n"
    )
    server = start_server("--config", str(config), token=ADMIN, token_flag=False)
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def session_id(keyway):
    created = requests.post(keyway.url + "/v1/sessions", json={"data": {"a": "1"}},
                            headers={"Authorization": f"Bearer {ADMIN}"}, timeout=5)
    assert created.status_code == 201, created.text
    return created.json()["id"]


def request_for(route: str, session_id: str) -> dict:
    method, pattern = route.split(" ", 1)
    path = pattern
    for name, value in PARAMETERS.items():
        path = path.replace("{" + name + "}", value)
    if route in EXAMPLES:
        example = EXAMPLES[route]
    elif method in PATH_ONLY_METHODS or route in PATH_ONLY_POSTS:
        example = {}
    else:
        pytest.fail(f"{route} has no example request in test_acl_routes.py: add one, so its authorization is checked")
    url = example.get("path", path) + ("?" + example["query"] if "query" in example else "")
    if "{id}" in pattern and "session" in pattern:
        url = url.replace("/1", "/" + session_id)
    return {"method": method, "url": url, "json": example.get("json"), "stream": route in STREAMS}


def send(server, request: dict, headers: dict, session_id: str) -> requests.Response:
    headers = dict(headers)
    if request["url"].startswith("/v1/session") and not request["url"].startswith("/v1/sessions"):
        headers["Cookie"] = f"keyway_session={session_id}"
    kwargs = {"headers": headers, "timeout": 10}
    if request["json"] is not None:
        kwargs["json"] = request["json"]
    response = requests.request(request["method"], server.url + request["url"], stream=request["stream"], **kwargs)
    if not request["stream"] or response.status_code != 200:
        response.content
    response.close()
    return response


ROUTES = listed_routes()


def test_the_walk_covers_the_route_table():
    assert len(ROUTES) > 100
    stale = set(EXAMPLES) - set(ROUTES)
    assert not stale, f"examples for routes that no longer exist: {sorted(stale)}"


@pytest.mark.parametrize("route", ROUTES)
def test_every_route_authorizes(keyway, session_id, route):
    request = request_for(route, session_id)
    anonymous = send(keyway, request, {}, session_id)
    refused = send(keyway, request, NOTHING, session_id)
    allowed = send(keyway, request, EVERYTHING, session_id)
    if route in OPEN:
        assert anonymous.status_code == refused.status_code == allowed.status_code == 200
        return
    assert anonymous.status_code == 401, f"{route} without credentials: {anonymous.status_code} {anonymous.text[:200]}"
    if route in ANY_USER:
        assert refused.status_code == 200
    elif route in BATCHES:
        assert refused.status_code == 200
        assert all(item["error"].startswith("NOPERM") for item in refused.json()), refused.text
    else:
        assert refused.status_code == 403, f"{route} as a user without rights: {refused.status_code} {refused.text[:200]}"
        body = refused.json()
        assert body.get("code") == "NOPERM" or body.get("error", "").startswith("NOPERM"), body
    assert allowed.status_code not in (401, 403), f"{route} as a user with every right: {allowed.status_code} {allowed.text[:200]}"
