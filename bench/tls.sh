#!/usr/bin/env bash
# bench/tls.sh: HTTPS (libmicrohttpd's GnuTLS) beside plain HTTP, same server,
# same run, keep-alive: `wrk -t1 -c64` against GET /v1/keys/KEY and GET
# /healthz on the plain port and on the TLS port, alternating plain/TLS
# rounds so drift on a shared machine hits both alike. Prints req/s and the
# HTTPS/HTTP ratio per round. Certificates come from a throwaway CA made
# with openssl in a scratch directory.
#
#   KEYWAY_BIN=.build/release/keyway BENCH_SECONDS=5 BENCH_ROUNDS=3 bench/tls.sh
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${KEYWAY_BIN:-$repo/.build/release/keyway}
duration=${BENCH_SECONDS:-5}
rounds=${BENCH_ROUNDS:-3}
conns=${BENCH_CONNECTIONS:-64}
for tool in wrk curl openssl python3; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is required" >&2; exit 1; }
done
[[ -x $bin ]] || { echo "bench: no server binary at $bin" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/keyway-tls-bench.XXXXXX")
server_pid=
cleanup() {
    if [[ -n $server_pid ]]; then kill -TERM "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

cd "$work"
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj "/CN=Keyway Bench CA" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=localhost" 2>/dev/null
echo "subjectAltName=IP:127.0.0.1,DNS:localhost" >san.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -set_serial 0x1001 -days 2 -extfile san.ext -out server.pem 2>/dev/null

ports=$(python3 -c 'import socket
a=socket.socket(); a.bind(("127.0.0.1",0)); b=socket.socket(); b.bind(("127.0.0.1",0))
print(a.getsockname()[1], b.getsockname()[1])')
read -r port tls_port <<<"$ports"
"$bin" serve --port "$port" --tls-port "$tls_port" --tls-cert-file server.pem --tls-key-file server.key \
    --loglevel warning >server.log 2>&1 &
server_pid=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fs --cacert ca.pem "https://127.0.0.1:$tls_port/readyz" >/dev/null
curl -fs -X POST "http://127.0.0.1:$port/" -d '["SET","bench:key","hello world"]' >/dev/null

rate() {  # URL -> req/s
    wrk -t1 -c"$conns" -d"${duration}s" "$1" | awk '/Requests\/sec/ {printf "%d", $2}'
}

printf '| round | path | HTTP req/s | HTTPS req/s | HTTPS / HTTP |\n|---|---|---|---|---|\n'
for round in $(seq "$rounds"); do
    for path in /v1/keys/bench:key /healthz; do
        plain=$(rate "http://127.0.0.1:$port$path")
        tls=$(rate "https://127.0.0.1:$tls_port$path")
        printf '| %d | GET %s | %s | %s | %s |\n' "$round" "$path" "$plain" "$tls" \
            "$(python3 -c "print(f'{$tls/$plain:.2f}')")"
    done
done
