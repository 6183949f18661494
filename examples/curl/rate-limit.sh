#!/usr/bin/env bash
# Sliding-window rate limit: one sorted set per client holding a member per request,
# scored by its time; drop members older than the window, count the rest.
set -euo pipefail
source "$(dirname "$0")/_lib.sh"
KEY="$P:ratelimit:user:123"
trap 'call DEL "$KEY" >/dev/null' EXIT
LIMIT=5 WINDOW_MS=60000

# allow: prints "allowed" if one more request fits in the window, "limited" if not.
allow() {
    local now reply
    now=$(date +%s%3N)   # milliseconds
    # One pipeline: forget requests older than the window, add this one, count, let an idle key expire.
    reply=$(curl -sS --max-time 10 "${AUTH[@]}" -X POST "$KEYWAY_URL/pipeline" -d "[
        $(json_args ZREMRANGEBYSCORE "$KEY" 0 $((now - WINDOW_MS))),
        $(json_args ZADD "$KEY" "$now" "$now-$RANDOM$RANDOM"),
        $(json_args ZCARD "$KEY"),
        $(json_args PEXPIRE "$KEY" $WINDOW_MS)
    ]")
    # One result per command: [{"result":0},{"result":1},{"result":N},{"result":1}]; N is ZCARD's.
    local count
    count=$(echo "$reply" | grep -o '"result":[0-9]*' | sed -n 3p | cut -d: -f2)
    if [ "$count" -le "$LIMIT" ]; then echo allowed; else echo limited; fi
}

echo "1. $LIMIT requests within a minute are allowed"
for i in $(seq 1 $LIMIT); do expect "$(allow)" allowed "request $i"; done

echo "2. the next ones are refused"
expect "$(allow)" limited "request $((LIMIT + 1))"
expect "$(allow)" limited "request $((LIMIT + 2))"

echo "3. requests older than the window stop counting: pretend the first ones were 2 minutes ago"
call DEL "$KEY" >/dev/null
old=$(( $(date +%s%3N) - 120000 ))
call ZADD "$KEY" "$old" old-1 "$old" old-2 "$old" old-3 "$old" old-4 "$old" old-5 >/dev/null
expect "$(allow)" allowed "request after the window slid"
expect "$(call ZCARD "$KEY")" '{"result":1}' "requests in the window"
echo "rate-limit: all checks passed"
