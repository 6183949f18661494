#!/usr/bin/env bash
# check-docker-libs.sh: does the Dockerfile's runtime stage install every
# shared library a binary needs?
#
#   scripts/check-docker-libs.sh [--dockerfile PATH] BINARY [BINARY...]
#
# For each BINARY, runs `ldd` and maps every library it resolves to the Debian
# package owning it (`dpkg-query -S`, trying /lib <-> /usr/lib aliases from
# usrmerge and the symlink target). A library is covered when its package is
#   - named on an `apt-get install` line of the Dockerfile's final stage, or
#   - pulled in by one of those (Depends/Pre-Depends closure, first
#     alternative, as apt resolves it on a fresh image), or
#   - in the closure of Debian's Essential packages, which every Debian image,
#     debian:bookworm-slim included, has (libc6, libgcc-s1, zlib1g, ...).
# Packages that bookworm-slim merely happens to contain today (libstdc++6,
# GnuTLS, via apt) are NOT counted: name them in the Dockerfile.
#
# Swift runtime libraries (libswiftCore.so, libFoundation.so, ... from the
# toolchain's lib/swift/linux) count as covered only when the Dockerfile
# builds with --static-swift-stdlib and the toolchain has the matching static
# archive (lib/swift_static/linux/*.a): then the image links them in, and a
# binary built here without the flag can still be checked (their own system
# dependencies, listed by ldd as well, are still checked).
#
# Dependency data comes from this machine's dpkg database, so run it on the
# same Debian release as the image (bookworm here) after building BINARY.
# Limits: ldd sees DT_NEEDED libraries only, not dlopen()ed ones.
#
# Exit status: 0 all covered, 1 something is not covered, 2 usage error.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dockerfile="$here/../Dockerfile"
binaries=()

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 2; }

while (($#)); do
    case $1 in
        --dockerfile) dockerfile=${2:?--dockerfile needs a path}; shift 2 ;;
        --dockerfile=*) dockerfile=${1#*=}; shift ;;
        -h|--help) usage ;;
        --) shift; binaries+=("$@"); break ;;
        -*) echo "unknown option: $1" >&2; exit 2 ;;
        *) binaries+=("$1"); shift ;;
    esac
