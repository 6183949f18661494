#!/usr/bin/env bash
# bench/run.sh: HTTP throughput of a local keyway, measured with wrk.
#
#   make bench                      # release build, then this script
#   KEYWAY_BIN=.build/debug/keyway BENCH_SECONDS=3 bench/run.sh
#
# Starts `keyway serve` on a free loopback port with no token (in a scratch
# directory, so nothing it persists lands in the repo), seeds the keys, runs
# `wrk -t1 -c64 -d${BENCH_SECONDS}s` (keep-alive) against each scenario, and
# prints a table of req/s and the ratio to GET /healthz (the floor: the HTTP
# stack with no store work). The same table is written as markdown to
# bench/last-run.md. The server is stopped on exit, on success or failure.
#
# Environment:
#   KEYWAY_BIN          server binary (default .build/release/keyway)
#   BENCH_SECONDS       seconds per scenario (default 10)
#   BENCH_THREADS       wrk threads (default 1)
#   BENCH_CONNECTIONS   wrk connections (default 64)
#   BENCH_ONLY          regex: run only scenarios whose name matches
#                       (the /healthz floor always runs)
#   BENCH_OUT           markdown output (default bench/last-run.md)
#   BENCH_SERVER_ARGS   extra arguments for `keyway serve`
#
# Adding a scenario (lists, hashes, sorted sets, ...): write a `scenario_NAME`
# function that optionally seeds data with `kw_call` and then calls
# `bench_case LABEL METHOD PATH [BODY [CONTENT_TYPE]]`, and add NAME to
# SCENARIOS below. Numbers are only comparable within one run: compare ratios.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

bin=${KEYWAY_BIN:-.build/release/keyway}
duration=${BENCH_SECONDS:-10}
threads=${BENCH_THREADS:-1}
conns=${BENCH_CONNECTIONS:-64}
only=${BENCH_ONLY:-}
out=${BENCH_OUT:-bench/last-run.md}
read -ra server_args <<<"${BENCH_SERVER_ARGS:-}"

# ------------------------------------------------------------- scenarios ---
# Run in this order; the first one is the floor every ratio is taken against.
SCENARIOS=(
    healthz
    resource_get
    resource_set
    command_get
    command_set
    path_get
    list_push
    list_pop
    hash_set
    hash_get
    set_add
    zset_add
    zset_rank
    stream_add
    stream_readgroup
    cache_hit
)

# Shared fixture for the string scenarios.
BENCH_KEY=bench:key

seed_strings() {
    kw_call PUT "/v1/keys/$BENCH_KEY" '{"value":"hello"}' application/json
}

scenario_healthz() {
    bench_case "GET /healthz" GET /healthz
}

scenario_resource_get() {
    seed_strings
    bench_case "GET /v1/keys/$BENCH_KEY" GET "/v1/keys/$BENCH_KEY"
}

scenario_resource_set() {
    bench_case "PUT /v1/keys/$BENCH_KEY" PUT "/v1/keys/$BENCH_KEY" '{"value":"hello"}' application/json
}

scenario_command_get() {
    seed_strings
    bench_case "POST / [\"GET\",\"$BENCH_KEY\"]" POST / "[\"GET\",\"$BENCH_KEY\"]" application/json
}

scenario_command_set() {
    bench_case "POST / [\"SET\",\"$BENCH_KEY\",\"hello\"]" POST / "[\"SET\",\"$BENCH_KEY\",\"hello\"]" application/json
}

scenario_path_get() {
    seed_strings
    bench_case "GET /get/$BENCH_KEY" GET "/get/$BENCH_KEY"
}

# Collections. LPUSH fills the list the RPOP scenario then drains.
scenario_list_push() {
    bench_case 'POST / ["LPUSH","bench:list","job"]' POST / '["LPUSH","bench:list","job"]'
}

scenario_list_pop() {
    bench_case 'POST / ["RPOP","bench:list"]' POST / '["RPOP","bench:list"]'
}

