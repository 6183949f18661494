#!/usr/bin/env bash
# Tags: one set per post, then set algebra for "posts with all / any / only some tags".
set -euo pipefail
source "$(dirname "$0")/_lib.sh"
trap 'call DEL "$P:post:1:tags" "$P:post:2:tags" "$P:common" >/dev/null' EXIT

# sorted: prints a JSON array's elements in order, since sets have no order of their own.
sorted() { python3 -c 'import json, sys; print(" ".join(sorted(json.loads(sys.argv[1]))))' "$1"; }

echo "1. tag two posts: SADD"
expect "$(result SADD "$P:post:1:tags" rust backend axum)" 3 "tags added to post 1"
expect "$(result SADD "$P:post:2:tags" rust frontend rust)" 2 "tags added to post 2 (duplicates count once)"

echo "2. membership: SISMEMBER"
expect "$(result SISMEMBER "$P:post:1:tags" rust)" 1 "post 1 tagged rust"
expect "$(result SISMEMBER "$P:post:1:tags" frontend)" 0 "post 1 tagged frontend"

echo "3. set algebra"
expect "$(sorted "$(result SINTER "$P:post:1:tags" "$P:post:2:tags")")" "rust" "SINTER (tags on both)"
expect "$(sorted "$(result SUNION "$P:post:1:tags" "$P:post:2:tags")")" "axum backend frontend rust" "SUNION (tags on either)"
expect "$(sorted "$(result SDIFF "$P:post:1:tags" "$P:post:2:tags")")" "axum backend" "SDIFF (only on post 1)"

echo "4. store a result for later: SINTERSTORE"
expect "$(result SINTERSTORE "$P:common" "$P:post:1:tags" "$P:post:2:tags")" 1 "members stored"
expect "$(result SCARD "$P:common")" 1 "SCARD"
echo "tags: all checks passed"
