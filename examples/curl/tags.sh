#!/usr/bin/env bash
# Tags: one set per post, then set algebra for "posts with all / any / only some tags".
set -euo pipefail
source "$(dirname "$0")/_lib.sh"
POST1="$P:post:1:tags" POST2="$P:post:2:tags"
trap 'call DEL "$POST1" "$POST2" "$P:common" >/dev/null' EXIT

# members ARG... : runs a set command and prints its members sorted, since sets have no order.
members() { result "$@" | tr -d '[]"' | tr ',' '\n' | sort | paste -sd' ' -; }

echo "1. tag two posts: SADD"
expect "$(call SADD "$POST1" rust backend axum)" '{"result":3}' "SADD to post 1"
expect "$(call SADD "$POST2" rust frontend rust)" '{"result":2}' "SADD to post 2 (duplicates count once)"

echo "2. membership: SISMEMBER"
expect "$(call SISMEMBER "$POST1" rust)" '{"result":1}' "post 1 tagged rust"
expect "$(call SISMEMBER "$POST1" frontend)" '{"result":0}' "post 1 tagged frontend"

echo "3. set algebra"
expect "$(members SINTER "$POST1" "$POST2")" "rust" "SINTER (tags on both)"
expect "$(members SUNION "$POST1" "$POST2")" "axum backend frontend rust" "SUNION (tags on either)"
expect "$(members SDIFF "$POST1" "$POST2")" "axum backend" "SDIFF (only on post 1)"

echo "4. keep a result for later: SINTERSTORE"
expect "$(call SINTERSTORE "$P:common" "$POST1" "$POST2")" '{"result":1}' "SINTERSTORE"
expect "$(call SMEMBERS "$P:common")" '{"result":["rust"]}' "SMEMBERS"
echo "tags: all checks passed"