scenario_hash_set() {
    bench_case 'POST / ["HSET","bench:hash","name","Alice"]' POST / '["HSET","bench:hash","name","Alice"]'
}

scenario_hash_get() {
    kw_call POST / '["HSET","bench:hash","name","Alice"]' application/json
    bench_case 'POST / ["HGET","bench:hash","name"]' POST / '["HGET","bench:hash","name"]'
}

# A new member on every request (each wrk connection counts on its own).
scenario_set_add() {
    bench_case 'POST / ["SADD","bench:set",<new member>]' POST / '["SADD","bench:set","m0"]' application/json \
        'n = 0
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, string.format([=[["SADD","bench:set","m%d-%d"]]=], math.random(1, 1000000000), n))
end'
}

scenario_zset_add() {
    bench_case 'POST / ["ZADD","bench:zset",<score>,<new member>]' POST / '["ZADD","bench:zset","1","p0"]' application/json \
        'n = 0
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, string.format([=[["ZADD","bench:zset","%d","p%d-%d"]]=], math.random(1, 1000000), math.random(1, 1000000000), n))
end'
}

# Ranks in the set ZADD just grew (hundreds of thousands of members).
scenario_zset_rank() {
    bench_case 'POST / ["ZRANK","bench:zset","p0"]' POST / '["ZRANK","bench:zset","p0"]'
}

# Streams: XADD (capped near 1M entries), then a consumer group reading
# what XADD wrote, one entry per request.
scenario_stream_add() {
    bench_case 'POST / ["XADD","bench:stream","MAXLEN","~","1000000","*","type","order.created"]' POST / \
        '["XADD","bench:stream","MAXLEN","~","1000000","*","type","order.created"]'
}

scenario_stream_readgroup() {
    kw_call POST / '["XGROUP","CREATE","bench:stream","bench-group","0","MKSTREAM"]' application/json
    bench_case 'POST / ["XREADGROUP","GROUP","bench-group","c1","COUNT","1","STREAMS","bench:stream",">"]' POST / \
        '["XREADGROUP","GROUP","bench-group","c1","COUNT","1","STREAMS","bench:stream",">"]'
}

# Cache-aside HIT: needs an origin, which bench/cache_aside.sh starts (it
# sets BENCH_CACHE_ORIGIN and the matching --cache-origin); skipped without.
scenario_cache_hit() {
    if [[ -z ${BENCH_CACHE_ORIGIN:-} ]]; then echo "bench: cache_hit skipped (run bench/cache_aside.sh)" >&2; return 0; fi
    kw_call GET "/v1/cache/$BENCH_CACHE_ORIGIN/item.json"   # the miss that stores it
    bench_case "GET /v1/cache/$BENCH_CACHE_ORIGIN/item.json (HIT)" GET "/v1/cache/$BENCH_CACHE_ORIGIN/item.json"
}

# ---------------------------------------------------------- machinery ------
die() { echo "bench: $*" >&2; exit 1; }

for tool in wrk curl; do
    command -v "$tool" >/dev/null || die "$tool is required (apt-get install $tool)"
done
[[ $duration =~ ^[0-9]+$ && $duration -ge 1 && $duration -le 600 ]] || die "BENCH_SECONDS must be 1..600"
[[ -x $bin ]] || die "no server binary at $bin (run 'swift build -c release' or set KEYWAY_BIN)"
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")

work=$(mktemp -d "${TMPDIR:-/tmp}/keyway-bench.XXXXXX")
server_pid=
wrk_pid=

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n $wrk_pid ]]; then kill -TERM "$wrk_pid" 2>/dev/null || true; wait "$wrk_pid" 2>/dev/null || true; fi
    if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$server_pid" 2>/dev/null; then
            echo "bench: server did not stop on SIGTERM within 5 s; killing it" >&2
            kill -KILL "$server_pid" 2>/dev/null || true
        fi
        wait "$server_pid" 2>/dev/null || true
    fi
    if ((rc != 0)) && [[ -s $work/server.log ]]; then
        echo "bench: last lines of the server log:" >&2
        tail -n 20 "$work/server.log" >&2
    fi
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
    python3 - <<'EOF' 2>/dev/null || echo $((20000 + RANDOM % 20000))
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
EOF
}

