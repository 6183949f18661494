#!/usr/bin/env bash
# Job queue: producers LPUSH jobs, a worker waits for them with BRPOP (blocking pop with a timeout),
# so jobs come out in the order they went in and an idle worker costs nothing.
set -euo pipefail
source "$(dirname "$0")/_lib.sh"
QUEUE="$P:queue:emails"
OUT=$(mktemp)
trap 'call DEL "$QUEUE" >/dev/null; rm -f "$OUT"' EXIT

echo "1. a worker blocks on the empty queue: BRPOP $QUEUE 10 (in the background)"
call BRPOP "$QUEUE" 10 >"$OUT" &
WORKER=$!
sleep 0.5

echo "2. a producer pushes a job: LPUSH; the waiting worker gets it at once"
result LPUSH "$QUEUE" '{"to":"user@example.com","subject":"Welcome"}' >/dev/null
wait "$WORKER"
echo "  worker got: $(cat "$OUT")"
job=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["result"][1])' "$OUT")
expect "$job" '{"to":"user@example.com","subject":"Welcome"}' "job"

echo "3. the producer queues three more; the worker drains them oldest first"
result LPUSH "$QUEUE" job-1 job-2 job-3 >/dev/null
for want in job-1 job-2 job-3; do
    expect "$(result BRPOP "$QUEUE" 1 | python3 -c 'import json, sys; print(json.load(sys.stdin)[1])')" "$want" "next job"
done

echo "4. an empty queue times out: BRPOP $QUEUE 1 answers null after a second"
expect "$(result BRPOP "$QUEUE" 1)" null "BRPOP on an empty queue"
echo "job-queue: all checks passed"
