"""Upstash's rate limiter (``upstash-ratelimit`` on PyPI) against Keyway.

The limiters run Lua scripts (``#!lua flags=allow-key-locking`` shebang,
INCRBY / PEXPIRE / HMGET / HSET inside) through ``upstash_redis.Redis``'s
EVAL, so this checks scripting end to end with a real published client."""

from __future__ import annotations

import time
import uuid

import pytest
from upstash_ratelimit import FixedWindow, Ratelimit, SlidingWindow, TokenBucket
from upstash_redis import Redis

pytestmark = pytest.mark.usefixtures("flush")


def limiter(redis: Redis, algorithm) -> Ratelimit:
    return Ratelimit(redis=redis, limiter=algorithm, prefix=f"rl-{uuid.uuid4().hex}")


def inside_a_fresh_window(seconds: int = 10, margin: float = 3.0) -> None:
    """Waits, when the current fixed window (which the limiter keys by the
    time divided by its length) ends within `margin` seconds, for the next
    one: a test's requests then all count in one window."""
    left = seconds - time.time() % seconds
    if left < margin:
        time.sleep(left + 0.05)


def check_five_then_refused(ratelimit: Ratelimit) -> None:
    for used in range(1, 6):
        response = ratelimit.limit("user-1")
        assert response.allowed, f"request {used} was refused"
        assert response.limit == 5
        assert response.remaining == 5 - used
    sixth = ratelimit.limit("user-1")
    assert not sixth.allowed
    assert sixth.remaining == 0
    # Another identifier has its own budget.
    assert ratelimit.limit("user-2").allowed


def test_fixed_window(redis):
    inside_a_fresh_window()
    ratelimit = limiter(redis, FixedWindow(max_requests=5, window=10))
    check_five_then_refused(ratelimit)
    assert ratelimit.get_remaining("user-1") == 0
    assert ratelimit.get_remaining("user-3") == 5


def test_sliding_window(redis):
    ratelimit = limiter(redis, SlidingWindow(max_requests=5, window=10))
    check_five_then_refused(ratelimit)
    assert ratelimit.get_remaining("user-3") == 5


def test_token_bucket(redis):
    ratelimit = limiter(redis, TokenBucket(max_tokens=5, refill_rate=5, interval=10))
    check_five_then_refused(ratelimit)
    assert ratelimit.get_remaining("user-1") == 0
    assert ratelimit.get_remaining("user-3") == 5


def test_a_rate_above_one_consumes_that_many(redis):
    inside_a_fresh_window()
    ratelimit = limiter(redis, FixedWindow(max_requests=5, window=10))
    first = ratelimit.limit("bulk", rate=3)
    assert first.allowed and first.remaining == 2
    second = ratelimit.limit("bulk", rate=3)
    assert not second.allowed and second.remaining == 0


def test_the_window_key_expires(redis, server):
    inside_a_fresh_window()
    ratelimit = limiter(redis, FixedWindow(max_requests=5, window=10))
    ratelimit.limit("ttl-user")
    keys = server.command("KEYS", "*ttl-user*").json()["result"]
    assert len(keys) == 1
    pttl = server.command("PTTL", keys[0]).json()["result"]
    assert 0 < pttl <= 10_000
