#!/usr/bin/env bash
# Job queue: producers LPUSH jobs, a worker waits for them with BRPOP (blocking pop with a timeout),
# so jobs come out in the order they went in and an idle worker costs nothing.
set -euo pipefail
source "$(dirname "$0")/_lib.sh"
QUEUE="$P:queue:emails"
OUT=$(mktemp)
trap 'call DEL "$QUEUE" >/dev/null; rm -f "$OUT"' EXIT

echo "1. a worker blocks on the empty queue: BRPOP queue 10 (in the background)"
call BRPOP "$QUEUE" 10 >"$OUT" &
WORKER=$!
sleep 0.5

echo "2. a producer pushes a job: LPUSH; the waiting worker gets it at once"
JOB='{"to":"user@example.com","subject":"Welcome"}'
expect "$(call LPUSH "$QUEUE" "$JOB")" '{"result":1}' "LPUSH"
wait "$WORKER"
# BRPOP answers [queue, job].
expect "$(cat "$OUT")" "{\"result\":$(json_args "$QUEUE" "$JOB")}" "worker got"

echo "3. the producer queues three more; the worker takes them oldest first"
call LPUSH "$QUEUE" job-1 job-2 job-3 >/dev/null
for job in job-1 job-2 job-3; do
    expect "$(call BRPOP "$QUEUE" 1)" "{\"result\":[\"$QUEUE\",\"$job\"]}" "BRPOP"
done

echo "4. an empty queue times out: BRPOP queue 1 answers null after a second"
expect "$(call BRPOP "$QUEUE" 1)" '{"result":null}' "BRPOP on an empty queue"
echo "job-queue: all checks passed"
