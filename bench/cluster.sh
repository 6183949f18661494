#!/usr/bin/env bash
# bench/cluster.sh: GET and SET through Keyway in cluster mode beside
# redis-benchmark straight to the same Redis Cluster, and one gateway
# beside two, in one run.
#
#   swift build -c release && bench/cluster.sh
#
# Starts six redis-server nodes on loopback (three masters, three replicas,
# persistence off), two `keyway serve --backend cluster` gateways, and runs:
# `redis-benchmark --cluster -t set,get -c 64 -d 40 -r 100000` against the
# nodes; `wrk -t1 -c64` against one gateway's `/set/{key}/{value}` and
# `/get/{key}` (random keys of the same shape); then the same with two wrk
# processes, one per gateway, 32 connections each; and, for scale, one
# gateway with the embedded engine. Everything shares the
# machine's cores, so compare the ratios of one run.
#
# Environment: KEYWAY_BIN (default .build/release/keyway), BENCH_SECONDS
# (default 10), BENCH_REQUESTS for redis-benchmark (default 200000),
# BENCH_SERVER_ARGS (extra `keyway serve` arguments, e.g. --threads 8).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${KEYWAY_BIN:-$repo/.build/release/keyway}
seconds=${BENCH_SECONDS:-10}
requests=${BENCH_REQUESTS:-200000}
work=$(mktemp -d /tmp/keyway-cluster-bench.XXXXXX)
base=$((21000 + RANDOM % 2000))
ports=($base $((base + 1)) $((base + 2)) $((base + 3)) $((base + 4)) $((base + 5)))
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for port in "${ports[@]}"; do redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true; done
    rm -rf "$work"
}
trap cleanup EXIT

for port in "${ports[@]}"; do
    mkdir -p "$work/$port"
    (cd "$work/$port" && redis-server --port "$port" --bind 127.0.0.1 --cluster-enabled yes --cluster-config-file nodes.conf \
        --cluster-node-timeout 2000 --save "" --appendonly no --daemonize yes --logfile redis.log)
done
sleep 1
redis-cli --cluster create $(printf '127.0.0.1:%s ' "${ports[@]}") --cluster-replicas 1 --cluster-yes >/dev/null
until redis-cli -p "${ports[0]}" cluster info | grep -q cluster_state:ok; do sleep 0.2; done

gateway() {
    local port=$1
    "$bin" serve --port "$port" --backend cluster --cluster-nodes "127.0.0.1:${ports[0]},127.0.0.1:${ports[1]}" ${BENCH_SERVER_ARGS:-} \
        >"$work/keyway-$port.log" 2>&1 &
    pids+=($!)
    until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; do sleep 0.1; done
}
gw1=$((base + 100)); gw2=$((base + 101)); embedded=$((base + 102))
gateway $gw1
gateway $gw2
# The same HTTP path with the embedded engine: what the gateway itself costs.
"$bin" serve --port "$embedded" --save "" ${BENCH_SERVER_ARGS:-} >"$work/keyway-embedded.log" 2>&1 &
pids+=($!)
until curl -sf "http://127.0.0.1:$embedded/readyz" >/dev/null; do sleep 0.1; done

value=$(printf 'v%.0s' $(seq 1 40))
cat >"$work/set.lua" <<LUA
request = function()
  return wrk.format("GET", "/set/key:" .. string.format("%012d", math.random(0, 99999)) .. "/$value")
end
LUA
cat >"$work/get.lua" <<'LUA'
request = function()
  return wrk.format("GET", "/get/key:" .. string.format("%012d", math.random(0, 99999)))
end
LUA

rate() { awk '/Requests\/sec/ {print int($2)}'; }
echo "redis-benchmark --cluster (direct to the nodes)"
redis-benchmark --cluster -h 127.0.0.1 -p "${ports[0]}" -t set,get -c 64 -n "$requests" -d 40 -r 100000 --csv 2>/dev/null \
    >"$work/redis.txt"
cat "$work/redis.txt"
# --csv: "test","rps",... per line; the keys are key:__rand_int__ as above.
direct_set=$(awk -F'"' '$2 == "SET" {print int($4)}' "$work/redis.txt")
direct_get=$(awk -F'"' '$2 == "GET" {print int($4)}' "$work/redis.txt")

one_set=$(wrk -t1 -c64 -d"${seconds}s" -s "$work/set.lua" "http://127.0.0.1:$gw1" | rate)
one_get=$(wrk -t1 -c64 -d"${seconds}s" -s "$work/get.lua" "http://127.0.0.1:$gw1" | rate)
both() {
    local script=$1
    wrk -t1 -c32 -d"${seconds}s" -s "$script" "http://127.0.0.1:$gw1" | rate >"$work/a" &
    local first=$!
    wrk -t1 -c32 -d"${seconds}s" -s "$script" "http://127.0.0.1:$gw2" | rate >"$work/b"
    wait $first
    echo $(( $(cat "$work/a") + $(cat "$work/b") ))
}
embedded_set=$(wrk -t1 -c64 -d"${seconds}s" -s "$work/set.lua" "http://127.0.0.1:$embedded" | rate)
embedded_get=$(wrk -t1 -c64 -d"${seconds}s" -s "$work/get.lua" "http://127.0.0.1:$embedded" | rate)
two_set=$(both "$work/set.lua")
two_get=$(both "$work/get.lua")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
cat <<TABLE

| case | requests/s | vs redis-benchmark |
| --- | ---: | ---: |
| redis-benchmark --cluster SET | $direct_set | 1.00 |
| one gateway, SET | $one_set | $(ratio "$one_set" "$direct_set") |
| two gateways, SET | $two_set | $(ratio "$two_set" "$direct_set") |
| embedded engine (no cluster), SET | $embedded_set | $(ratio "$embedded_set" "$direct_set") |
| redis-benchmark --cluster GET | $direct_get | 1.00 |
| one gateway, GET | $one_get | $(ratio "$one_get" "$direct_get") |
| two gateways, GET | $two_get | $(ratio "$two_get" "$direct_get") |
| embedded engine (no cluster), GET | $embedded_get | $(ratio "$embedded_get" "$direct_get") |
TABLE
