#!/usr/bin/env bash
# Recent activity: LPUSH each event to the front of a list and LTRIM it so only the newest N stay.
set -euo pipefail
source "$(dirname "$0")/_lib.sh"
FEED="$P:user:123:activity"
trap 'call DEL "$FEED" >/dev/null' EXIT
KEEP=5

echo "1. log 8 events, keeping the last $KEEP: LPUSH then LTRIM 0 $((KEEP - 1)) in one pipeline"
for i in 1 2 3 4 5 6 7 8; do
    # POST /pipeline runs several commands in one request and answers one result each.
    curl -sS --max-time 10 "${AUTH[@]}" -X POST "$KEYWAY_URL/pipeline" \
        -d "[[\"LPUSH\",\"$FEED\",\"event $i\"],[\"LTRIM\",\"$FEED\",0,$((KEEP - 1))]]" >/dev/null
done
expect "$(result LLEN "$FEED")" "$KEEP" "list length"

echo "2. the newest three: LRANGE 0 2"
expect "$(result LRANGE "$FEED" 0 2)" '["event 8","event 7","event 6"]' "newest first"

echo "3. the oldest one kept"
expect "$(result LINDEX "$FEED" -1)" "event 4" "oldest kept"
echo "recent-activity: all checks passed"
