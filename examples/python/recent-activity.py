"""Recent activity: LPUSH each event to the front of a list and LTRIM it so only the newest N stay."""

from _common import check, connect, key_prefix

redis = connect()
FEED = f"{key_prefix('recent-activity')}:user:123:activity"
KEEP = 5


def log_activity(event):
    # One round trip for both commands: a pipeline.
    pipe = redis.pipeline()
    pipe.lpush(FEED, event)
    pipe.ltrim(FEED, 0, KEEP - 1)
    pipe.exec()


try:
    print(f"1. log 8 events, keeping the last {KEEP}: LPUSH then LTRIM 0 {KEEP - 1}")
    for i in range(1, 9):
        log_activity(f"event {i}")
    check(redis.llen(FEED), KEEP, "list length")

    print("2. the newest three: LRANGE 0 2")
    check(redis.lrange(FEED, 0, 2), ["event 8", "event 7", "event 6"], "newest first")

    print("3. the oldest one kept")
    check(redis.lindex(FEED, -1), "event 4", "oldest kept")
    print("recent-activity: all checks passed")
finally:
    redis.delete(FEED)
