#!/usr/bin/env bash
# bench/acl.sh: what access control costs per request. One server, keep-alive
# `wrk -t1 -c64`, GET and SET through both API faces, a 29-byte key and a
# 100-byte value, in alternating rounds so drift on a shared machine hits
# both alike:
#   open  - no credentials: the default user, no password, every right
#           (a server without ACL rules: authentication and checks skipped);
#   acl   - a bearer token issued for a user with 20 key patterns, the key
#           matched by the last one: the token's SHA-256, the user lookup,
#           the command check and 20 pattern tests on every request.
# Prints req/s per round and the acl/open ratio.
#
#   KEYWAY_BIN=.build/release/keyway BENCH_SECONDS=5 BENCH_ROUNDS=3 bench/acl.sh
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${KEYWAY_BIN:-$repo/.build/release/keyway}
duration=${BENCH_SECONDS:-5}
rounds=${BENCH_ROUNDS:-3}
conns=${BENCH_CONNECTIONS:-64}
for tool in wrk curl python3; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is required" >&2; exit 1; }
done
[[ -x $bin ]] || { echo "bench: no server binary at $bin" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/keyway-acl-bench.XXXXXX")
server_pid=
cleanup() {
    if [[ -n $server_pid ]]; then kill -TERM "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

patterns=""
for i in $(seq 0 19); do patterns+=" ~tenant$i:*"; done
printf 'user bench20 on%s +@all -@dangerous\n' "$patterns" >keyway.conf
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin" serve --config keyway.conf --port "$port" --loglevel warning --save "" >server.log 2>&1 &
server_pid=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
base="http://127.0.0.1:$port"
token=$(curl -fs -X POST "$base/v1/acl/tokens" -H 'Content-Type: application/json' -d '{"user":"bench20"}' \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
key="tenant19:user:session:0001234"
value=$(python3 -c 'print("v" * 100)')
curl -fs -X POST "$base/" -H 'Content-Type: application/json' -d "[\"SET\",\"$key\",\"$value\"]" >/dev/null
curl -fs "$base/get/$key" -H "Authorization: Bearer $token" | grep -q vvvv || { echo "bench: the ACL user cannot read its key" >&2; exit 1; }

cat >set_command.lua <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '["SET","$key","$value"]'
EOF
cat >set_resource.lua <<EOF
wrk.method = "PUT"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"value":"$value"}'
EOF

rate() {  # URL [wrk args...] -> req/s
    local url=$1; shift
    wrk -t1 -c"$conns" -d"${duration}s" "$@" "$url" | awk '/Requests\/sec/ {printf "%d", $2}'
}

printf '| round | request | open req/s | ACL (20 patterns) req/s | ACL / open |\n|---|---|---|---|---|\n'
for round in $(seq "$rounds"); do
    for case in "GET /get/KEY|$base/get/$key|" "SET POST /|$base/|set_command.lua" \
                "GET /v1/keys/KEY|$base/v1/keys/$key|" "PUT /v1/keys/KEY|$base/v1/keys/$key|set_resource.lua"; do
        IFS='|' read -r label url script <<<"$case"
        extra=()
        [[ -n $script ]] && extra=(-s "$script")
        open=$(rate "$url" "${extra[@]}")
        acl=$(rate "$url" "${extra[@]}" -H "Authorization: Bearer $token")
        printf '| %d | %s | %s | %s | %s |\n' "$round" "$label" "$open" "$acl" "$(python3 -c "print(f'{$acl/$open:.2f}')")"
    done
done
