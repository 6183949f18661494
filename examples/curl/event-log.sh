#!/usr/bin/env bash
# Event log: a stream of events read by a consumer group; each entry goes to one consumer
# and stays pending until acknowledged, so a crashed worker's events are not lost.
set -euo pipefail
source "$(dirname "$0")/_lib.sh"
EVENTS="$P:events"
trap 'call DEL "$EVENTS" >/dev/null' EXIT

echo "1. create the group (and the stream): XGROUP CREATE events mygroup \$ MKSTREAM"
expect "$(call XGROUP CREATE "$EVENTS" mygroup '$' MKSTREAM)" '{"result":"OK"}' "XGROUP CREATE"

echo "2. produce two events: XADD events * field value ..."
id1=$(result XADD "$EVENTS" '*' type order.created orderId 123 amount 49.99 | tr -d '"')
id2=$(result XADD "$EVENTS" '*' type user.login userId 456 | tr -d '"')
echo "  added $id1 and $id2"

echo "3. consumer1 reads new entries: XREADGROUP GROUP mygroup consumer1 COUNT 10 BLOCK 5000 STREAMS events >"
# The reply is [[stream, [[id, [field, value, ...]], ...]]].
expect "$(call XREADGROUP GROUP mygroup consumer1 COUNT 10 BLOCK 5000 STREAMS "$EVENTS" '>')" \
    "{\"result\":[[\"$EVENTS\",[[\"$id1\",[\"type\",\"order.created\",\"orderId\",\"123\",\"amount\",\"49.99\"]],[\"$id2\",[\"type\",\"user.login\",\"userId\",\"456\"]]]]]}" \
    "XREADGROUP"

echo "4. both are pending until acknowledged: XPENDING events mygroup"
# [count, smallest id, largest id, [[consumer, count]]]
expect "$(call XPENDING "$EVENTS" mygroup)" "{\"result\":[2,\"$id1\",\"$id2\",[[\"consumer1\",\"2\"]]]}" "XPENDING"

echo "5. consumer1 processed the first: XACK"
expect "$(call XACK "$EVENTS" mygroup "$id1")" '{"result":1}' "XACK"
expect "$(call XPENDING "$EVENTS" mygroup)" "{\"result\":[1,\"$id2\",\"$id2\",[[\"consumer1\",\"1\"]]]}" "XPENDING"

echo "6. nothing new for the group: XREADGROUP ... BLOCK 500 answers null after half a second"
expect "$(call XREADGROUP GROUP mygroup consumer1 BLOCK 500 STREAMS "$EVENTS" '>')" '{"result":null}' "XREADGROUP"
echo "event-log: all checks passed"
