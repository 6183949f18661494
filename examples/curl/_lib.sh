# Shared by the curl examples: where the server is, how to send a command, how to check a reply.
# Point them elsewhere with KEYWAY_URL=http://host:port and KEYWAY_TOKEN=secret.

KEYWAY_URL=${KEYWAY_URL:-http://127.0.0.1:7379}
AUTH=()
if [ -n "${KEYWAY_TOKEN:-}" ]; then AUTH=(-H "Authorization: Bearer $KEYWAY_TOKEN"); fi

# Every run uses fresh keys, so examples can run again and side by side.
P="example:$(basename "$0" .sh):$$$RANDOM"

# json_args ARG... : prints the arguments as a JSON array of strings, ["SET","k","v"].
json_args() {
    local out="" arg
    for arg in "$@"; do
        arg=${arg//\\/\\\\}; arg=${arg//\"/\\\"}
        arg=${arg//$'\n'/\\n}; arg=${arg//$'\t'/\\t}; arg=${arg//$'\r'/\\r}
        out+="${out:+,}\"$arg\""
    done
    echo "[$out]"
}

# call ARG... : one command through POST / ; prints the reply: {"result":...} or {"error":"..."}.
call() {
    curl -sS --max-time 40 "${AUTH[@]}" -X POST "$KEYWAY_URL/" -d "$(json_args "$@")"
}

# result ARG... : only the result, as JSON (2, "OK", null, ["a","b"]); a Redis error fails.
result() {
    local reply
    reply=$(call "$@")
    case $reply in
        '{"result":'*) reply=${reply#'{"result":'}; echo "${reply%\}}" ;;
        *) echo "error: $reply" >&2; return 1 ;;
    esac
}

# expect ACTUAL WANTED WHAT : prints a check mark, or stops the script with a non-zero exit.
expect() {
    if [ "$1" != "$2" ]; then
        echo "FAIL: $3: got '$1', want '$2'" >&2
        exit 1
    fi
    echo "  ok: $3: $1"
}

# in_range N LOW HIGH WHAT : checks LOW <= N <= HIGH (for TTLs, which tick down).
in_range() {
    if ! [ "$1" -ge "$2" ] 2>/dev/null || ! [ "$1" -le "$3" ]; then
        echo "FAIL: $4: got '$1', want $2..$3" >&2
        exit 1
    fi
    echo "  ok: $4: $1"
}
