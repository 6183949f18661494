#!/usr/bin/env bash
# Leaderboard: a sorted set of player -> score; top N, ranks and score ranges come out in O(log n).
set -euo pipefail
source "$(dirname "$0")/_lib.sh"
BOARD="$P:leaderboard"
trap 'call DEL "$BOARD" >/dev/null' EXIT

echo "1. record scores: ZADD"
expect "$(call ZADD "$BOARD" 1500 player1 2300 player2 1800 player3)" '{"result":3}' "ZADD"

echo "2. player1 scores 400 more: ZINCRBY"
expect "$(call ZINCRBY "$BOARD" 400 player1)" '{"result":"1900"}' "ZINCRBY"

echo "3. the top 10, best first: ZREVRANGE 0 9 WITHSCORES"
expect "$(call ZREVRANGE "$BOARD" 0 9 WITHSCORES)" \
    '{"result":["player2","2300","player1","1900","player3","1800"]}' "ZREVRANGE"

echo "4. ranks: ZREVRANK (0 = best) and ZRANK (0 = lowest)"
expect "$(call ZREVRANK "$BOARD" player1)" '{"result":1}' "ZREVRANK player1"
expect "$(call ZRANK "$BOARD" player3)" '{"result":0}' "ZRANK player3"
expect "$(call ZRANK "$BOARD" nobody)" '{"result":null}' "ZRANK of an unknown player"

echo "5. everyone scoring 1000..2000: ZRANGEBYSCORE"
expect "$(call ZRANGEBYSCORE "$BOARD" 1000 2000)" '{"result":["player3","player1"]}' "ZRANGEBYSCORE"

echo "6. the same board through the resource API: GET /v1/leaderboards/{key}?order=desc&limit=2"
expect "$(curl -sS --max-time 10 "${AUTH[@]}" "$KEYWAY_URL/v1/leaderboards/$BOARD?order=desc&limit=2")" \
    "{\"key\":\"$BOARD\",\"total\":3,\"entries\":[{\"member\":\"player2\",\"score\":2300,\"rank\":0},{\"member\":\"player1\",\"score\":1900,\"rank\":1}]}" \
    "top 2"
echo "leaderboard: all checks passed"
