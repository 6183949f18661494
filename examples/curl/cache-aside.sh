#!/usr/bin/env bash
# Cache-aside: read through the cache, fill it from the database on a miss with a TTL,
# and delete the cached copy when the record changes.
set -euo pipefail
source "$(dirname "$0")/_lib.sh"
KEY="$P:user:42"
trap 'call DEL "$KEY" >/dev/null' EXIT

# Stands in for a slow database: sets USER and counts the queries.
DB_NAME=Alice DB_QUERIES=0
load_user_from_db() { DB_QUERIES=$((DB_QUERIES + 1)); USER="{\"id\":42,\"name\":\"$DB_NAME\"}"; }

get_user() {
    local cached
    cached=$(result GET "$KEY")             # a JSON string, or null on a miss
    if [ "$cached" != null ]; then
        USER=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1]))' "$cached")
        return
    fi
    load_user_from_db
    call SET "$KEY" "$USER" EX 3600 >/dev/null   # cache it for an hour
}

echo "1. first read misses the cache and queries the database"
get_user
expect "$USER" '{"id":42,"name":"Alice"}' "user"
expect "$DB_QUERIES" 1 "database queries"
in_range "$(result TTL "$KEY")" 1 3600 "seconds left in the cache (TTL)"

echo "2. second read is served from the cache"
get_user
expect "$USER" '{"id":42,"name":"Alice"}' "user"
expect "$DB_QUERIES" 1 "database queries"

echo "3. an update invalidates the cache (DEL), so the next read sees the new name"
DB_NAME=Alicia
expect "$(call DEL "$KEY")" '{"result":1}' "DEL"
get_user
expect "$USER" '{"id":42,"name":"Alicia"}' "user"
expect "$DB_QUERIES" 2 "database queries"
echo "cache-aside: all checks passed"
