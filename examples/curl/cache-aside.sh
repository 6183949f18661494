#!/usr/bin/env bash
# Cache-aside: read through the cache, fill it from the database on a miss with a TTL,
# and delete the cached copy when the record changes.
set -euo pipefail
source "$(dirname "$0")/_lib.sh"
trap 'call DEL "$P:user:42" >/dev/null' EXIT

# Stands in for a slow database: sets USER and counts the queries.
DB_NAME=Alice DB_QUERIES=0
load_user_from_db() { DB_QUERIES=$((DB_QUERIES + 1)); USER="{\"id\":42,\"name\":\"$DB_NAME\"}"; }

get_user() {
    local cached
    cached=$(result GET "$P:user:42")
    if [ "$cached" != null ]; then USER=$cached; return; fi
    load_user_from_db
    result SET "$P:user:42" "$USER" EX 3600 >/dev/null   # SET key value EX 3600 (SETEX)
}

echo "1. first read misses the cache and queries the database"
get_user
expect "$USER" '{"id":42,"name":"Alice"}' "user"
expect "$DB_QUERIES" 1 "database queries"
ttl=$(result TTL "$P:user:42")
[ "$ttl" -gt 0 ] && [ "$ttl" -le 3600 ] || { echo "FAIL: TTL $ttl not in 1..3600" >&2; exit 1; }
echo "  ok: cached with TTL $ttl s"

echo "2. second read is served from the cache"
get_user
expect "$USER" '{"id":42,"name":"Alice"}' "user"
expect "$DB_QUERIES" 1 "database queries"

echo "3. an update invalidates the cache (DEL), so the next read sees the new name"
DB_NAME=Alicia
expect "$(result DEL "$P:user:42")" 1 "keys deleted"
get_user
expect "$USER" '{"id":42,"name":"Alicia"}' "user"
expect "$DB_QUERIES" 2 "database queries"
echo "cache-aside: all checks passed"
