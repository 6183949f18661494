#!/usr/bin/env bash
# Session store: one hash per session with its fields, expiring as a whole with EXPIRE.
set -euo pipefail
source "$(dirname "$0")/_lib.sh"
SESSION="$P:session:$(cat /proc/sys/kernel/random/uuid 2>/dev/null || echo "$RANDOM$RANDOM")"
trap 'call DEL "$SESSION" >/dev/null' EXIT

echo "1. create the session: HSET + EXPIRE 86400 (24 h), atomically with POST /multi-exec"
reply=$(curl -sS --max-time 10 "${AUTH[@]}" -X POST "$KEYWAY_URL/multi-exec" -d "[
    $(json_args HSET "$SESSION" user_id 123 theme dark created_at "$(date +%s)"),
    $(json_args EXPIRE "$SESSION" 86400)
]")
expect "$reply" '[{"result":3},{"result":1}]' "HSET and EXPIRE"

echo "2. read it: HGET one field, HMGET several, HGETALL every field as [field, value, ...]"
expect "$(call HGET "$SESSION" user_id)" '{"result":"123"}' "HGET user_id"
expect "$(call HMGET "$SESSION" user_id theme)" '{"result":["123","dark"]}' "HMGET user_id theme"
echo "  HGETALL: $(call HGETALL "$SESSION")"
expect "$(call HLEN "$SESSION")" '{"result":3}' "HLEN"
in_range "$(result TTL "$SESSION")" 86000 86400 "seconds until it expires"

echo "3. on activity, count it and slide the expiry: HINCRBY, EXPIRE"
expect "$(call HINCRBY "$SESSION" requests 1)" '{"result":1}' "HINCRBY requests"
expect "$(call EXPIRE "$SESSION" 86400)" '{"result":1}' "EXPIRE"

echo "4. a session that expires disappears whole: PEXPIRE 100, wait, HGETALL"
call PEXPIRE "$SESSION" 100 >/dev/null
sleep 0.3
expect "$(call HGETALL "$SESSION")" '{"result":[]}' "HGETALL of the expired session"
expect "$(call EXISTS "$SESSION")" '{"result":0}' "EXISTS"
echo "session: all checks passed"
