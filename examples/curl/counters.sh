#!/usr/bin/env bash
# Atomic counters: INCR, INCRBY, DECR, INCRBYFLOAT, plus the REST form /v1/keys/{key}/incr.
set -euo pipefail
source "$(dirname "$0")/_lib.sh"
trap 'call DEL "$P:views" "$P:credits" "$P:stock" "$P:balance" >/dev/null' EXIT

echo "1. page views: INCR creates the counter at 0 and adds 1"
expect "$(call INCR "$P:views")" '{"result":1}' "INCR"
expect "$(call INCR "$P:views")" '{"result":2}' "INCR"

echo "2. credits: INCRBY adds any amount, negative too"
expect "$(call INCRBY "$P:credits" 50)" '{"result":50}' "INCRBY 50"
expect "$(call INCRBY "$P:credits" -20)" '{"result":30}' "INCRBY -20"

echo "3. inventory: SET then DECR"
call SET "$P:stock" 3 >/dev/null
expect "$(call DECR "$P:stock")" '{"result":2}' "DECR"

echo "4. a balance with cents: INCRBYFLOAT (the result is a string, as in Redis)"
expect "$(call INCRBYFLOAT "$P:balance" 10.5)" '{"result":"10.5"}' "INCRBYFLOAT 10.5"
expect "$(call INCRBYFLOAT "$P:balance" -0.25)" '{"result":"10.25"}' "INCRBYFLOAT -0.25"

echo "5. the resource API: POST /v1/keys/{key}/incr with {\"by\": 10}"
reply=$(curl -sS --max-time 10 "${AUTH[@]}" -X POST "$KEYWAY_URL/v1/keys/$P:views/incr" -d '{"by": 10}')
expect "$reply" "{\"key\":\"$P:views\",\"value\":12}" "POST /v1/keys/.../incr"

echo "6. a counter holding text refuses to count"
call SET "$P:stock" many >/dev/null
expect "$(call INCR "$P:stock")" '{"error":"ERR value is not an integer or out of range"}' "INCR on text"
echo "counters: all checks passed"
