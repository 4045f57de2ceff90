#!/usr/bin/env bash
# Checks public Kurtosis packages as a new user would: every package under DIR, without
# arguments and with each argument file of its own CI (.github/tests/*.yaml, *.yml, *.json),
# then prints how many runs were clean and how many had errors, and every remaining error with
# the reason it was judged genuine (scripts/public-packages-reasons.tsv: package, code, reason).
#
# DIR is laid out as a packages folder, `DIR/github.com/<org>/<repo>/` (and
# `DIR/github.com/<org>/<repo>@<ref>/` for pinned versions), so it also serves the packages'
# dependencies. Exit status: 1 when an error has no reason on file.
#
# usage: scripts/check-public-packages.sh DIR      (STARFLAKE=path/to/starflake to skip the build)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dir=$(cd "${1:?usage: $0 DIR (a folder of checkouts laid out as github.com/<org>/<repo>/)}" && pwd)
reasons="$root/scripts/public-packages-reasons.tsv"
if [[ -z "${STARFLAKE:-}" ]]; then
    cargo build --quiet --manifest-path "$root/Cargo.toml"
    STARFLAKE="$root/target/debug/starflake"
fi

reason_for() { # package code
    awk -F '\t' -v package="$1" -v code="$2" '$1 == package && $2 == code { print $3; exit }' "$reasons"
}

clean=0 with_errors=0 unexplained=0 runs=0
report=""
check() { # package-folder package-name [args-file]
    local package=$1 name=$2 args_file=${3:-}
    local options=(--packages "$dir" --color never --timeout 30)
    [[ -n "$args_file" ]] && options+=(--args-file "$args_file")
    local output
    output=$("$STARFLAKE" check "$package" "${options[@]}" 2>&1 || true)
    runs=$((runs + 1))
    local errors
    errors=$(printf '%s\n' "$output" | awk '/^error\[SF[0-9]+\]/ { message = $0; getline; sub(/^ *--> */, ""); print message " at " $0 }')
    if [[ -z "$errors" ]]; then
        clean=$((clean + 1))
        return
    fi
    with_errors=$((with_errors + 1))
    local label="$name${args_file:+ with ${args_file#"$dir/"}}"
    while IFS= read -r error; do
        local code reason
        code=$(printf '%s' "$error" | sed -E 's/^error\[(SF[0-9]+)\].*/\1/')
        reason=$(reason_for "$name" "$code")
        if [[ -z "$reason" ]]; then
            unexplained=$((unexplained + 1))
            reason="NO REASON ON FILE: a false error until shown otherwise"
        fi
        report+="$label"$'\n'"  $error"$'\n'"  reason: $reason"$'\n'
    done <<<"$errors"
}

while IFS= read -r manifest; do
    package=$(dirname "$manifest")
    [[ -f "$package/main.star" ]] || continue
    name=${package#"$dir/"}
    repository=$(printf '%s' "$name" | cut -d/ -f1-3)
    check "$package" "$name"
    for args_file in "$dir/$repository"/.github/tests/*.{yaml,yml,json}; do
        [[ -f "$args_file" && "$package" == "$dir/$repository" ]] && check "$package" "$name" "$args_file"
    done
done < <(find "$dir"/github.com/*/* -maxdepth 0 -type d ! -name '*@*' -print0 \
    | xargs -0 -I{} find {} -name kurtosis.yml -not -path '*/node_modules/*' | sort)

printf '%s' "$report"
echo "$runs runs: $clean clean, $with_errors with errors ($unexplained errors without a reason on file)"
[[ $unexplained -eq 0 ]]
