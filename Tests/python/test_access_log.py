"""The access log (``access-log``): one JSON line per answered request, with
the route pattern rather than the path, the authenticated user, and never a
token, header, query string or body."""

from __future__ import annotations

import json
import os
import re
import signal
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

from conftest import TOKEN, start_server

FIELDS = ["time", "client", "connection", "user", "method", "route", "status", "bytes", "duration_ms"]
TIME_FORMAT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def read_lines(path: Path, count: int, timeout: float = 5.0) -> list[dict]:
    """The log's lines as objects, once there are at least ``count`` (the
    writer is asynchronous), leaving out the fixture's start-up probes."""
    deadline = time.monotonic() + timeout
    while True:
        text = path.read_text() if path.exists() else ""
        lines = [json.loads(line) for line in text.splitlines()]
        lines = [entry for entry in lines if entry["route"] not in ("/healthz", "/readyz")]
        if len(lines) >= count or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert text.endswith("\n") or not text
    return lines


def check_shape(entry: dict) -> None:
    assert list(entry) == FIELDS
    assert TIME_FORMAT.match(entry["time"]), entry["time"]
    logged = datetime.strptime(entry["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    assert abs(datetime.now(timezone.utc) - logged) < timedelta(minutes=5)
    assert re.match(r"^127\.0\.0\.1:\d+$", entry["client"]), entry["client"]
    assert isinstance(entry["connection"], int) and entry["connection"] > 0
    assert isinstance(entry["duration_ms"], float) and entry["duration_ms"] >= 0
    assert isinstance(entry["status"], int) and isinstance(entry["bytes"], int)


def test_requests_are_logged_as_json_lines_without_secrets(tmp_path):
    path = tmp_path / "access.log"
    wrong_token = "wrong-header-secret-5f1c"
    wrong_query_token = "wrong-query-secret-9ad2"
    server = start_server("--access-log", str(path))
    try:
        key = "user/1 é%"
        encoded = quote(key, safe="")
        session = requests.Session()
        session.headers.update(server.auth)
        client_id_response = session.post(server.url + "/", json=["CLIENT", "ID"], timeout=5)
        connection_id = client_id_response.json()["result"]

        put = session.put(f"{server.url}/v1/keys/{encoded}", json={"value": "Ada"}, timeout=5)
        assert put.status_code in (200, 201, 204)
        get = session.get(f"{server.url}/v1/keys/{encoded}", timeout=5)
        assert get.status_code == 200 and get.json()["value"] == "Ada"
        command = session.post(server.url + "/", json=["GET", key], timeout=5)
        assert command.json() == {"result": "Ada"}
        refused = requests.get(f"{server.url}/v1/keys/{encoded}", headers={"Authorization": f"Bearer {wrong_token}"}, timeout=5)
        assert refused.status_code == 401
        by_query = requests.get(f"{server.url}/get/{encoded}?_token={TOKEN}", timeout=5)
        assert by_query.json() == {"result": "Ada"}
        refused_query = requests.get(f"{server.url}/get/{encoded}?_token={wrong_query_token}", timeout=5)
        assert refused_query.status_code == 401
        missing = session.get(server.url + "/v1/nothing-here?x=1", timeout=5)
        assert missing.status_code == 404

        lines = read_lines(path, 8)
        assert len(lines) == 8, lines
        for entry in lines:
            check_shape(entry)
        client_id, put_line, get_line, command_line, refused_line, query_line, refused_query_line, missing_line = lines

        assert (client_id["method"], client_id["route"], client_id["status"], client_id["user"]) == ("POST", "/", 200, "default")
        assert client_id["connection"] == connection_id
        assert client_id["bytes"] == len(client_id_response.content)

        assert (put_line["method"], put_line["route"], put_line["status"], put_line["user"]) == ("PUT", "/v1/keys/{key}", put.status_code, "default")
        assert (get_line["method"], get_line["route"], get_line["status"], get_line["user"]) == ("GET", "/v1/keys/{key}", 200, "default")
        assert get_line["bytes"] == len(get.content)
        assert (command_line["method"], command_line["route"], command_line["user"]) == ("POST", "/", "default")
        assert command_line["bytes"] == len(command.content)
        # One keep-alive connection: the CLIENT ID it reported.
        assert {put_line["connection"], get_line["connection"], command_line["connection"], missing_line["connection"]} == {connection_id}

        assert (refused_line["route"], refused_line["status"], refused_line["user"]) == ("/v1/keys/{key}", 401, None)
        assert refused_line["bytes"] == len(refused.content)
        assert (query_line["method"], query_line["route"], query_line["status"], query_line["user"]) == ("GET", "/{command}/{args}", 200, "default")
        assert (refused_query_line["status"], refused_query_line["user"]) == (401, None)
        # No route: the path, without its query string; not authenticated.
        assert (missing_line["route"], missing_line["status"], missing_line["user"]) == ("/v1/nothing-here", 404, None)

        text = path.read_text()
        for secret in (TOKEN, wrong_token, wrong_query_token, "_token", "Bearer", "Ada"):
            assert secret not in text, secret
        # Keys travel in paths: patterns keep them out of the log.
        assert encoded not in text and "user/1" not in text and "user%2F1" not in text
    finally:
        server.cleanup()


def test_streams_and_blocking_commands_are_logged_when_answered(tmp_path):
    path = tmp_path / "access.log"
    server = start_server("--access-log", str(path))
    try:
        # A blocking command that times out is logged when it is answered,
        # its duration including the wait.
        blocked = server.command("BLPOP", "nothing-to-pop", "0.3")
        assert blocked.json() == {"result": None}
        (parked,) = read_lines(path, 1)
        check_shape(parked)
        assert (parked["route"], parked["status"], parked["user"]) == ("/", 200, "default")
        assert parked["duration_ms"] >= 250

        # An event stream is logged when it starts: 200, no body bytes yet.
        with requests.get(f"{server.url}/v1/subscribe?channel=news&_token={TOKEN}", stream=True, timeout=10) as stream:
            assert stream.status_code == 200
            lines = read_lines(path, 2)[1:]
            assert len(lines) == 1
            check_shape(lines[0])
            assert (lines[0]["method"], lines[0]["route"], lines[0]["status"], lines[0]["bytes"], lines[0]["user"]) == (
                "GET", "/v1/subscribe", 200, 0, "default"
            )
        assert TOKEN not in path.read_text()
    finally:
        server.cleanup()


def test_sighup_reopens_the_file_after_a_rotation(tmp_path):
    path = tmp_path / "access.log"
    server = start_server("--access-log", str(path))
    try:
        rotated = tmp_path / "access.log.1"
        os.rename(path, rotated)
        server.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 5
        while not path.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert path.exists(), server.log_tail()
        assert requests.get(server.url + "/v1/keys/after-rotation", headers=server.auth, timeout=5).status_code == 404
        (entry,) = read_lines(path, 1)
        assert (entry["route"], entry["status"], entry["user"]) == ("/v1/keys/{key}", 404, "default")
        assert "after-rotation" not in rotated.read_text()
    finally:
        server.cleanup()


def test_stdout_destination_writes_lines_to_standard_output():
    server = start_server("--access-log", "stdout")
    try:
        assert requests.get(server.url + "/v1/keys/on-stdout?x=1", headers=server.auth, timeout=5).status_code == 404
        deadline = time.monotonic() + 5
        found: list[dict] = []
        while not found and time.monotonic() < deadline:
            for line in server.log_path.read_text(errors="replace").splitlines():
                if line.startswith("{") and '"route":"/v1/keys/{key}"' in line:
                    found.append(json.loads(line))
            time.sleep(0.02)
        assert found, server.log_tail()
        check_shape(found[0])
        assert (found[0]["method"], found[0]["status"], found[0]["user"]) == ("GET", 404, "default")
        assert TOKEN not in server.log_path.read_text(errors="replace")
    finally:
        server.cleanup()


def test_access_log_is_off_by_default_and_a_bad_path_stops_the_start(tmp_path):
    server = start_server()
    try:
        requests.get(server.url + "/v1/keys/quiet", headers=server.auth, timeout=5)
        time.sleep(0.2)
        assert '"route":' not in server.log_path.read_text(errors="replace")
    finally:
        server.cleanup()
    with pytest.raises(RuntimeError, match="cannot open the access log"):
        start_server("--access-log", str(tmp_path / "no-such-dir" / "access.log"))
