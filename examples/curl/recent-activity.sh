#!/usr/bin/env bash
# Recent activity: LPUSH each event to the front of a list and LTRIM it so only the newest N stay.
set -euo pipefail
source "$(dirname "$0")/_lib.sh"
FEED="$P:user:123:activity"
trap 'call DEL "$FEED" >/dev/null' EXIT

echo "1. log 8 events, keeping the last 5: LPUSH then LTRIM 0 4, both in one POST /pipeline"
for i in 1 2 3 4 5 6 7 8; do
    reply=$(curl -sS --max-time 10 "${AUTH[@]}" -X POST "$KEYWAY_URL/pipeline" \
        -d "[$(json_args LPUSH "$FEED" "event $i"), $(json_args LTRIM "$FEED" 0 4)]")
done
expect "$reply" '[{"result":6},{"result":"OK"}]' "last pipeline (one reply per command)"
expect "$(call LLEN "$FEED")" '{"result":5}' "LLEN"

echo "2. the newest three: LRANGE 0 2"
expect "$(call LRANGE "$FEED" 0 2)" '{"result":["event 8","event 7","event 6"]}' "LRANGE 0 2"

echo "3. the oldest one kept"
expect "$(call LINDEX "$FEED" -1)" '{"result":"event 4"}' "LINDEX -1"
echo "recent-activity: all checks passed"
