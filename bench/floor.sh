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
# through the command API (/get/{key}, POST /). Prints req/s and each
# figure's ratio to the floor, from the same run. Keys of 21 bytes, values
# of 40 bytes (user:session:%08d, as real applications have), beside the
# tiniest (1-byte key and value) and a 31-byte key with a 1000-byte value.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
bin=${KEYWAY_BIN:-.build/release/keyway}
duration=${BENCH_SECONDS:-10}
floor_bin=.build/bench-floor
mkdir -p .build
cc -O2 -Wall -o "$floor_bin" bench/floor/floor.c $(pkg-config --cflags --libs libmicrohttpd)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
floor_port=$(free_port)
keyway_port=$(free_port)
scratch=$(mktemp -d)
threads=$(nproc)
"$floor_bin" "$floor_port" "$threads" & floor_pid=$!
(cd "$scratch" && exec "$repo/$bin" serve --port "$keyway_port" --save "" --log-level warning --threads "$threads") & keyway_pid=$!
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
    report=$(wrk -t1 -c64 -d"${duration}s" "$@")
    if grep -q "Non-2xx" <<<"$report"; then
        echo "error responses in: $*" >&2
        grep "Non-2xx" <<<"$report" >&2
        exit 1
    fi
    awk '/Requests\/sec/ {print $2}' <<<"$report"
}
floor=$(rate "http://127.0.0.1:$floor_port/")
printf '%-34s %12s %8s\n' "case" "req/s" "ratio"
printf '%-34s %12.0f %8s\n' "libmicrohttpd floor" "$floor" "1.00"
show() { printf '%-34s %12.0f %8.2f\n' "$1" "$2" "$(echo "$2 / $floor" | bc -l)"; }
show "GET /healthz" "$(rate "http://127.0.0.1:$keyway_port/healthz")"
show "GET /v1/keys/k (1 B value)" "$(rate "http://127.0.0.1:$keyway_port/v1/keys/k")"
show "GET /v1/keys/{key}" "$(rate "http://127.0.0.1:$keyway_port/v1/keys/$key")"
show "GET /v1/keys/{31 B key} (1000 B)" "$(rate "http://127.0.0.1:$keyway_port/v1/keys/$big_key")"
show "PUT /v1/keys/{key}" "$(rate -s "$set_lua" "http://127.0.0.1:$keyway_port/v1/keys/$key")"
show "GET /get/{key} (command API)" "$(rate "http://127.0.0.1:$keyway_port/get/$key")"
show "POST / SET (command API)" "$(rate -s "$lua" "http://127.0.0.1:$keyway_port/")"
rm -f "$lua" "$set_lua"
