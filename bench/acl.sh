#!/usr/bin/env bash
# bench/acl.sh: what access control costs per request. Keep-alive
# `wrk -t1 -c64`, GET and SET through both API faces, a 29-byte key and a
# 100-byte value, the three cases in a rotating order within each round so
# drift on a shared machine hits them alike:
#   no credentials - a server without a password: the default user, every
#                    right, no authentication and no checks;
#   password       - a server with --token, its default user's password as
#                    the bearer token (Keyway before ACL users): a SHA-256
#                    per request, no rule checks;
#   ACL user       - the same server, a bearer token issued for a user with
#                    20 key patterns, the key matched by the last one: the
#                    token's SHA-256, the user lookup, the command check and
#                    20 pattern tests on every request.
# Prints the median req/s of each case and the ratios.
#
#   KEYWAY_BIN=.build/release/keyway BENCH_SECONDS=3 BENCH_ROUNDS=5 bench/acl.sh
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${KEYWAY_BIN:-$repo/.build/release/keyway}
duration=${BENCH_SECONDS:-3}
rounds=${BENCH_ROUNDS:-5}
conns=${BENCH_CONNECTIONS:-64}
for tool in wrk curl python3; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is required" >&2; exit 1; }
done
[[ -x $bin ]] || { echo "bench: no server binary at $bin" >&2; exit 1; }
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")

work=$(mktemp -d "${TMPDIR:-/tmp}/keyway-acl-bench.XXXXXX")
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

patterns=""
for i in $(seq 0 19); do patterns+=" ~tenant$i:*"; done
printf 'user bench20 on%s +@all -@dangerous\n' "$patterns" >keyway.conf
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
open_port=$(free_port)
"$bin" serve --config keyway.conf --port "$open_port" --loglevel warning --save "" >open.log 2>&1 &
pids+=($!)
secured_port=$(free_port)
"$bin" serve --config keyway.conf --port "$secured_port" --token bench-admin-password --loglevel warning --save "" >secured.log 2>&1 &
pids+=($!)
for port in "$open_port" "$secured_port"; do
    for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
done
open="http://127.0.0.1:$open_port"
secured="http://127.0.0.1:$secured_port"
password_header="Authorization: Bearer bench-admin-password"
token=$(curl -fs -X POST "$secured/v1/acl/tokens" -H "$password_header" -H 'Content-Type: application/json' \
    -d '{"user":"bench20"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
token_header="Authorization: Bearer $token"
key="tenant19:user:session:0001234"
value=$(python3 -c 'print("v" * 100)')
for base in "$open" "$secured"; do
    curl -fs -X POST "$base/" -H "$password_header" -H 'Content-Type: application/json' -d "[\"SET\",\"$key\",\"$value\"]" >/dev/null
done
curl -fs "$secured/get/$key" -H "$token_header" | grep -q vvvv || { echo "bench: the ACL user cannot read its key" >&2; exit 1; }

printf 'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = %s\n' \
    "'[\"SET\",\"$key\",\"$value\"]'" >set_command.lua
printf 'wrk.method = "PUT"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = %s\n' \
    "'{\"value\":\"$value\"}'" >set_resource.lua

rate() {  # URL [wrk args...] -> req/s
    local url=$1; shift
    wrk -t1 -c"$conns" -d"${duration}s" "$@" "$url" | awk '/Requests\/sec/ {printf "%d", $2}'
}

: >results.tsv
for round in $(seq "$rounds"); do
    for case in "GET /get/KEY|/get/$key|" "SET POST /|/|set_command.lua" \
                "GET /v1/keys/KEY|/v1/keys/$key|" "PUT /v1/keys/KEY|/v1/keys/$key|set_resource.lua"; do
        IFS='|' read -r label path script <<<"$case"
        extra=()
        [[ -n $script ]] && extra=(-s "$script")
        # The three cases in a rotating order, so going first or last is
        # no one case's advantage.
        declare -A got=()
        for step in 0 1 2; do
            case $(( (step + round) % 3 )) in
                0) got[a]=$(rate "$open$path" "${extra[@]}") ;;
                1) got[b]=$(rate "$secured$path" "${extra[@]}" -H "$password_header") ;;
                2) got[c]=$(rate "$secured$path" "${extra[@]}" -H "$token_header") ;;
            esac
        done
        printf '%s\t%s\t%s\t%s\n' "$label" "${got[a]}" "${got[b]}" "${got[c]}" >>results.tsv
    done
done
python3 -c '
import statistics
rows = {}
for line in open("results.tsv"):
    label, a, b, c = line.rstrip("\n").split("\t")
    rows.setdefault(label, []).append((int(a), int(b), int(c)))
print("| request | no credentials req/s | password req/s | ACL user, 20 patterns req/s | ACL / password | ACL / no credentials |")
print("|---|---|---|---|---|---|")
for label, runs in rows.items():
    a, b, c = (statistics.median(r[i] for r in runs) for i in range(3))
    versus_password = statistics.median(r[2] / r[1] for r in runs)
    versus_open = statistics.median(r[2] / r[0] for r in runs)
    print(f"| {label} | {a:.0f} | {b:.0f} | {c:.0f} | {versus_password:.2f} | {versus_open:.2f} |")
print(f"(medians of {len(next(iter(rows.values())))} rounds; each ratio is the median of the per-round ratios)")
'
