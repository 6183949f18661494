#!/usr/bin/env bash
# bench/cache_aside.sh: a cache-aside HIT against a plain key GET, with wrk.
#
#   make bench                      # runs this after bench/run.sh
#   KEYWAY_BIN=.build/debug/keyway BENCH_SECONDS=3 bench/cache_aside.sh
#
# Starts a Python http.server origin on a free loopback port serving one small
# JSON file, then bench/run.sh with `--cache-origin bench=...` and only the
# `resource_get` and `cache_hit` scenarios (plus the /healthz floor). The HIT
# is answered from the store (HGETALL + TIME, then the stored body), so the
# ratio of the two rows is the middleware's cost over a plain GET.
# Writes bench/last-cache-run.md. Same environment as bench/run.sh.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

root=$(mktemp -d "${TMPDIR:-/tmp}/keyway-origin.XXXXXX")
origin_pid=
cleanup() {
    if [[ -n $origin_pid ]]; then kill -TERM "$origin_pid" 2>/dev/null || true; wait "$origin_pid" 2>/dev/null || true; fi
    rm -rf "$root"
}
trap cleanup EXIT

printf '{"id":1,"name":"Ada Lovelace","email":"ada@example.com"}' >"$root/item.json"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$root" >/dev/null 2>&1 &
origin_pid=$!
for _ in $(seq 50); do
    curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$port/item.json" 2>/dev/null && break
    sleep 0.1
done

BENCH_CACHE_ORIGIN=bench \
BENCH_SERVER_ARGS="--cache-origin bench=http://127.0.0.1:$port,ttl=86400 ${BENCH_SERVER_ARGS:-}" \
BENCH_ONLY='^(resource_get|cache_hit)$' \
BENCH_OUT=${BENCH_OUT:-bench/last-cache-run.md} \
    bash bench/run.sh
