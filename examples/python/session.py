"""Session store: one hash per session with its fields, expiring as a whole with EXPIRE."""

import time
import uuid

from _common import check, connect, key_prefix

redis = connect()
P = key_prefix("session")


def create_session(user_id, data, ttl=86400):
    session_id = str(uuid.uuid4())
    # MULTI/EXEC (POST /multi-exec): the hash and its expiry are set together or not at all.
    tx = redis.multi()
    tx.hset(f"{P}:session:{session_id}", values={"user_id": user_id, "created_at": int(time.time()), **data})
    tx.expire(f"{P}:session:{session_id}", ttl)
    tx.exec()
    return session_id


def get_session(session_id):
    return redis.hgetall(f"{P}:session:{session_id}")


sid = None
try:
    print("1. create a session: HSET + EXPIRE 86400 (24 h) in one transaction")
    sid = create_session("123", {"theme": "dark"})
    key = f"{P}:session:{sid}"

    print("2. read it back: HGETALL, HGET")
    check(sorted(get_session(sid)), ["created_at", "theme", "user_id"], "fields")
    check(redis.hget(key, "user_id"), "123", "user_id")
    check(86000 < redis.ttl(key) <= 86400, True, "expires in about 24 h")

    print("3. on activity, count it and slide the expiry: HINCRBY, EXPIRE")
    check(redis.hincrby(key, "requests", 1), 1, "requests")
    check(redis.expire(key, 86400), True, "expiry renewed")

    print("4. a session that expires disappears whole: PEXPIRE 100, wait, HGETALL")
    redis.pexpire(key, 100)
    time.sleep(0.3)
    check(get_session(sid), {}, "expired session")
    print("session: all checks passed")
finally:
    if sid:
        redis.delete(f"{P}:session:{sid}")
