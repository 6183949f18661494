#!/usr/bin/env bash
# bench/ratelimit.sh: what the gateway's rate limit costs a request.
#
#   make bench                      # runs this after bench/run.sh
#   KEYWAY_BIN=.build/release/keyway BENCH_PAIRS=3 BENCH_SECONDS=5 bench/ratelimit.sh
#
# Measures the same route, `GET /v1/keys/bench:key`, on a server without and
# with `--rate-limit` (a limit high enough that nothing is refused, so every
# request pays for the check and still gets its 200), using bench/run.sh's
# resource GET scenario and its /healthz floor (exempt from the limit).
# The two servers alternate BENCH_PAIRS times, because run-to-run noise on a
# shared machine is larger than the effect measured; the report gives each
# pair's req/s and the median of the with/without ratios, raw and relative
# to each run's own /healthz. Both servers run with `--save ""`: with the
# limit on every request writes its counter, which would otherwise trigger
# background snapshots mid-run.
#
# Environment: KEYWAY_BIN, BENCH_SECONDS (default 5), BENCH_PAIRS (default 3),
# BENCH_CONNECTIONS, BENCH_THREADS (passed to bench/run.sh).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
pairs=${BENCH_PAIRS:-3}
[[ $pairs =~ ^[0-9]+$ && $pairs -ge 1 && $pairs -le 20 ]] || { echo "bench: BENCH_PAIRS must be 1..20" >&2; exit 1; }
export BENCH_SECONDS=${BENCH_SECONDS:-5}
work=$(mktemp -d "${TMPDIR:-/tmp}/keyway-ratelimit-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
# `save ""` through a config file: BENCH_SERVER_ARGS cannot carry an empty word.
printf 'save ""\n' >"$work/bench.conf"

# One bench/run.sh of the resource GET scenario; prints "<healthz rps> <route rps>".
measure() {
    local args=$1 log=$work/run.log
    BENCH_ONLY='^resource_get$' BENCH_SERVER_ARGS="--config $work/bench.conf $args" BENCH_OUT="$work/run.md" \
        bash bench/run.sh >/dev/null 2>"$log" || { cat "$log" >&2; exit 1; }
    awk 'function rps(   i) { for (i = 2; i <= NF; i++) if ($i == "req/s") return $(i - 1) }
         /^bench: GET \/healthz/ { h = rps() } /^bench: GET \/v1\/keys/ { r = rps() } END { print h, r }' "$log"
}

rows=()
for i in $(seq "$pairs"); do
    without=$(measure "")
    with=$(measure "--rate-limit 1000000000/60")
    read -r h_off r_off <<<"$without"
    read -r h_on r_on <<<"$with"
    rows+=("$i $h_off $r_off $h_on $r_on")
    echo "bench: pair $i: without $r_off req/s (healthz $h_off), with $r_on req/s (healthz $h_on)" >&2
done

printf '%s\n' "${rows[@]}" | awk '
function median(a, n,   i, j, t) {
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
BEGIN {
    print "| pair | GET /v1/keys without | with --rate-limit | with / without | same, each vs its /healthz |"
    print "| ---: | ---: | ---: | ---: | ---: |"
}
{
    raw[NR] = $5 / $3
    norm[NR] = ($5 / $4) / ($3 / $2)
    printf "| %d | %d | %d | %.2f | %.2f |\n", $1, $3, $5, raw[NR], norm[NR]
}
END {
    printf "\nmedian with/without: %.2f (vs /healthz: %.2f)\n", median(raw, NR), median(norm, NR)
}'
