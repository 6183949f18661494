"""Slow log over HTTP, per-command INFO statistics as JSON, readiness."""

from __future__ import annotations

import requests

from conftest import start_server


def test_slowlog_commandstats_and_readyz():
    server = start_server("--save", "")
    try:
        post = lambda *words: requests.post(server.url + "/", json=list(words), headers=server.auth, timeout=5).json()
        assert post("CONFIG", "SET", "slowlog-log-slower-than", "0") == {"result": "OK"}
        assert requests.delete(server.url + "/v1/slowlog", headers=server.auth, timeout=5).status_code == 204
        post("SET", "user:1", "Alice")
        r = requests.get(server.url + "/v1/slowlog?count=-1", headers=server.auth, timeout=5)
        assert r.status_code == 200
        body = r.json()
        commands = [entry["command"] for entry in body["entries"]]
        assert ["SET", "user:1", "Alice"] in commands
        assert all(entry["durationMicros"] >= 0 and entry["time"] > 0 for entry in body["entries"])
        assert body["length"] >= len(body["entries"])  # the GET itself may be logged by then
        info = requests.get(server.url + "/v1/info?section=commandstats&section=errorstats", headers=server.auth, timeout=5).json()
        assert info["commandstats"]["cmdstat_set"]["calls"] == 1
        assert "usec_per_call" in info["commandstats"]["cmdstat_set"]
        assert requests.get(server.url + "/readyz", timeout=5).json() == {"status": "ready"}
        assert requests.get(server.url + "/v1/slowlog?count=x", headers=server.auth, timeout=5).status_code == 400
    finally:
        server.cleanup()


def test_slowlog_names_the_client_that_sent_each_command():
    """As in Redis, each SLOWLOG entry ends with the sender's ip:port and
    its CLIENT SETNAME name, on the command API and on /v1/slowlog."""
    server = start_server("--save", "")
    try:
        worker = requests.Session()
        worker.headers.update(server.auth)
        post = lambda *words: worker.post(server.url + "/", json=list(words), timeout=5).json()
        assert post("CONFIG", "SET", "slowlog-log-slower-than", "0") == {"result": "OK"}
        assert post("CLIENT", "SETNAME", "worker-7") == {"result": "OK"}
        address = next(line.split("addr=")[1].split()[0] for line in post("CLIENT", "LIST")["result"].splitlines()
                       if "name=worker-7" in line)
        assert post("SLOWLOG", "RESET") == {"result": "OK"}
        post("SET", "job:1", "queued")
        entries = post("SLOWLOG", "GET", "-1")["result"]
        set_entry = next(entry for entry in entries if entry[3] == ["SET", "job:1", "queued"])
        assert len(set_entry) == 6
        assert set_entry[4] == address and address.startswith("127.0.0.1:")
        assert set_entry[5] == "worker-7"
        # Another connection without a name: its address, an empty name.
        requests.post(server.url + "/", json=["SET", "job:2", "queued"], headers=server.auth, timeout=5)
        body = worker.get(server.url + "/v1/slowlog?count=-1", timeout=5).json()
        by_command = {tuple(entry["command"]): entry for entry in body["entries"]}
        assert by_command[("SET", "job:1", "queued")]["client"] == address
        assert by_command[("SET", "job:1", "queued")]["clientName"] == "worker-7"
        other = by_command[("SET", "job:2", "queued")]
        assert other["client"].startswith("127.0.0.1:") and other["client"] != address
        assert other["clientName"] == ""
        worker.close()
    finally:
        server.cleanup()


def test_monitor_streams_every_command_with_its_client(server):
    from test_sse_pubsub import Subscriber
    import json

    watcher = Subscriber(f"{server.url}/v1/monitor", server.auth, ready_on="monitor")
    try:
        requests.post(server.url + "/", json=["SET", "watched", "1"], headers=server.auth, timeout=5)
        requests.get(server.url + "/v1/keys/watched", headers=server.auth, timeout=5)
        first = json.loads(watcher.next("command").data)
        assert first["command"] == ["SET", "watched", "1"]
        assert first["client"] == "127.0.0.1"
        assert float(first["time"]) > 1.7e9
        second = json.loads(watcher.next("command").data)
        assert second["command"][0] in ("GET", "PTTL")
    finally:
        watcher.close()


def test_metrics_parse_as_prometheus_text(server):
    from prometheus_client.parser import text_string_to_metric_families

    requests.post(server.url + "/", json=["SET", "m", "1"], headers=server.auth, timeout=5)
    requests.post(server.url + "/", json=["INCR", "m"], headers=server.auth, timeout=5)
    requests.post(server.url + "/", json=["RPUSH", "m", "x"], headers=server.auth, timeout=5)  # WRONGTYPE
    requests.get(server.url + "/v1/nothing-here", headers=server.auth, timeout=5)
    r = requests.get(server.url + "/metrics", headers=server.auth, timeout=5)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    families = {family.name: family for family in text_string_to_metric_families(r.text)}

    def value(family, **labels):
        for sample in families[family].samples:
            if all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
        return None

    assert value("keyway_commands", command="incr") >= 1
    assert value("keyway_command_failures", command="rpush") >= 1
    assert value("keyway_errors", prefix="WRONGTYPE") >= 1
    assert value("keyway_http_responses", method="POST", route="/", status="2xx") >= 2
    assert value("keyway_http_responses", method="POST", route="/", status="4xx") >= 1
    assert value("keyway_http_responses", route="unmatched", status="4xx") >= 1
    assert value("keyway_keys") >= 1
    assert value("keyway_resident_memory_bytes") > 1_000_000
    assert value("keyway_connections") >= 1
    assert families["keyway_keys"].type == "gauge"
    assert requests.get(server.url + "/metrics", timeout=5).status_code == 401
