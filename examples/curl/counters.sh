#!/usr/bin/env bash
# Atomic counters: INCR, INCRBY, DECR, INCRBYFLOAT, plus the REST form /v1/keys/{key}/incr.
set -euo pipefail
source "$(dirname "$0")/_lib.sh"
trap 'call DEL "$P:views" "$P:credits" "$P:stock" "$P:balance" >/dev/null' EXIT

echo "1. page views: INCR creates the counter at 0 and adds 1"
result INCR "$P:views" >/dev/null
expect "$(result INCR "$P:views")" 2 "views after two INCRs"

echo "2. credits: INCRBY adds any amount, negative too"
expect "$(result INCRBY "$P:credits" 50)" 50 "credits"
expect "$(result INCRBY "$P:credits" -20)" 30 "credits after spending 20"

echo "3. inventory: SET then DECR"
result SET "$P:stock" 3 >/dev/null
expect "$(result DECR "$P:stock")" 2 "stock"

echo "4. a float balance: INCRBYFLOAT"
expect "$(result INCRBYFLOAT "$P:balance" 10.5)" 10.5 "balance"
expect "$(result INCRBYFLOAT "$P:balance" -0.25)" 10.25 "balance"

echo "5. the same with the resource API: POST /v1/keys/{key}/incr {\"by\": 10}"
reply=$(curl -sS --max-time 10 "${AUTH[@]}" -X POST "$KEYWAY_URL/v1/keys/$P:views/incr" -d '{"by": 10}')
echo "  $reply"
expect "$(result GET "$P:views")" 12 "views"

echo "6. a counter holding text refuses to count"
result SET "$P:stock" "many" >/dev/null
expect "$(call INCR "$P:stock")" '{"error":"ERR value is not an integer or out of range"}' "INCR on text"
echo "counters: all checks passed"
