"""Distributed lock: acquire with SET key token NX PX ttl, release with a Lua script that
deletes the key only if it still holds our token (so we never free someone else's lock).
The release runs the Redis documentation's compare-and-delete script with EVAL."""

import uuid
from contextlib import contextmanager

from _common import check, connect, key_prefix

redis = connect()
P = key_prefix("lock")

RELEASE = """
if redis.call("get", KEYS[1]) == ARGV[1] then
    return redis.call("del", KEYS[1])
end
return 0
"""


class LockError(Exception):
    pass


@contextmanager
def distributed_lock(name, ttl_ms=30000):
    key, token = f"{P}:lock:{name}", str(uuid.uuid4())
    if not redis.set(key, token, nx=True, px=ttl_ms):
        raise LockError(f"could not acquire lock {name}")
    try:
        yield token
    finally:
        if redis.eval(RELEASE, keys=[key], args=[token]) != 1:
            print(f"  warning: lock {name} had expired or changed hands before release")


try:
    print("1. worker-1 takes the lock; worker-2 can't while it is held")
    with distributed_lock("order:789") as token:
        check(redis.get(f"{P}:lock:order:789"), token, "lock holder")
        check(0 < redis.pttl(f"{P}:lock:order:789") <= 30000, True, "lock expires by itself")
        try:
            with distributed_lock("order:789"):
                check("acquired", "refused", "second acquire")
        except LockError as error:
            check(str(error), "could not acquire lock order:789", "second acquire")

        print("2. a release with someone else's token deletes nothing")
        check(redis.eval(RELEASE, keys=[f"{P}:lock:order:789"], args=["not-my-token"]), 0, "EVAL result")
        check(redis.exists(f"{P}:lock:order:789"), 1, "lock still held")

    print("3. leaving the block released it; the next worker gets it")
    check(redis.exists(f"{P}:lock:order:789"), 0, "lock key exists")
    with distributed_lock("order:789"):
        print("  ok: worker-2 holds the lock")
    print("lock: all checks passed")
finally:
    redis.delete(f"{P}:lock:order:789")
