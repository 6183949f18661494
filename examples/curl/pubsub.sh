#!/usr/bin/env bash
# Pub/sub notifications: a subscriber holds GET /v1/subscribe?channel=... open as Server-Sent Events;
# a publisher POSTs to /v1/channels/{channel}/messages and every subscriber receives it.
set -euo pipefail
source "$(dirname "$0")/_lib.sh"
CHANNEL="$P:notifications:user:123"
EVENTS=$(mktemp)
SUBSCRIBER=
trap '[ -z "$SUBSCRIBER" ] || kill "$SUBSCRIBER" 2>/dev/null; rm -f "$EVENTS"' EXIT

# wait_for PATTERN : waits up to 5 s for a line matching PATTERN in the event stream.
wait_for() {
    for _ in $(seq 50); do grep -q "$1" "$EVENTS" && return; sleep 0.1; done
    echo "FAIL: no '$1' in the event stream:" >&2; cat "$EVENTS" >&2; exit 1
}

echo "1. subscribe: curl -N keeps the event stream open (--max-time bounds it)"
curl -sS -N --max-time 20 "${AUTH[@]}" "$KEYWAY_URL/v1/subscribe?channel=$CHANNEL" >"$EVENTS" &
SUBSCRIBER=$!
wait_for '^event: subscribe'       # the server's greeting: the subscription is in place
echo "  ok: subscribed"

echo "2. publish a notification: POST /v1/channels/{channel}/messages"
expect "$(curl -sS --max-time 10 "${AUTH[@]}" -X POST "$KEYWAY_URL/v1/channels/$CHANNEL/messages" \
    -d '{"message": "{\"type\":\"order_shipped\",\"orderId\":\"456\"}"}')" \
    "{\"channel\":\"$CHANNEL\",\"receivers\":1}" "publish reply"

echo "3. the subscriber receives it as a 'message' event"
wait_for '^event: message'
expect "$(grep -A1 '^event: message' "$EVENTS" | sed -n 's/^data: //p')" \
    "{\"channel\":\"$CHANNEL\",\"pattern\":null,\"message\":\"{\\\"type\\\":\\\"order_shipped\\\",\\\"orderId\\\":\\\"456\\\"}\",\"encoding\":\"utf-8\"}" \
    "event data"

echo "4. the same through the command API: PUBLISH answers the number of receivers"
expect "$(call PUBLISH "$CHANNEL" "second")" '{"result":1}' "PUBLISH"
wait_for '"message":"second"'
echo "  ok: second message received"
echo "pubsub: all checks passed"