start_server() {
    local attempt
    for attempt in 1 2 3; do
        port=$(free_port)
        base="http://127.0.0.1:$port"
        # No token: unset any the caller has, so the server runs open on loopback.
        (cd "$work" && exec env -u KEYWAY_TOKEN "$bin" serve --bind 127.0.0.1 --port "$port" \
            ${server_args[@]+"${server_args[@]}"} >"$work/server.log" 2>&1) &
        server_pid=$!
        for _ in $(seq 100); do
            if curl -fsS -o /dev/null --max-time 1 "$base/healthz" 2>/dev/null; then return 0; fi
            kill -0 "$server_pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$server_pid" 2>/dev/null; then
            die "server on port $port did not answer GET /healthz within 10 s"
        fi
        wait "$server_pid" 2>/dev/null || true
        server_pid=
        echo "bench: server exited during start-up (attempt $attempt, port $port)" >&2
    done
    die "could not start $bin"
}

# kw_call METHOD PATH [BODY [CONTENT_TYPE]]: one request that must succeed (2xx).
kw_call() {
    local method=$1 path=$2 body=${3-} ctype=${4:-application/json} code
    local -a args=(-sS -o "$work/last-body" -w '%{http_code}' --max-time 5 -X "$method")
    if [[ -n $body ]]; then args+=(-H "Content-Type: $ctype" --data-binary "$body"); fi
    code=$(curl "${args[@]}" "$base$path") || die "$method $path: curl failed"
    if [[ $code != 2?? ]]; then
        die "$method $path answered $code: $(head -c 300 "$work/last-body")"
    fi
}

lua_quote() { # a Lua long string that cannot be closed by the content
    printf '[==[%s]==]' "$1"
}

results=()   # label \t rps \t p50_us \t p99_us \t non2xx \t socket_errors

# bench_case LABEL METHOD PATH [BODY [CONTENT_TYPE]]
bench_case() {
    local label=$1 method=$2 path=$3 body=${4-} ctype=${5:-application/json} request_lua=${6-}
    local script=$work/case.lua log=$work/wrk.out
    # Check the route answers 2xx once before loading it: a fast 404 is no result.
    kw_call "$method" "$path" "$body" "$ctype"
    {
        echo "wrk.method = $(lua_quote "$method")"
        if [[ -n $body ]]; then
            echo "wrk.body = $(lua_quote "$body")"
            echo "wrk.headers[\"Content-Type\"] = $(lua_quote "$ctype")"
        fi
        # An optional `request` function varies each request (new members).
        [[ -n $request_lua ]] && printf '%s\n' "$request_lua"
        cat <<'EOF'
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH_RESULT %d %d %d %d %d %d\n",
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
EOF
    } >"$script"
    printf 'bench: %-44s ' "$label" >&2
    # In the background so that a signal to this script is handled at once.
    timeout $((duration + 30)) wrk -t"$threads" -c"$conns" -d"${duration}s" --timeout 2s \
        -s "$script" "$base$path" >"$log" 2>&1 &
    wrk_pid=$!
    wait "$wrk_pid" || { cat "$log" >&2; die "wrk failed on $label"; }
    wrk_pid=
    local r
    r=$(awk '/^BENCH_RESULT/ {
            rps = ($3 > 0) ? $2 / ($3 / 1e6) : 0
            printf "%.0f\t%d\t%d\t%d\t%d", rps, $4, $5, $6, $7
        }' "$log")
    [[ -n $r ]] || { cat "$log" >&2; die "could not read wrk's result for $label"; }
    echo "$r" | awk -F'\t' '{ printf "%9d req/s  p50 %6.2f ms  p99 %6.2f ms%s\n", $1, $2 / 1000, $3 / 1000,
        ($4 + $5 > 0) ? sprintf("  (%d non-2xx, %d socket errors)", $4, $5) : "" }' >&2
    if ! kill -0 "$server_pid" 2>/dev/null; then die "server died during $label"; fi
    results+=("$label"$'\t'"$r")
}

