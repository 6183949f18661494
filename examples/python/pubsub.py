"""Pub/sub notifications: a subscriber holds GET /v1/subscribe?channel=... open as Server-Sent Events;
a publisher sends with PUBLISH and every subscriber receives the message.

The Upstash SDK publishes; subscribing is a plain SSE client (httpx-sse)."""

import json
import queue
import threading

import httpx
from httpx_sse import connect_sse

from _common import TOKEN, URL, check, connect, key_prefix

redis = connect()
CHANNEL = f"{key_prefix('pubsub')}:notifications:user:123"
events = queue.Queue()


def subscribe():
    headers = {"Authorization": f"Bearer {TOKEN}"} if TOKEN else {}
    with httpx.Client(timeout=httpx.Timeout(10.0)) as client:
        with connect_sse(client, "GET", f"{URL}/v1/subscribe", params={"channel": CHANNEL}, headers=headers) as source:
            for sse in source.iter_sse():
                events.put((sse.event, json.loads(sse.data)))
                if sse.event == "message":
                    return  # one notification is all this example waits for


print("1. subscribe in a background thread")
subscriber = threading.Thread(target=subscribe, daemon=True)
subscriber.start()
kind, data = events.get(timeout=10)  # the server's greeting: the subscription is in place
check(kind, "subscribe", "first event")
check(data["channels"], [CHANNEL], "subscribed channels")

print("2. publish a notification: PUBLISH answers how many subscribers got it")
receivers = redis.publish(CHANNEL, json.dumps({"type": "order_shipped", "orderId": "456"}))
check(receivers, 1, "receivers")

print("3. the subscriber receives it as a 'message' event")
kind, data = events.get(timeout=10)
check(kind, "message", "event")
check(json.loads(data["message"]), {"type": "order_shipped", "orderId": "456"}, "notification")
subscriber.join(timeout=10)
print("pubsub: all checks passed")  # nothing to clean up: channels hold no data
