#!/usr/bin/env bash
# Distributed lock: acquire with SET key token NX PX ttl, release with a Lua script
# that deletes the key only if it still holds our token (so we never free someone else's lock).
# The release needs EVAL (scripting).
set -euo pipefail
source "$(dirname "$0")/_lib.sh"
LOCK="$P:lock:order:789"
trap 'call DEL "$LOCK" >/dev/null' EXIT

RELEASE='if redis.call("get", KEYS[1]) == ARGV[1] then
    return redis.call("del", KEYS[1])
end
return 0'
TOKEN1="worker-1:$RANDOM$RANDOM"   # unique per holder: only the holder knows it

echo "1. worker-1 acquires the lock for 30 s: SET lock <token> NX PX 30000"
expect "$(call SET "$LOCK" "$TOKEN1" NX PX 30000)" '{"result":"OK"}' "worker-1 acquires"
in_range "$(result PTTL "$LOCK")" 1 30000 "ms until it frees itself if worker-1 dies"

echo "2. worker-2 tries while worker-1 holds it: SET ... NX answers null"
expect "$(call SET "$LOCK" "worker-2:$RANDOM" NX PX 30000)" '{"result":null}' "worker-2 acquires"

echo "3. release with the compare-and-delete script: EVAL <script> 1 <lock> <token>"
expect "$(call EVAL "$RELEASE" 1 "$LOCK" "worker-2:not-the-holder")" '{"result":0}' "release with another worker's token"
expect "$(call GET "$LOCK")" "{\"result\":\"$TOKEN1\"}" "lock still held by worker-1"
expect "$(call EVAL "$RELEASE" 1 "$LOCK" "$TOKEN1")" '{"result":1}' "release with worker-1's token"
expect "$(call EXISTS "$LOCK")" '{"result":0}' "lock key exists"

echo "4. now worker-2 gets it"
expect "$(call SET "$LOCK" "worker-2:$RANDOM" NX PX 30000)" '{"result":"OK"}' "worker-2 acquires"
echo "lock: all checks passed"
