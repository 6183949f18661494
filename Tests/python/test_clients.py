"""CLIENT LIST / CLIENT KILL over the command API and /v1/clients, driven
with ordinary HTTP clients: a requests.Session is one keep-alive connection,
so it is one client."""

from __future__ import annotations

import threading
import time

import requests

from conftest import start_server


def parse_client_list(text: str) -> dict[int, dict[str, str]]:
    clients = {}
    for line in text.splitlines():
        fields = dict(pair.split("=", 1) for pair in line.split(" "))
        clients[int(fields["id"])] = fields
    return clients


def run(session: requests.Session, server, *args):
    r = session.post(server.url + "/", json=list(args), headers=server.auth, timeout=10)
    return r


def wait_until(condition, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_client_list_shows_sessions_parked_requests_and_subscribers():
    server = start_server()
    try:
        admin, worker, listener = requests.Session(), requests.Session(), requests.Session()
        admin_id = run(admin, server, "CLIENT", "ID").json()["result"]
        assert run(admin, server, "CLIENT", "ID").json()["result"] == admin_id  # keep-alive: same client
        assert run(admin, server, "CLIENT", "SETNAME", "py-admin").json() == {"result": "OK"}
        assert run(admin, server, "CLIENT", "GETNAME").json() == {"result": "py-admin"}
        worker_id = run(worker, server, "CLIENT", "ID").json()["result"]
        listener_id = run(listener, server, "CLIENT", "ID").json()["result"]

        popped = {}

        def block():
            try:
                popped.update(run(worker, server, "BLPOP", "py:jobs", "10").json())
            except requests.ConnectionError:
                popped["closed"] = True

        blocker = threading.Thread(target=block)
        blocker.start()
        stream = listener.get(server.url + "/v1/subscribe", params={"channel": ["a", "b"]}, headers=server.auth,
                              stream=True, timeout=10)
        assert stream.status_code == 200
        lines = stream.iter_lines()
        assert any(line.startswith(b"event: subscribe") for line in (next(lines), next(lines)))

        def listed():
            return parse_client_list(run(admin, server, "CLIENT", "LIST").json()["result"])

        assert wait_until(lambda: listed().get(worker_id, {}).get("flags") == "b")
        clients = listed()
        assert clients[admin_id]["name"] == "py-admin"
        assert clients[admin_id]["flags"] == "N"
        assert clients[admin_id]["cmd"] == "client|list"
        assert clients[admin_id]["laddr"] == f"127.0.0.1:{server.port}"
        assert clients[worker_id]["cmd"] == "blpop"
        assert clients[listener_id]["flags"] == "P"
        assert clients[listener_id]["sub"] == "2"

        info = run(admin, server, "INFO", "clients").json()["result"]
        assert "blocked_clients:1\r\n" in info
        assert "pubsub_clients:1\r\n" in info

        # The JSON view says the same.
        view = admin.get(server.url + "/v1/clients", headers=server.auth, timeout=10)
        assert view.status_code == 200 and view.headers["Content-Type"] == "application/json"
        body = view.json()
        assert body["count"] == len(body["clients"])
        by_id = {c["id"]: c for c in body["clients"]}
        assert {admin_id, worker_id, listener_id} <= set(by_id)
        assert by_id[worker_id]["flags"] == "b"
        assert by_id[listener_id]["sub"] == 2
        assert by_id[admin_id]["name"] == "py-admin"
        assert isinstance(by_id[admin_id]["totNetIn"], int)
        pubsub = admin.get(server.url + "/v1/clients", params={"type": "pubsub"}, headers=server.auth, timeout=10).json()
        assert [c["id"] for c in pubsub["clients"]] == [listener_id]

        # Killing the parked request withdraws its wait: a later push stays in the list.
        assert run(admin, server, "CLIENT", "KILL", "ID", str(worker_id)).json() == {"result": 1}
        blocker.join(timeout=10)
        assert not blocker.is_alive()
        assert popped == {"closed": True}
        assert wait_until(lambda: worker_id not in listed())
        assert run(admin, server, "RPUSH", "py:jobs", "x").json() == {"result": 1}
        assert run(admin, server, "LLEN", "py:jobs").json() == {"result": 1}

        # Deleting the subscriber ends its stream.
        assert admin.delete(f"{server.url}/v1/clients/{listener_id}", headers=server.auth, timeout=10).status_code == 204
        assert wait_until(lambda: listener_id not in listed())
        missing = admin.delete(f"{server.url}/v1/clients/{listener_id}", headers=server.auth, timeout=10)
        assert missing.status_code == 404 and missing.json()["code"] == "NOT_FOUND"
        stream.close()
    finally:
        server.cleanup()


def test_client_errors_use_redis_words(server):
    session = requests.Session()
    r = run(session, server, "CLIENT", "FOO")
    assert r.status_code == 400
    assert r.json() == {"error": "ERR unknown subcommand 'FOO'. Try CLIENT HELP."}
    assert run(session, server, "CLIENT").json() == {"error": "ERR wrong number of arguments for 'client' command"}
    assert run(session, server, "CLIENT", "LIST", "TYPE", "robots").json() == {"error": "ERR Unknown client type 'robots'"}
    assert run(session, server, "CLIENT", "KILL", "1.2.3.4:5").json() == {"error": "ERR No such client"}
    assert run(session, server, "CLIENT", "KILL", "ID", "0").json() == {"error": "ERR client-id should be greater than 0"}
    assert run(session, server, "CLIENT", "LIST", "bogus").json() == {"error": "ERR syntax error"}
    bad = session.get(server.url + "/v1/clients", params={"type": "robots"}, headers=server.auth, timeout=10)
    assert bad.status_code == 400 and bad.headers["Content-Type"] == "application/problem+json"
    assert session.get(server.url + "/v1/clients", timeout=10).status_code == 401