# --------------------------------------------------------------- run -------
loadavg() { cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?'; }
load_before=$(loadavg)
start_server
echo "bench: $bin on $base, wrk -t$threads -c$conns -d${duration}s per scenario" >&2

# Warm-up (page faults, thread pool, allocator), not reported.
timeout 30 wrk -t"$threads" -c"$conns" -d1s "$base/healthz" >/dev/null 2>&1 || true

for name in "${SCENARIOS[@]}"; do
    if [[ $name != healthz && -n $only && ! $name =~ $only ]]; then continue; fi
    declare -F "scenario_$name" >/dev/null || die "no function scenario_$name"
    "scenario_$name"
done

# ------------------------------------------------------------- report ------
load_after=$(loadavg)
floor=$(printf '%s\n' "${results[0]}" | cut -f2)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo "no commit")
if [[ -n $(git status --porcelain -- Sources Package.swift 2>/dev/null) ]]; then commit+=" (uncommitted changes)"; fi
version=$("$bin" --version 2>/dev/null | head -n1 || true)
when=$(date -u '+%Y-%m-%d %H:%M UTC')
cpus=$(nproc 2>/dev/null || echo '?')

table=$(printf '%s\n' "${results[@]}" | awk -F'\t' -v floor="$floor" '
    BEGIN { OFS = "\t" }
    { ratio = (floor > 0) ? sprintf("%.2f", $2 / floor) : "n/a"
      errs = ($5 + $6 > 0) ? sprintf("%d non-2xx, %d socket", $5, $6) : "0"
      print $1, $2, ratio, sprintf("%.2f", $3 / 1000), sprintf("%.2f", $4 / 1000), errs }')

{
    echo
    printf 'route\treq/s\tvs /healthz\tp50 ms\tp99 ms\terrors\n%s\n' "$table" | awk -F'\t' '
        { for (i = 1; i <= NF; i++) { c[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) } n = NR }
        END { for (r = 1; r <= n; r++) {
                  for (i = 1; i <= 6; i++) printf (i == 1 ? "%-*s" : "  %*s"), w[i], c[r, i]
                  printf "\n"
                  if (r == 1) { t = 0; for (i = 1; i <= 6; i++) t += w[i] + (i > 1 ? 2 : 0); s = ""; for (i = 0; i < t; i++) s = s "-"; print s }
              } }'
    echo
}

mkdir -p "$(dirname "$out")"
{
    echo "# keyway bench: last run"
    echo
    echo "- when: $when"
    echo "- commit: $commit${version:+, \`$version\`}"
    echo "- binary: \`${bin#"$repo"/}\`"
    echo "- load: \`wrk -t$threads -c$conns -d${duration}s\`, keep-alive, loopback, $cpus CPUs shared by server and wrk"
    echo "- load average (1/5/15 min) before: $load_before, after: $load_after (other work on the machine skews the figures)"
    echo "- ratios are to \`GET /healthz\` measured in the same run; absolute req/s vary between machines and runs"
    echo
    echo "| route | req/s | vs /healthz | p50 ms | p99 ms | errors |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: |"
    printf '%s\n' "$table" | awk -F'\t' '{ l = $1; gsub(/\|/, "\\|", l); printf "| `%s` | %d | %s | %s | %s | %s |\n", l, $2, $3, $4, $5, $6 }'
} >"$out"
echo "bench: wrote ${out}" >&2
