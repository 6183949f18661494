"""Rate limiting through a real server: the gateway's per-client limit from
``--rate-limit`` and from a config file's ``rate-limit`` directive, and the
``/v1/ratelimits/{name}`` API for applications."""

from __future__ import annotations

import threading

import pytest
import requests

from conftest import start_server
from test_cli import run, write_config

LIMIT_HEADERS = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")


def exhaust(server, limit: int) -> list[requests.Response]:
    """Spends the whole budget with ordinary requests and returns the responses."""
    return [requests.get(server.url + "/v1/keys/nothing", headers=server.auth, timeout=5) for _ in range(limit)]


def assert_refused(response: requests.Response, limit: int) -> None:
    assert response.status_code == 429
    assert response.headers["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "RATE_LIMITED" and body["status"] == 429
    assert int(response.headers["Retry-After"]) >= 1
    assert response.headers["RateLimit-Limit"] == str(limit)
    assert response.headers["RateLimit-Remaining"] == "0"


def test_the_rate_limit_flag_limits_every_route_but_health_checks():
    server = start_server("--rate-limit", "4/60")
    try:
        responses = exhaust(server, 3)
        assert [r.status_code for r in responses] == [404, 404, 404]
        assert [r.headers["RateLimit-Remaining"] for r in responses] == ["3", "2", "1"]
        for r in responses:
            assert all(name in r.headers for name in LIMIT_HEADERS)
            assert r.headers["RateLimit-Policy"] == "4;w=60"
        # Health checks neither count nor carry the headers.
        for _ in range(10):
            for path in ("/healthz", "/readyz"):
                health = requests.get(server.url + path, timeout=5)
                assert health.status_code == 200
                assert "RateLimit-Limit" not in health.headers
        last = server.command("PING")
        assert last.status_code == 200 and last.headers["RateLimit-Remaining"] == "0"
        assert_refused(requests.get(server.url + "/v1/keys/nothing", headers=server.auth, timeout=5), 4)
        command = server.command("PING")
        assert_refused(command, 4)
        assert command.json()["error"].startswith("RATE_LIMITED")
        # Requests without the token are counted by address, apart from the token's budget.
        anonymous = requests.get(server.url + "/v1/keys/nothing", timeout=5)
        assert anonymous.status_code == 401
        assert anonymous.headers["RateLimit-Remaining"] == "3"
    finally:
        server.cleanup()


def test_the_config_file_directive_and_flag_precedence(tmp_path):
    config = write_config(tmp_path, "rate-limit 2 30\n")
    server = start_server("--config", str(config))
    try:
        first, second = exhaust(server, 2)
        assert first.headers["RateLimit-Limit"] == "2" and first.headers["RateLimit-Policy"] == "2;w=30"
        assert second.headers["RateLimit-Remaining"] == "0"
        assert_refused(requests.get(server.url + "/v1/keys/nothing", headers=server.auth, timeout=5), 2)
    finally:
        server.cleanup()
    # A flag overrides the file, including turning the limit off.
    server = start_server("--config", str(config), "--rate-limit", "off")
    try:
        assert all(r.status_code == 404 and "RateLimit-Limit" not in r.headers for r in exhaust(server, 5))
    finally:
        server.cleanup()
    server = start_server("--config", str(config), "--rate-limit", "10/5")
    try:
        assert requests.get(server.url + "/v1/keys/x", headers=server.auth, timeout=5).headers["RateLimit-Policy"] == "10;w=5"
    finally:
        server.cleanup()


def test_the_flag_is_in_the_help():
    assert "--rate-limit" in run("serve", "--help").stdout


def test_off_by_default(server):
    r = requests.get(server.url + "/v1/keys/nothing", headers=server.auth, timeout=5)
    assert "RateLimit-Limit" not in r.headers


@pytest.mark.parametrize("value", ["100", "0/60", "100/0", "-1/60", "fast"])
def test_bad_rate_limit_flags_are_refused(value):
    result = run("serve", "--rate-limit", value, "--port", "0")
    assert result.returncode != 0
    assert "--rate-limit" in result.stderr + result.stdout


@pytest.mark.parametrize("line", ["rate-limit 100", "rate-limit 0 60", "rate-limit 100 sixty", "rate-limit 1 2 3"])
def test_bad_rate_limit_directives_are_refused(tmp_path, line):
    config = write_config(tmp_path, line + "\n")
    result = run("serve", "--config", str(config), "--port", "0")
    assert result.returncode != 0
    assert "config file line 1" in result.stderr + result.stdout


def check(server, name: str, **body) -> requests.Response:
    return requests.post(f"{server.url}/v1/ratelimits/{name}", json=body, headers=server.auth, timeout=5)


@pytest.mark.parametrize("algorithm", ["sliding-log", "sliding-window", "fixed-window", "token-bucket"])
def test_the_api_allows_exactly_the_limit(flush, algorithm):
    server = flush
    answers = [check(server, "api", key="user:1", limit=3, window=60, algorithm=algorithm) for _ in range(4)]
    assert [r.status_code for r in answers] == [200] * 4
    assert [r.json()["allowed"] for r in answers] == [True, True, True, False]
    assert [r.json()["remaining"] for r in answers] == [2, 1, 0, 0]
    assert [r.headers["RateLimit-Remaining"] for r in answers] == ["2", "1", "0", "0"]
    refused = answers[-1].json()
    assert refused["retry_after"] >= 1 and refused["retry_after_ms"] > 0 and refused["limit"] == 3
    # The state is an ordinary key with a TTL, visible through the command API.
    key = "ratelimit:api:user:1"
    assert server.command("EXISTS", key).json() == {"result": 1}
    assert 0 < server.command("PTTL", key).json()["result"] <= 120_000
    # Peek without consuming, then reset.
    peek = requests.get(f"{server.url}/v1/ratelimits/api", params={"key": "user:1", "limit": 3, "window": 60, "algorithm": algorithm},
                        headers=server.auth, timeout=5)
    assert peek.status_code == 200 and peek.json()["allowed"] is False
    assert requests.delete(f"{server.url}/v1/ratelimits/api", params={"key": "user:1"}, headers=server.auth, timeout=5).status_code == 204
    assert server.command("EXISTS", key).json() == {"result": 0}
    assert check(server, "api", key="user:1", limit=3, window=60, algorithm=algorithm).json()["remaining"] == 2


def test_the_api_is_atomic_under_concurrency(flush):
    server = flush
    allowed = []
    lock = threading.Lock()

    def worker():
        with requests.Session() as session:
            for _ in range(15):
                r = session.post(f"{server.url}/v1/ratelimits/burst", json={"key": "k", "limit": 40, "window": 600, "algorithm": "sliding-log"},
                                 headers=server.auth, timeout=10)
                assert r.status_code == 200
                with lock:
                    allowed.append(r.json()["allowed"])

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(allowed) == 120
    assert allowed.count(True) == 40
    assert server.command("ZCARD", "ratelimit:burst:k").json() == {"result": 40}


@pytest.mark.parametrize(
    "body",
    [
        {"key": "k", "limit": 5, "window": 60, "algorithm": "leaky"},
        {"key": "k", "limit": 0, "window": 60},
        {"key": "k", "limit": -1, "window": 60},
        {"key": "k", "limit": 5, "window": 0},
        {"limit": 5, "window": 60},
        {"key": "k", "limit": 5, "window": 60, "cost": 10**30},
        {"key": "k", "limit": 5, "window": 60, "cost": 6},
        {"key": "k", "limit": "5", "window": 60},
    ],
)
def test_bad_api_input_is_a_400(flush, body):
    r = check(flush, "api", **body)
    assert r.status_code == 400
    assert r.headers["Content-Type"] == "application/problem+json"
    assert r.json()["code"] == "BAD_REQUEST"


def test_malformed_json_is_a_400(flush):
    r = requests.post(f"{flush.url}/v1/ratelimits/api", data=b'{"key": ', headers={**flush.auth, "Content-Type": "application/json"}, timeout=5)
    assert r.status_code == 400 and r.json()["code"] == "BAD_REQUEST"
