#!/usr/bin/env bash
# Session store: one hash per session with its fields, expiring as a whole with EXPIRE.
set -euo pipefail
source "$(dirname "$0")/_lib.sh"
SESSION="$P:session:$(python3 -c 'import uuid; print(uuid.uuid4())')"
trap 'call DEL "$SESSION" >/dev/null' EXIT

echo "1. create the session: HSET then EXPIRE 86400 (24 h), atomically with /multi-exec"
reply=$(curl -sS --max-time 10 "${AUTH[@]}" -X POST "$KEYWAY_URL/multi-exec" -d "[
    [\"HSET\", \"$SESSION\", \"user_id\", \"123\", \"created_at\", \"$(date +%s)\", \"theme\", \"dark\"],
    [\"EXPIRE\", \"$SESSION\", 86400]
]")
expect "$reply" '[{"result":3},{"result":1}]' "HSET and EXPIRE"

echo "2. read it: HGET one field, HGETALL every field"
expect "$(result HGET "$SESSION" user_id)" 123 "user_id"
fields=$(result HGETALL "$SESSION" | python3 -c 'import json, sys; a = json.load(sys.stdin); print(" ".join(sorted(a[0::2])))')
expect "$fields" "created_at theme user_id" "fields"
ttl=$(result TTL "$SESSION")
[ "$ttl" -gt 86000 ] && [ "$ttl" -le 86400 ] || { echo "FAIL: TTL $ttl" >&2; exit 1; }
echo "  ok: expires in $ttl s"

echo "3. on activity, count it and slide the expiry: HINCRBY, EXPIRE"
expect "$(result HINCRBY "$SESSION" requests 1)" 1 "requests"
expect "$(result EXPIRE "$SESSION" 86400)" 1 "expiry renewed"

echo "4. a session that expires disappears whole: PEXPIRE 100, wait, HGETALL"
result PEXPIRE "$SESSION" 100 >/dev/null
sleep 0.3
expect "$(result HGETALL "$SESSION")" '[]' "expired session"
expect "$(result EXISTS "$SESSION")" 0 "session exists"
echo "session: all checks passed"
