# Shared by the curl examples: where the server is, how to send a command, how to check a reply.
# Point it elsewhere with KEYWAY_URL=http://host:port and KEYWAY_TOKEN=secret.

KEYWAY_URL=${KEYWAY_URL:-http://127.0.0.1:7379}
AUTH=()
if [ -n "${KEYWAY_TOKEN:-}" ]; then AUTH=(-H "Authorization: Bearer $KEYWAY_TOKEN"); fi

# Every run uses fresh keys, so examples can run again and side by side.
P="example:$(basename "$0" .sh):$$$RANDOM"

# call ARG... : POST / with ["ARG", ...] as JSON; prints the raw reply, e.g. {"result":"OK"}.
call() {
    local body
    body=$(python3 -c 'import json, sys; print(json.dumps(sys.argv[1:]))' "$@")
    curl -sS --max-time 40 "${AUTH[@]}" -X POST "$KEYWAY_URL/" -d "$body"
}

# result ARG... : runs the command and prints only its result: a string as-is, anything else as
# compact JSON (null, 42, ["a","b"]). A Redis error goes to stderr and the function fails.
result() {
    call "$@" | python3 -c '
import json, sys
reply = json.load(sys.stdin)
if "error" in reply:
    sys.exit("error: " + reply["error"])
value = reply["result"]
print(value if isinstance(value, str) else json.dumps(value, separators=(",", ":")))'
}

# expect ACTUAL WANTED WHAT : prints a check mark or stops the script with a non-zero exit.
expect() {
    if [ "$1" != "$2" ]; then
        echo "FAIL: $3: got '$1', want '$2'" >&2
        exit 1
    fi
    echo "  ok: $3 = $1"
}
