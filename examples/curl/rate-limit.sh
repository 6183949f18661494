#!/usr/bin/env bash
# Sliding-window rate limit: one sorted set per client holding a member per request,
# scored by its time; drop members older than the window, count the rest.
set -euo pipefail
source "$(dirname "$0")/_lib.sh"
KEY="$P:ratelimit:user:123"
trap 'call DEL "$KEY" >/dev/null' EXIT
LIMIT=5
WINDOW_MS=60000

# allow: prints 1 if one more request fits in the window, 0 if the client is over the limit.
allow() {
    local now count
    now=$(python3 -c 'import time; print(int(time.time() * 1000))')
    # One pipeline: ZREMRANGEBYSCORE (forget old), ZADD (this request), ZCARD (count), PEXPIRE (tidy up).
    count=$(curl -sS --max-time 10 "${AUTH[@]}" -X POST "$KEYWAY_URL/pipeline" -d "[
        [\"ZREMRANGEBYSCORE\", \"$KEY\", \"0\", \"$((now - WINDOW_MS))\"],
        [\"ZADD\", \"$KEY\", \"$now\", \"$now-$RANDOM$RANDOM\"],
        [\"ZCARD\", \"$KEY\"],
        [\"PEXPIRE\", \"$KEY\", \"$WINDOW_MS\"]
    ]" | python3 -c 'import json, sys; print(json.load(sys.stdin)[2]["result"])')
    if [ "$count" -le "$LIMIT" ]; then echo 1; else echo 0; fi
}

echo "1. $LIMIT requests within a minute are allowed"
for i in $(seq 1 $LIMIT); do expect "$(allow)" 1 "request $i allowed"; done

echo "2. the next ones are refused"
expect "$(allow)" 0 "request $((LIMIT + 1)) allowed"
expect "$(allow)" 0 "request $((LIMIT + 2)) allowed"

echo "3. requests older than the window stop counting: pretend the first ones were 2 minutes ago"
old=$(( $(python3 -c 'import time; print(int(time.time() * 1000))') - 120000 ))
result DEL "$KEY" >/dev/null
for i in $(seq 1 $LIMIT); do result ZADD "$KEY" "$old" "old-$i" >/dev/null; done
expect "$(allow)" 1 "request after the window slid"
expect "$(result ZCARD "$KEY")" 1 "requests in the window"
echo "rate-limit: all checks passed"
