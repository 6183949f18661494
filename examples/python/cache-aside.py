"""Cache-aside: read through the cache, fill it from the database on a miss with a TTL,
and delete the cached copy when the record changes."""

import json

from _common import check, connect, key_prefix

redis = connect()
P = key_prefix("cache-aside")
DB = {42: {"id": 42, "name": "Alice"}}  # stands in for a real database
db_queries = 0


def get_user(user_id):
    global db_queries
    cached = redis.get(f"{P}:user:{user_id}")
    if cached:
        return json.loads(cached)
    db_queries += 1
    user = DB[user_id]
    redis.setex(f"{P}:user:{user_id}", 3600, json.dumps(user))
    return user


def update_user(user_id, name):
    DB[user_id] = {**DB[user_id], "name": name}
    redis.delete(f"{P}:user:{user_id}")  # invalidate


try:
    print("1. first read misses the cache and queries the database")
    check(get_user(42)["name"], "Alice", "name")
    check(db_queries, 1, "database queries")
    ttl = redis.ttl(f"{P}:user:42")
    check(0 < ttl <= 3600, True, f"cached with a TTL ({ttl} s)")

    print("2. second read is served from the cache")
    check(get_user(42)["name"], "Alice", "name")
    check(db_queries, 1, "database queries")

    print("3. an update invalidates the cache, so the next read sees the new name")
    update_user(42, "Alicia")
    check(get_user(42)["name"], "Alicia", "name")
    check(db_queries, 2, "database queries")
    print("cache-aside: all checks passed")
finally:
    redis.delete(f"{P}:user:42")
