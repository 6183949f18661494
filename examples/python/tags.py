"""Tags: one set per post, then set algebra for "posts with all / any / only some tags"."""

from _common import check, connect, key_prefix

redis = connect()
P = key_prefix("tags")
POST1, POST2 = f"{P}:post:1:tags", f"{P}:post:2:tags"

try:
    print("1. tag two posts: SADD")
    check(redis.sadd(POST1, "rust", "backend", "axum"), 3, "tags added to post 1")
    check(redis.sadd(POST2, "rust", "frontend", "rust"), 2, "tags added to post 2 (duplicates count once)")

    print("2. membership: SISMEMBER")
    check(redis.sismember(POST1, "rust"), 1, "post 1 tagged rust")
    check(redis.sismember(POST1, "frontend"), 0, "post 1 tagged frontend")

    print("3. set algebra (sets have no order, so compare as Python sets)")
    check(set(redis.sinter(POST1, POST2)), {"rust"}, "SINTER (tags on both)")
    check(set(redis.sunion(POST1, POST2)), {"rust", "backend", "axum", "frontend"}, "SUNION (tags on either)")
    check(set(redis.sdiff(POST1, POST2)), {"backend", "axum"}, "SDIFF (only on post 1)")

    print("4. store a result for later: SINTERSTORE")
    check(redis.sinterstore(f"{P}:common", POST1, POST2), 1, "members stored")
    check(redis.smembers(f"{P}:common"), ["rust"], "SMEMBERS")
    print("tags: all checks passed")
finally:
    redis.delete(POST1, POST2, f"{P}:common")
