#!/usr/bin/env bash
# bench/floor.sh: Keyway's HTTP path beside the libmicrohttpd floor.
#
#   make bench                      # runs this among the others
#   KEYWAY_BIN=.build/release/keyway BENCH_SECONDS=5 bench/floor.sh
#
# Builds bench/floor/floor.c (a libmicrohttpd server with Keyway's options
# that answers {"status":"ok"} and does nothing else), starts it and
# `keyway serve` (no token, nothing persisted) on free loopback ports, and
# runs `wrk -t1 -c64 -d${BENCH_SECONDS}s` against: the floor, Keyway's
# /healthz, GET and SET through the resource API (/v1/keys/{key}) and
# through the command API (/get/{key}, POST /). Keys of 21 bytes, values
# of 40 bytes (user:session:%08d, as real applications have), beside the
# tiniest (1-byte key and value) and a 31-byte key with a 1000-byte value.
#
# On a shared machine the load drifts within a run, so a floor measured
# once at the start says little about a case measured a minute later. Each
# case is measured BENCH_ROUNDS times (default 3), each time right after a
# measurement of the floor, and its ratio is the median of those paired
# ratios. With two CPUs or more, the servers run on CPU 0 and wrk on CPU 1
# (taskset), so the server's share of the machine is the same for every
# case and the ratio is of what the server itself can do.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
bin=${KEYWAY_BIN:-.build/release/keyway}
case "$bin" in /*) ;; *) bin="$repo/$bin" ;; esac
duration=${BENCH_SECONDS:-5}
rounds=${BENCH_ROUNDS:-3}
floor_bin=.build/bench-floor
mkdir -p .build
cc -O2 -Wall -o "$floor_bin" bench/floor/floor.c $(pkg-config --cflags --libs libmicrohttpd)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
floor_port=$(free_port)
keyway_port=$(free_port)
scratch=$(mktemp -d)
threads=$(nproc)
server_cpu=() client_cpu=()
if [ "$threads" -ge 2 ] && command -v taskset >/dev/null; then
    server_cpu=(taskset -c 0) client_cpu=(taskset -c 1)
fi
"${server_cpu[@]}" "$floor_bin" "$floor_port" "$threads" & floor_pid=$!
(cd "$scratch" && exec "${server_cpu[@]}" "$bin" serve --port "$keyway_port" --save "" --log-level warning --threads "$threads") & keyway_pid=$!
cleanup() { kill "$floor_pid" "$keyway_pid" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$scratch"; }
trap cleanup EXIT

for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$keyway_port/readyz" >/dev/null && curl -fs "http://127.0.0.1:$floor_port/" >/dev/null && break
    sleep 0.1
done
key=user:session:00000001
value=$(printf 'v%.0s' $(seq 40))
curl -fs -X PUT "http://127.0.0.1:$keyway_port/v1/keys/$key" -H 'Content-Type: application/json' -d "{\"value\":\"$value\"}" >/dev/null
# The tiniest case and a 1000-byte value beside the real-size one.
curl -fs -X PUT "http://127.0.0.1:$keyway_port/v1/keys/k" -H 'Content-Type: application/json' -d '{"value":"v"}' >/dev/null
big_key=user:profile:cache:000000000001
big_value=$(printf 'p%.0s' $(seq 1000))
curl -fs -X PUT "http://127.0.0.1:$keyway_port/v1/keys/$big_key" -H 'Content-Type: application/json' -d "{\"value\":\"$big_value\"}" >/dev/null

lua=$(mktemp)
set_lua=$(mktemp)
cat >"$set_lua" <<LUA
wrk.method = "PUT"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"value":"$value"}'
LUA
cat >"$lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '["SET","$key","$value"]'
LUA

# req/s of one case; a case answered with errors is not a figure.
rate() {
    local report
    report=$("${client_cpu[@]}" wrk -t1 -c64 -d"${duration}s" "$@")
    if grep -q "Non-2xx" <<<"$report"; then
        echo "error responses in: $*" >&2
        grep "Non-2xx" <<<"$report" >&2
        exit 1
    fi
    awk '/Requests\/sec/ {print $2}' <<<"$report"
}
median() { sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
floor_rates=()
printf '%-34s %12s %12s %8s   %s\n' "case" "req/s" "floor req/s" "ratio" "ratios of the rounds"
# Each case right after a measurement of the floor, BENCH_ROUNDS times.
show() {
    local label=$1 rates=() floors=() ratios=() i floor_rate case_rate
    shift
    for i in $(seq "$rounds"); do
        floor_rate=$(rate "http://127.0.0.1:$floor_port/")
        case_rate=$(rate "$@")
        floors+=("$floor_rate") rates+=("$case_rate")
        ratios+=("$(echo "$case_rate / $floor_rate" | bc -l)")
        floor_rates+=("$floor_rate")
    done
    printf '%-34s %12.0f %12.0f %8.2f   %s\n' "$label" "$(printf '%s\n' "${rates[@]}" | median)" \
        "$(printf '%s\n' "${floors[@]}" | median)" "$(printf '%s\n' "${ratios[@]}" | median)" \
        "$(printf '%.2f ' "${ratios[@]}")"
}
show "GET /healthz" "http://127.0.0.1:$keyway_port/healthz"
show "GET /v1/keys/k (1 B value)" "http://127.0.0.1:$keyway_port/v1/keys/k"
show "GET /v1/keys/{key}" "http://127.0.0.1:$keyway_port/v1/keys/$key"
show "GET /v1/keys/{31 B key} (1000 B)" "http://127.0.0.1:$keyway_port/v1/keys/$big_key"
show "PUT /v1/keys/{key}" -s "$set_lua" "http://127.0.0.1:$keyway_port/v1/keys/$key"
show "GET /get/{key} (command API)" "http://127.0.0.1:$keyway_port/get/$key"
show "POST / SET (command API)" -s "$lua" "http://127.0.0.1:$keyway_port/"
printf 'the floor over the run: min %.0f, median %.0f, max %.0f req/s (%s servers on CPU 0, wrk on CPU 1)\n' \
    "$(printf '%s\n' "${floor_rates[@]}" | sort -g | head -1)" "$(printf '%s\n' "${floor_rates[@]}" | median)" \
    "$(printf '%s\n' "${floor_rates[@]}" | sort -g | tail -1)" "$([ ${#server_cpu[@]} -gt 0 ] && echo pinned: || echo 'not pinned, one CPU:')"
rm -f "$lua" "$set_lua"
