#!/usr/bin/env bash
# Leaderboard: a sorted set of player -> score; top N, ranks and score ranges come out in O(log n).
set -euo pipefail
source "$(dirname "$0")/_lib.sh"
BOARD="$P:leaderboard"
trap 'call DEL "$BOARD" >/dev/null' EXIT

echo "1. record scores: ZADD"
expect "$(result ZADD "$BOARD" 1500 player1 2300 player2 1800 player3)" 3 "players added"

echo "2. player1 scores 400 more: ZINCRBY"
expect "$(result ZINCRBY "$BOARD" 400 player1)" 1900 "player1's score"

echo "3. the top 10, best first: ZREVRANGE 0 9 WITHSCORES"
expect "$(result ZREVRANGE "$BOARD" 0 9 WITHSCORES)" '["player2","2300","player1","1900","player3","1800"]' "top 10"

echo "4. ranks: ZREVRANK (0 = best) and ZRANK (0 = lowest)"
expect "$(result ZREVRANK "$BOARD" player1)" 1 "player1 from the top"
expect "$(result ZRANK "$BOARD" player1)" 1 "player1 from the bottom"
expect "$(result ZRANK "$BOARD" nobody)" null "rank of an unknown player"

echo "5. everyone scoring 1000..2000: ZRANGEBYSCORE"
expect "$(result ZRANGEBYSCORE "$BOARD" 1000 2000)" '["player3","player1"]' "players in range"

echo "6. the same board through the resource API: GET /v1/leaderboards/{key}?order=desc&limit=2"
top=$(curl -sS --max-time 10 "${AUTH[@]}" "$KEYWAY_URL/v1/leaderboards/$BOARD?order=desc&limit=2")
echo "  $top"
expect "$(python3 -c 'import json, sys; print(" ".join(e["member"] for e in json.loads(sys.argv[1])["entries"]))' "$top")" \
    "player2 player1" "top 2"
echo "leaderboard: all checks passed"
