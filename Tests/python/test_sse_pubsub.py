"""Pub/sub delivered as Server-Sent Events, read with a real SSE client
(``httpx-sse``): channel and pattern subscriptions, keyspace notifications
for expiry, binary payloads, the Upstash path form, a subscriber that
disconnects, the stream limit, and the query token browsers need.
"""

from __future__ import annotations

import base64
import json
import queue
import socket
import threading
import time

import httpx
import pytest
from httpx_sse import connect_sse

from conftest import start_server

pytestmark = pytest.mark.usefixtures("flush")


class Subscriber:
    """Reads an SSE stream on a thread and hands events to the test."""

    def __init__(self, url: str, headers: dict | None = None, ready_on: str | None = "subscribe"):
        # ready_on: the first event that says the subscription is live; None
        # means the response headers are enough (stream tails).
        self._ready_on = ready_on
        self.events: queue.Queue = queue.Queue()
        self.status: int | None = None
        self.ready = threading.Event()
        self._client = httpx.Client(timeout=httpx.Timeout(10.0, read=30.0))
        self._thread = threading.Thread(target=self._run, args=(url, headers or {}), daemon=True)
        self._thread.start()
        assert self.ready.wait(10), "the stream did not open"

    def _run(self, url: str, headers: dict) -> None:
        try:
            with connect_sse(self._client, "GET", url, headers=headers) as source:
                self.status = source.response.status_code
                self._socket = source.response.extensions["network_stream"].get_extra_info("socket")
                if self.status != 200:
                    self.ready.set()
                    return
                if self._ready_on is None:
                    self.ready.set()
                for event in source.iter_sse():
                    if event.event == self._ready_on or event.data.startswith(("subscribe,", "psubscribe,")):
                        self.ready.set()
                    self.events.put(event)
        except Exception as exc:  # the test closed the client
            self.events.put(exc)
        finally:
            self.ready.set()

    def next(self, kind: str = "message", timeout: float = 5.0):
        deadline = time.monotonic() + timeout
        while True:
            event = self.events.get(timeout=max(0.01, deadline - time.monotonic()))
            if isinstance(event, Exception):
                raise event
            if event.event == kind:
                return event

    def close(self) -> None:
        # Hang up the TCP connection the way a closed browser tab does.
        sock = getattr(self, "_socket", None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(timeout=5)
        self._client.close()


def test_channel_and_pattern_messages(server):
    sub = Subscriber(f"{server.url}/v1/subscribe?channel=news&pattern=news.*", server.auth)
    try:
        assert server.command("PUBLISH", "news", "hello").json() == {"result": 1}
        first = json.loads(sub.next().data)
        assert first == {"channel": "news", "pattern": None, "message": "hello", "encoding": "utf-8"}
        r = httpx.post(f"{server.url}/v1/channels/news.sport/messages", json={"message": "goal"}, headers=server.auth)
        assert r.status_code == 200 and r.json() == {"channel": "news.sport", "receivers": 1}
        second = json.loads(sub.next().data)
        assert second["channel"] == "news.sport" and second["pattern"] == "news.*" and second["message"] == "goal"
        assert server.command("PUBSUB", "NUMSUB", "news").json() == {"result": ["news", 1]}
        assert server.command("PUBSUB", "NUMPAT").json() == {"result": 1}
    finally:
        sub.close()


def test_keyspace_event_when_a_key_expires(server):
    server.command("CONFIG", "SET", "notify-keyspace-events", "Ex")
    try:
        sub = Subscriber(f"{server.url}/v1/subscribe?channel=__keyevent@0__:expired", server.auth)
        try:
            server.command("SET", "session:1", "data", "PX", "150")
            event = json.loads(sub.next(timeout=5).data)
            assert event["channel"] == "__keyevent@0__:expired"
            assert event["message"] == "session:1"
        finally:
            sub.close()
    finally:
        server.command("CONFIG", "SET", "notify-keyspace-events", "")


def test_binary_payload_as_base64(server):
    sub = Subscriber(f"{server.url}/v1/subscribe?channel=bin&encoding=base64", server.auth)
    try:
        payload = b"\x00\xffraw"
        r = httpx.post(
            f"{server.url}/v1/channels/bin/messages",
            content=payload,
            headers={**server.auth, "Content-Type": "application/octet-stream"},
        )
        assert r.json()["receivers"] == 1
        event = json.loads(sub.next().data)
        assert event["encoding"] == "base64"
        assert base64.b64decode(event["message"]) == payload
    finally:
        sub.close()


def test_upstash_path_form(server):
    sub = Subscriber(f"{server.url}/subscribe/chat", server.auth)
    try:
        server.command("PUBLISH", "chat", "hi there")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            event = sub.events.get(timeout=5)
            if event.data.startswith("message,"):
                assert event.data == "message,chat,hi there"
                break
        else:
            pytest.fail("no message event")
    finally:
        sub.close()


def test_a_subscriber_that_leaves_is_removed_at_once(server):
    sub = Subscriber(f"{server.url}/v1/subscribe?channel=leaving", server.auth)
    assert server.command("PUBSUB", "NUMSUB", "leaving").json() == {"result": ["leaving", 1]}
    sub.close()
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        if server.command("PUBSUB", "NUMSUB", "leaving").json() == {"result": ["leaving", 0]}:
            break
        time.sleep(0.05)
    assert server.command("PUBSUB", "NUMSUB", "leaving").json() == {"result": ["leaving", 0]}
    assert server.command("PUBLISH", "leaving", "x").json() == {"result": 0}


def test_query_token_for_browsers_and_401_without(server):
    r = httpx.get(f"{server.url}/v1/subscribe?channel=x", timeout=5)
    assert r.status_code == 401
    assert r.json()["code"] == "UNAUTHORIZED"
    sub = Subscriber(f"{server.url}/v1/subscribe?channel=tokened&_token={server.token}")
    try:
        assert sub.status == 200
        server.command("PUBLISH", "tokened", "ok")
        assert json.loads(sub.next().data)["message"] == "ok"
    finally:
        sub.close()


def test_missing_channel_is_a_bad_request(server):
    r = httpx.get(f"{server.url}/v1/subscribe", headers=server.auth, timeout=5)
    assert r.status_code == 400
    assert r.json()["code"] == "BAD_REQUEST"


def test_stream_limit_answers_503():
    limited = start_server("--max-streams", "1")
    try:
        first = Subscriber(f"{limited.url}/v1/subscribe?channel=a", limited.auth)
        try:
            r = httpx.get(f"{limited.url}/v1/subscribe?channel=b", headers=limited.auth, timeout=5)
            assert r.status_code == 503
            assert r.json()["code"] == "TOO_MANY_STREAMS"
        finally:
            first.close()
        # The slot is given back when the first subscriber leaves.
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            again = Subscriber(f"{limited.url}/v1/subscribe?channel=c", limited.auth)
            ok = again.status == 200
            again.close()
            if ok:
                break
            time.sleep(0.1)
        assert ok
    finally:
        limited.cleanup()
