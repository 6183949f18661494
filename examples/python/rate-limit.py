"""Sliding-window rate limit: one sorted set per client holding a member per request,
scored by its time; drop members older than the window, count the rest."""

import time
import uuid

from _common import check, connect, key_prefix

redis = connect()
P = key_prefix("rate-limit")


def is_rate_limited(user_id, max_requests=5, window_seconds=60):
    key = f"{P}:ratelimit:{user_id}"
    now = time.time()
    pipe = redis.pipeline()
    pipe.zremrangebyscore(key, 0, now - window_seconds)  # forget requests outside the window
    pipe.zadd(key, {f"{now}:{uuid.uuid4().hex[:8]}": now})  # this request (a unique member)
    pipe.zcard(key)  # requests in the window
    pipe.expire(key, window_seconds)  # an idle client's key goes away
    _, _, count, _ = pipe.exec()
    return count > max_requests


try:
    print("1. 5 requests within a minute are allowed")
    for i in range(1, 6):
        check(is_rate_limited("123"), False, f"request {i} limited")

    print("2. the next ones are refused")
    check(is_rate_limited("123"), True, "request 6 limited")
    check(is_rate_limited("123"), True, "request 7 limited")

    print("3. requests older than the window stop counting: pretend the first ones were 2 minutes ago")
    redis.delete(f"{P}:ratelimit:123")
    two_minutes_ago = time.time() - 120
    redis.zadd(f"{P}:ratelimit:123", {f"old-{i}": two_minutes_ago for i in range(5)})
    check(is_rate_limited("123"), False, "request after the window slid")
    check(redis.zcard(f"{P}:ratelimit:123"), 1, "requests in the window")

    print("4. another client has its own window")
    check(is_rate_limited("456"), False, "client 456 limited")
    print("rate-limit: all checks passed")
finally:
    redis.delete(f"{P}:ratelimit:123", f"{P}:ratelimit:456")
