#!/usr/bin/env bash
# bench/pipeline.sh: batches of commands through /pipeline and /multi-exec,
# beside redis-benchmark's pipelining in the same run.
#
#   make bench                      # runs this among the others
#   KEYWAY_BIN=.build/release/keyway BENCH_SECONDS=5 bench/pipeline.sh
#   LATENCY_ONLY=1 KEYWAY_BIN=... bench/pipeline.sh   # the p99 figures only
#
# Starts `keyway serve` and a Debian `redis-server` (persistence off) on free
# loopback ports and measures commands per second for batches of 100 SETs
# and 100 GETs, at a real size (21-byte keys `user:session:%08d`, 40-byte
# values) and the tiniest (3-byte keys `k00`, 1-byte values):
#
# - redis-server: `redis-benchmark -P 100 -c 16` (one thread, as wrk below);
# - Keyway: `wrk -t1 -c16` posting one JSON array of 100 commands per
#   request to /pipeline and to /multi-exec.
#
# Then the cost of one big pipeline for everyone else: the p99 latency of
# single GETs (wrk -t1 -c16, latency distribution) alone, and again while a
# second client keeps posting 10,000-command pipelines. A pipeline takes the
# engine lock once per command, so other clients' requests interleave.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
bin=${KEYWAY_BIN:-.build/release/keyway}
case "$bin" in /*) ;; *) bin="$repo/$bin" ;; esac
duration=${BENCH_SECONDS:-10}
batch=100

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
keyway_port=$(free_port)
redis_port=$(free_port)
scratch=$(mktemp -d)
(cd "$scratch" && exec "$bin" serve --port "$keyway_port" --save "" --appendonly no --log-level warning) & keyway_pid=$!
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$scratch" >/dev/null & redis_pid=$!
background_pid=""
cleanup() {
    [ -n "$background_pid" ] && kill "$background_pid" 2>/dev/null
    kill "$keyway_pid" "$redis_pid" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$scratch"
}
trap cleanup EXIT
for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$keyway_port/readyz" >/dev/null && redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
    sleep 0.1
done

value=$(printf 'v%.0s' $(seq 40))
# One JSON body of $batch commands of one kind (SET or GET) and size (real or tiny).
body() {
    python3 - "$1" "$batch" "$value" "${2:-real}" <<'PY'
import json, sys
kind, batch, value, size = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
keys = [f"user:session:{i:08d}" if size == "real" else f"k{i:02d}" for i in range(batch)]
value = value if size == "real" else "v"
print(json.dumps([["SET", k, value] if kind == "SET" else ["GET", k] for k in keys]))
PY
}
curl -fs -X POST "http://127.0.0.1:$keyway_port/pipeline" -d "$(body SET)" >/dev/null
curl -fs -X POST "http://127.0.0.1:$keyway_port/pipeline" -d "$(body SET tiny)" >/dev/null

lua_for() {   # path, kind, size -> a wrk script file
    local script
    script=$(mktemp -p "$scratch")
    printf 'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = [==[%s]==]\n' "$(body "$2" "$3")" >"$script"
    echo "$script"
}

# requests/s of a wrk run; a run with error responses is not a figure.
wrk_rate() {
    local report
    report=$(wrk -t1 -c16 -d"${duration}s" "$@")
    if grep -q "Non-2xx" <<<"$report"; then
        echo "error responses in: $*" >&2
        exit 1
    fi
    awk '/Requests\/sec/ {print $2}' <<<"$report"
}

redis_rate() {   # test name, value size -> commands/s
    redis-benchmark -p "$redis_port" -P "$batch" -c 16 -n $((batch * 20000)) -d "$2" -r 100000000 -t "$1" --csv \
        | awk -F'"' 'NR == 2 {print $4}'
}

printf '%-36s %14s %10s\n' "case (batches of $batch)" "commands/s" "vs redis"
# LATENCY_ONLY=1 skips the throughput cases (for the latency figures alone).
sizes="real tiny"; [ "${LATENCY_ONLY:-0}" = 1 ] && sizes=""
for size in $sizes; do
    bytes=40; [ "$size" = tiny ] && bytes=1
    for kind in SET GET; do
        lower=$(tr 'A-Z' 'a-z' <<<"$kind")
        reference=$(redis_rate "$lower" "$bytes")
        printf '%-36s %14.0f %10s\n' "redis-benchmark -P $batch $kind -d $bytes" "$reference" "1.00"
        for path in pipeline multi-exec; do
            rate=$(wrk_rate -s "$(lua_for "/$path" "$kind" "$size")" "http://127.0.0.1:$keyway_port/$path")
            commands=$(echo "$rate * $batch" | bc -l)
            printf '%-36s %14.0f %10.2f\n' "Keyway /$path $kind ($size)" "$commands" "$(echo "$commands / $reference" | bc -l)"
        done
    done
done

# Other clients' latency while 10,000-command pipelines run.
big=$(mktemp -p "$scratch")
python3 - "$value" >"$big" <<'PY'
import json, sys
print(json.dumps([["SET", f"bulk:{i:08d}", sys.argv[1]] for i in range(10000)]))
PY
p99() {
    wrk -t1 -c16 -d"${duration}s" --latency "http://127.0.0.1:$keyway_port/get/user:session:00000001" \
        | awk '$1 == "99%" {print $2}'
}
printf '\n%-50s %10s\n' "single GETs, 16 connections" "p99"
printf '%-50s %10s\n' "alone" "$(p99)"
(
    while true; do
        curl -fs -o /dev/null -X POST "http://127.0.0.1:$keyway_port/pipeline" --data-binary "@$big" || true
    done
) & background_pid=$!
sleep 0.5
printf '%-50s %10s\n' "beside a client posting 10,000-SET pipelines" "$(p99)"
kill "$background_pid" 2>/dev/null; wait "$background_pid" 2>/dev/null || true; background_pid=""
