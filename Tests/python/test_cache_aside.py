"""Cache-aside middleware through a real server, in front of a Python
``http.server`` origin on 127.0.0.1 that counts the requests it serves."""

from __future__ import annotations

import http.server
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from conftest import start_server


class Origin:
    """An origin answering every path with JSON naming it; a test can set
    the Cache-Control header, the status, or a gate that holds answers."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, bytes]] = []
        self.lock = threading.Lock()
        self.cache_control: str | None = None
        self.status = 200
        self.gate: threading.Event | None = None
        self.down = False
        origin = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep pytest output clean
                pass

            def answer(self) -> None:
                if origin.down:  # a kept-alive connection dies without an answer
                    self.close_connection = True
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with origin.lock:
                    origin.requests.append((self.command, self.path, body))
                    count = len(origin.requests)
                if origin.gate is not None:
                    origin.gate.wait(10)
                payload = json.dumps({"path": self.path, "count": count, "method": self.command}).encode()
                self.send_response(origin.status)
                self.send_header("Content-Type", "application/json")
                if origin.cache_control:
                    self.send_header("Cache-Control", origin.cache_control)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = answer

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def count(self) -> int:
        with self.lock:
            return len(self.requests)

    def stop(self) -> None:
        self.down = True
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def origin():
    o = Origin()
    yield o
    o.stop()


@pytest.fixture
def keyway(origin, tmp_path):
    config = tmp_path / "keyway.conf"
    config.write_text(f"cache-origin users http://127.0.0.1:{origin.port} ttl 3600 stale-if-error 600\ncache-timeout 3\n")
    server = start_server("--config", str(config), "--cache-origin", f"flaky=http://127.0.0.1:{origin.port}/v2,ttl=30")
    yield server
    server.cleanup()


def get(server, path, **kwargs):
    return requests.get(server.url + path, headers=server.auth, timeout=10, **kwargs)


def test_miss_then_hit_with_age_and_an_ordinary_hash(keyway, origin):
    miss = get(keyway, "/v1/cache/users/42/profile?lang=en")
    assert miss.status_code == 200
    assert miss.headers["X-Cache"] == "MISS"
    assert miss.json() == {"path": "/42/profile?lang=en", "count": 1, "method": "GET"}
    hit = get(keyway, "/v1/cache/users/42/profile?lang=en")
    assert hit.headers["X-Cache"] == "HIT"
    assert int(hit.headers["Age"]) >= 0
    assert hit.json() == miss.json()
    assert hit.headers["Content-Type"] == "application/json"
    assert origin.count == 1
    # The entry is data like any other.
    fields = keyway.command("HGETALL", "cache:users:/42/profile?lang=en").json()["result"]
    assert dict(zip(fields[::2], fields[1::2]))["status"] == "200"
    ttl = keyway.command("TTL", "cache:users:/42/profile?lang=en").json()["result"]
    assert 3600 < ttl <= 4200


def test_flag_origin_with_a_path_prefix(keyway, origin):
    r = get(keyway, "/v1/cache/flaky/a%2Fb/c")
    assert r.status_code == 200
    assert r.json()["path"] == "/v2/a%2Fb/c"


def test_concurrent_misses_make_one_origin_request(keyway, origin):
    origin.gate = threading.Event()
    with ThreadPoolExecutor(max_workers=10) as pool:
        futures = [pool.submit(get, keyway, "/v1/cache/users/hot") for _ in range(10)]
        # Give every client time to arrive; the origin holds its answer meanwhile.
        threading.Event().wait(0.5)
        origin.gate.set()
        answers = [f.result() for f in futures]
    assert all(a.status_code == 200 for a in answers)
    assert {a.json()["count"] for a in answers} == {1}
    assert origin.count == 1


def test_no_store_is_not_stored(keyway, origin):
    origin.cache_control = "no-store"
    assert get(keyway, "/v1/cache/users/private").headers["X-Cache"] == "MISS"
    assert get(keyway, "/v1/cache/users/private").headers["X-Cache"] == "MISS"
    assert origin.count == 2


def test_write_through_invalidates_and_purge_skips_the_origin(keyway, origin):
    get(keyway, "/v1/cache/users/7")
    put = requests.put(keyway.url + "/v1/cache/users/7", json={"name": "Ada"}, headers=keyway.auth, timeout=10)
    assert put.status_code == 200
    assert origin.requests[-1] == ("PUT", "/7", b'{"name": "Ada"}')
    assert keyway.command("EXISTS", "cache:users:/7").json()["result"] == 0
    assert get(keyway, "/v1/cache/users/7").headers["X-Cache"] == "MISS"
    before = origin.count
    purge = requests.delete(keyway.url + "/v1/cache/users/7", headers={**keyway.auth, "Cache-Purge": "only"}, timeout=10)
    assert purge.status_code == 204
    assert origin.count == before
    again = requests.delete(keyway.url + "/v1/cache/users/7", headers={**keyway.auth, "Cache-Purge": "only"}, timeout=10)
    assert again.status_code == 404 and again.json()["code"] == "NO_SUCH_KEY"


def test_unknown_origin_and_missing_token(keyway):
    r = get(keyway, "/v1/cache/orders/1")
    assert r.status_code == 404
    assert r.headers["Content-Type"] == "application/problem+json"
    assert r.json()["code"] == "NO_SUCH_ORIGIN"
    assert requests.get(keyway.url + "/v1/cache/users/1", timeout=10).status_code == 401


def test_origin_down_is_502_or_the_stale_copy(keyway, origin):
    assert get(keyway, "/v1/cache/flaky/x").status_code == 200
    # Make users' entry stale but within stale-if-error, then stop the origin.
    assert get(keyway, "/v1/cache/users/s").headers["X-Cache"] == "MISS"
    stored_at = keyway.command("HGET", "cache:users:/s", "stored-at").json()["result"]
    keyway.command("HSET", "cache:users:/s", "fresh-until", stored_at)
    origin.stop()
    stale = get(keyway, "/v1/cache/users/s")
    assert stale.status_code == 200
    assert stale.headers["X-Cache"] == "STALE"
    assert stale.headers["Warning"].startswith("111 ")
    down = get(keyway, "/v1/cache/flaky/y")
    assert down.status_code == 502
    assert down.json()["code"] == "BAD_GATEWAY"


def test_bad_cache_origin_flag_is_refused():
    with pytest.raises(RuntimeError, match="cache-origin"):
        start_server("--cache-origin", "users=ftp://127.0.0.1:1")


@pytest.mark.parametrize(
    "line, message",
    [
        ("cache-origin users http://127.0.0.1:9000 ttl 0", "ttl must be a positive"),
        ("cache-origin users", "expected: cache-origin NAME URL"),
        ("cache-origin users http://127.0.0.1:9000 colour red", "unknown cache-origin option"),
        ("cache-timeout -1", "expected seconds"),
    ],
)
def test_bad_cache_directives_are_refused_with_the_line(tmp_path, line, message):
    config = tmp_path / "keyway.conf"
    config.write_text(f"# origins\n{line}\n")
    with pytest.raises(RuntimeError, match=f"line 2: {message}"):
        start_server("--config", str(config))
