#!/usr/bin/env bash
# Event log: a stream of events read by a consumer group; each entry goes to one consumer
# and stays pending until acknowledged, so a crashed worker's events are not lost.
set -euo pipefail
source "$(dirname "$0")/_lib.sh"
EVENTS="$P:events"
trap 'call DEL "$EVENTS" >/dev/null' EXIT

echo "1. create the group (and the stream): XGROUP CREATE $EVENTS mygroup \$ MKSTREAM"
expect "$(result XGROUP CREATE "$EVENTS" mygroup '$' MKSTREAM)" OK "group created"

echo "2. produce two events: XADD $EVENTS * field value ..."
id1=$(result XADD "$EVENTS" '*' type order.created orderId 123 amount 49.99)
id2=$(result XADD "$EVENTS" '*' type user.login userId 456)
echo "  added $id1 and $id2"

echo "3. consumer1 reads new entries: XREADGROUP GROUP mygroup consumer1 COUNT 10 BLOCK 5000 STREAMS $EVENTS >"
batch=$(result XREADGROUP GROUP mygroup consumer1 COUNT 10 BLOCK 5000 STREAMS "$EVENTS" '>')
echo "  $batch"
# The reply is [[stream, [[id, [field, value, ...]], ...]]].
ids=$(python3 -c 'import json, sys; print(" ".join(e[0] for e in json.loads(sys.argv[1])[0][1]))' "$batch")
expect "$ids" "$id1 $id2" "entry ids delivered"

echo "4. both are pending until acknowledged: XPENDING $EVENTS mygroup"
expect "$(result XPENDING "$EVENTS" mygroup)" "[2,\"$id1\",\"$id2\",[[\"consumer1\",\"2\"]]]" "pending summary"

echo "5. consumer1 processed the first: XACK"
expect "$(result XACK "$EVENTS" mygroup "$id1")" 1 "acknowledged"
expect "$(result XPENDING "$EVENTS" mygroup)" "[1,\"$id2\",\"$id2\",[[\"consumer1\",\"1\"]]]" "pending summary"

echo "6. nothing new for the group: XREADGROUP ... BLOCK 500 answers null after half a second"
expect "$(result XREADGROUP GROUP mygroup consumer1 COUNT 10 BLOCK 500 STREAMS "$EVENTS" '>')" null "new entries"
echo "event-log: all checks passed"