done
((${#binaries[@]})) || usage
for tool in ldd dpkg-query awk; do
    command -v "$tool" >/dev/null || { echo "error: $tool not found (this check needs a Debian host)" >&2; exit 2; }
done
[[ -f $dockerfile ]] || { echo "error: no Dockerfile at $dockerfile" >&2; exit 2; }

# --- 1. packages the final stage installs ----------------------------------
# Join continuation lines (Docker drops comment lines inside them), keep the
# instructions after the last FROM, and take the words after `apt-get install`
# / `apt install` up to the next shell operator, skipping options.
mapfile -t requested < <(awk '
    function flush() { if (buf != "") { instr[++n] = buf; buf = "" } }
    /^[[:space:]]*#/ { next }
    {
        line = $0
        cont = sub(/\\[[:space:]]*$/, "", line)
        buf = buf " " line
        if (!cont) flush()
    }
    END {
        flush()
        last = 0
        for (i = 1; i <= n; i++) if (instr[i] ~ /^[[:space:]]*[Ff][Rr][Oo][Mm][[:space:]]/) last = i
        for (i = last + 1; i <= n; i++) {
            if (instr[i] !~ /^[[:space:]]*[Rr][Uu][Nn][[:space:]]/) continue
            s = instr[i]
            gsub(/&&|\|\||;|\||\(|\)/, " ; ", s)
            m = split(s, w, /[[:space:]]+/)
            on = 0
            for (j = 1; j <= m; j++) {
                if (w[j] == ";") { on = 0; continue }
                if (on) {
                    if (w[j] ~ /^-/ || w[j] ~ /\$/ || w[j] == "") continue
                    p = w[j]; sub(/=.*/, "", p); sub(/:.*/, "", p)
                    print p
                } else if ((w[j] == "apt-get" || w[j] == "apt") && w[j+1] ~ /^-/) {
                    # apt-get -y install ...
                    for (k = j + 1; k <= m && w[k] ~ /^-/; k++) ;
                    if (w[k] == "install") { on = 1; j = k }
                } else if ((w[j] == "apt-get" || w[j] == "apt") && w[j+1] == "install") {
                    on = 1; j++
                }
            }
        }
    }' "$dockerfile" | sort -u)

# Does the build link the Swift runtime statically? (any non-comment line)
static_stdlib=no
if grep -v '^[[:space:]]*#' "$dockerfile" | grep -q -- '--static-swift-stdlib'; then static_stdlib=yes; fi

# --- 2. dependency closures from the dpkg database -------------------------
declare -A deps=() essential=() provider=() installed=()
# \x1f separates fields: with a whitespace IFS, empty fields would collapse.
while IFS=$'\x1f' read -r pkg ess provides dlist; do
    installed[$pkg]=1
    if [[ $ess == yes ]]; then essential[$pkg]=1; fi
    deps[$pkg]="${deps[$pkg]:-}, $dlist"
    IFS=',' read -ra provs <<<"$provides"
    for pv in "${provs[@]}"; do
        pv=${pv%%(*}; pv=${pv// /}; pv=${pv%%:*}
        if [[ -n $pv && -z ${provider[$pv]:-} ]]; then provider[$pv]=$pkg; fi
    done
done < <(us=$'\x1f'; dpkg-query -W -f="\${Package}$us\${Essential}$us\${Provides}$us\${Pre-Depends}, \${Depends}\n")

# closure NAME_OF_RESULT_ARRAY ROOT... : fills result[pkg]=parent (root: "-")
closure() {
    local -n out=$1; shift
    local -a queue=() ; local p parent part first
    for p in "$@"; do queue+=("$p" "-"); done
    while ((${#queue[@]})); do
        p=${queue[0]}; parent=${queue[1]}; queue=("${queue[@]:2}")
        if [[ -z ${installed[$p]:-} && -n ${provider[$p]:-} ]]; then p=${provider[$p]}; fi
        [[ -n ${out[$p]:-} ]] && continue
        # shellcheck disable=SC2004  # out is a nameref to an associative array
        out[$p]=$parent
        [[ -z ${installed[$p]:-} ]] && continue
        IFS=',' read -ra parts <<<"${deps[$p]}"
        for part in "${parts[@]}"; do
            first=${part%%|*}; first=${first%%(*}; first=${first//[[:space:]]/}; first=${first%%:*}
            if [[ -n $first ]]; then queue+=("$first" "$p"); fi
        done
    done
    return 0
}
declare -A from_install=() from_base=()
if ((${#requested[@]})); then closure from_install "${requested[@]}"; fi
closure from_base "${!essential[@]}"

for p in "${requested[@]}"; do
    [[ -n ${installed[$p]:-} || -n ${provider[$p]:-} ]] ||
        echo "warning: $p (named in the Dockerfile) is not installed on this machine; its dependencies are unknown here" >&2
done

# --- 3. owner of a file ------------------------------------------------------
owner_of() {
    local path=$1 cand real out
    local -a cands=("$path")
    case $path in
        /usr/lib/*|/usr/lib64/*) cands+=("${path#/usr}") ;;
        /lib/*|/lib64/*) cands+=("/usr$path") ;;
    esac
    real=$(readlink -f "$path" 2>/dev/null || true)
    if [[ -n $real && $real != "$path" ]]; then
        cands+=("$real")
        case $real in
            /usr/lib/*|/usr/lib64/*) cands+=("${real#/usr}") ;;
            /lib/*|/lib64/*) cands+=("/usr$real") ;;
        esac
    fi
    for cand in "${cands[@]}"; do
        out=$(dpkg-query -S "$cand" 2>/dev/null | awk -F': ' '$1 !~ /^diversion/ && NF >= 2 {print $1; exit}') || true
        if [[ -n $out ]]; then
            out=${out//,/ }
            # "libc6:amd64" -> "libc6"; several owners stay space-separated
            echo "$out" | awk '{for (i = 1; i <= NF; i++) { sub(/:.*/, "", $i); printf "%s%s", (i > 1 ? " " : ""), $i } print ""}'
            return 0
        fi
    done
    return 1
}

# --- 4. check each binary ----------------------------------------------------
echo "Dockerfile:  $dockerfile"
echo "final stage installs: ${requested[*]:-(nothing)}"
echo "Swift runtime linked statically (--static-swift-stdlib): $static_stdlib"
status=0
for bin in "${binaries[@]}"; do
    echo
    echo "== $bin"
    if [[ ! -f $bin ]]; then echo "error: no such file" >&2; status=1; continue; fi
    lddout=$(ldd "$bin" 2>&1) || true
    if grep -qE 'not a dynamic executable|statically linked' <<<"$lddout"; then
        echo "statically linked: no shared libraries to provide"; continue
    fi
    rows=(); missing=()
    while IFS= read -r line; do
        line=${line#"${line%%[![:space:]]*}"}
        [[ -z $line ]] && continue
        lib='' path=''
        if [[ $line == *" => not found"* ]]; then
            lib=${line%% *}; path="NOT FOUND"
        elif [[ $line == *" => "* ]]; then
            lib=${line%% =>*}; path=${line#* => }; path=${path%% (*}
        elif [[ $line == /* ]]; then
            path=${line%% (*}; lib=${path##*/}
        else
            continue    # linux-vdso.so.1 and similar: provided by the kernel
        fi
        [[ -z $path ]] && continue   # e.g. "libfoo.so =>  (0x...)"
        pkg='' via=''
        if [[ $path == "NOT FOUND" ]]; then
            pkg="?"; via="MISSING: ldd cannot find it"
        elif [[ $path == */lib/swift/linux/*.so* ]]; then
            pkg="swift toolchain"
            archive="${path%/lib/swift/linux/*}/lib/swift_static/linux/${lib%%.so*}.a"
            if [[ $static_stdlib == yes && -f $archive ]]; then
                via="linked statically (--static-swift-stdlib)"
            elif [[ $static_stdlib == yes ]]; then
                via="MISSING: no static archive ${archive##*/} in the toolchain"
            else
                via="MISSING: Swift runtime; build with --static-swift-stdlib"
            fi
        elif ! pkg=$(owner_of "$path"); then
            pkg="?"; via="MISSING: no package owns $path"
        else
            via=
            for p in $pkg; do
                if [[ -n ${from_base[$p]:-} ]]; then
                    via="base image (Essential set)"
                    break
                elif [[ -n ${from_install[$p]:-} ]]; then
                    if [[ ${from_install[$p]} == "-" ]]; then via="apt-get install $p"
                    else via="apt: dependency of ${from_install[$p]}"; fi
                    break
                fi
            done
            if [[ -z $via ]]; then via="MISSING: add $pkg to the runtime apt-get install"; fi
        fi
        rows+=("$lib"$'\t'"$path"$'\t'"$pkg"$'\t'"$via")
        if [[ $via == MISSING* ]]; then missing+=("$lib ($pkg): ${via#MISSING: }"); fi
    done <<<"$lddout"
    {
        printf 'LIBRARY\tRESOLVED\tPACKAGE\tCOVERED BY\n'
        printf '%s\n' "${rows[@]}"
    } | awk -F'\t' '
        { for (i = 1; i <= NF; i++) { cell[NR, i] = $i; if (length($i) > wd[i]) wd[i] = length($i) } nr = NR }
        END { for (r = 1; r <= nr; r++) { for (i = 1; i <= 4; i++) printf "%-*s%s", (i < 4 ? wd[i] : 0), cell[r, i], (i < 4 ? "  " : "\n") } }'
    if ((${#missing[@]})); then
        status=1
        echo "NOT COVERED (${#missing[@]}):"
        printf '  - %s\n' "${missing[@]}"
    else
        echo "OK: all ${#rows[@]} libraries are covered by the runtime stage"
    fi
done
exit $status
