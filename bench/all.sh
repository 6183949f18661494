#!/usr/bin/env bash
# bench/all.sh: every benchmark `make bench` runs, one after another, in
# one run, each beside its reference (the C libmicrohttpd floor or a
# Debian redis-server started by the script itself).
#
#   make bench                                  # release build, then this
#   KEYWAY_BIN=$PWD/.build/release/keyway bash bench/all.sh
#
# Everything printed is also written to bench/last-bench.log (BENCH_LOG),
# each step headed by its command and the time it started, so the figures
# in docs/BENCHMARKS.md can be traced to the run they came from.
# Nothing else should run on the machine meanwhile: the figures are ratios
# taken within one run, and a busy CPU skews both sides unevenly.
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
bin=${KEYWAY_BIN:-$repo/.build/release/keyway}
case "$bin" in /*) ;; *) bin="$repo/$bin" ;; esac
export KEYWAY_BIN=$bin
python=${PYTHON:-python3}
swift=${SWIFT:-swift}
log=${BENCH_LOG:-$repo/bench/last-bench.log}

# Each step: a title, then the command. Issue #13's goals, in order, come first.
steps=(
    "goal 1: the HTTP path beside the C floor|bash bench/floor.sh"
    "goal 1: instructions per request beside the floor|$python bench/instructions.py"
    "goal 2: pipelines and transactions beside redis-benchmark -P 100|bash bench/pipeline.sh"
    "goal 2: a 20,000-command pipeline|N_COMMANDS=20000 $python bench/big_pipeline_reply.py"
    "goal 2: a 200,000-command pipeline|N_COMMANDS=200000 $python bench/big_pipeline_reply.py"
    "goal 2: how long the largest commands hold the engine|$python bench/lock_hold.py 1000000"
    "goal 3: memory per key beside redis-server|N_KEYS=1000000 $python bench/memory_per_key.py"
    "goal 4: footprint at rest beside redis-server|$python bench/footprint.py"
    "goal 4: memory per idle connection|$python bench/connection_memory.py 10000"
    "goal 4: 20,000 SSE subscribers|$python bench/sse_fanout.py 20000 5"
    "goal 5: SAVE and load beside redis-server|STRING_SHAPE=session N_ELEMENTS=10000 $python bench/persistence.py"
    "throughput per route (wrk)|bash bench/run.sh"
    "cache-aside hit beside a plain GET|bash bench/cache_aside.sh"
    "HTTPS beside plain HTTP|bash bench/tls.sh"
    "access control cost|bash bench/acl.sh"
    "rate limit middleware|$python bench/ratelimit.py"
    "cache hit ratio under eviction|$python bench/eviction_hit_ratio.py"
    "engine micro-benchmarks|$swift run -c release EngineBench"
    "router micro-benchmarks|$swift run -c release RouterBench"
)

: >"$log"
failed=()
{
    echo "# make bench, $(date -u '+%Y-%m-%d %H:%M:%S UTC'), $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "# binary: $bin"
} | tee -a "$log"
for step in "${steps[@]}"; do
    title=${step%%|*}
    command=${step#*|}
    printf '\n## %s\n# %s  (started %s, load %s)\n' "$title" "$command" "$(date -u +%H:%M:%S)" "$(cut -d' ' -f1 /proc/loadavg)" | tee -a "$log"
    if ! bash -c "$command" 2>&1 | tee -a "$log"; then
        failed+=("$title")
        echo "# FAILED: $title" | tee -a "$log"
    fi
done
printf '\n# finished %s\n' "$(date -u '+%H:%M:%S UTC')" | tee -a "$log"
if [ "${#failed[@]}" -gt 0 ]; then
    printf '# failed steps: %s\n' "${failed[*]}" | tee -a "$log"
    exit 1
fi
