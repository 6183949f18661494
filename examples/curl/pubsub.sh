#!/usr/bin/env bash
# Pub/sub notifications: a subscriber holds GET /v1/subscribe?channel=... open as Server-Sent Events;
# a publisher POSTs to /v1/channels/{channel}/messages and every subscriber receives it.
set -euo pipefail
source "$(dirname "$0")/_lib.sh"
CHANNEL="$P:notifications:user:123"
EVENTS=$(mktemp)
SUBSCRIBER=
trap '[ -n "$SUBSCRIBER" ] && kill "$SUBSCRIBER" 2>/dev/null; rm -f "$EVENTS"' EXIT

echo "1. subscribe (curl -N keeps the event stream open; --max-time bounds it)"
curl -sS -N --max-time 10 "${AUTH[@]}" "$KEYWAY_URL/v1/subscribe?channel=$CHANNEL" >"$EVENTS" &
SUBSCRIBER=$!
# The server greets with "event: subscribe" once the subscription is in place.
for _ in $(seq 50); do grep -q '^event: subscribe' "$EVENTS" && break; sleep 0.1; done
grep -q '^event: subscribe' "$EVENTS" || { echo "FAIL: no subscribe event" >&2; exit 1; }

echo "2. publish a notification"
reply=$(curl -sS --max-time 10 "${AUTH[@]}" -X POST "$KEYWAY_URL/v1/channels/$CHANNEL/messages" \
    -d '{"message": "{\"type\":\"order_shipped\",\"orderId\":\"456\"}"}')
echo "  $reply"
expect "$reply" "{\"channel\":\"$CHANNEL\",\"receivers\":1}" "publish reply"

echo "3. the subscriber receives it as a 'message' event"
for _ in $(seq 50); do grep -q '^event: message' "$EVENTS" && break; sleep 0.1; done
data=$(grep -A1 '^event: message' "$EVENTS" | sed -n 's/^data: //p')
echo "  data: $data"
message=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["message"])' "$data")
expect "$message" '{"type":"order_shipped","orderId":"456"}' "notification"

echo "4. the same through the command API: PUBLISH answers the number of receivers"
expect "$(result PUBLISH "$CHANNEL" second)" 1 "receivers"
echo "pubsub: all checks passed"
