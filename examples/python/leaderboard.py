"""Leaderboard: a sorted set of player -> score; top N, ranks and score ranges come out in O(log n)."""

from _common import check, connect, key_prefix

redis = connect()
BOARD = f"{key_prefix('leaderboard')}:leaderboard"

try:
    print("1. record scores: ZADD")
    check(redis.zadd(BOARD, {"player1": 1500, "player2": 2300, "player3": 1800}), 3, "players added")

    print("2. player1 scores 400 more: ZINCRBY")
    check(redis.zincrby(BOARD, 400, "player1"), 1900.0, "player1's score")

    print("3. the top 10, best first: ZREVRANGE 0 9 WITHSCORES")
    top = redis.zrevrange(BOARD, 0, 9, withscores=True)
    check(top, [("player2", 2300.0), ("player1", 1900.0), ("player3", 1800.0)], "top 10")

    print("4. ranks: ZREVRANK (0 = best) and ZRANK (0 = lowest)")
    check(redis.zrevrank(BOARD, "player1"), 1, "player1 from the top")
    check(redis.zrank(BOARD, "player1"), 1, "player1 from the bottom")
    check(redis.zrank(BOARD, "nobody"), None, "rank of an unknown player")

    print("5. everyone scoring 1000..2000: ZRANGEBYSCORE")
    check(redis.zrangebyscore(BOARD, 1000, 2000), ["player3", "player1"], "players in range")
    print("leaderboard: all checks passed")
finally:
    redis.delete(BOARD)
