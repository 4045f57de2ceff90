#!/usr/bin/env bash
# Fuzzes the checker with cargo-fuzz (libFuzzer), one target after the other, each for SECONDS
# (default 60): the whole check of an in-memory package, the flake reader, kurtosis.yml, the
# package arguments and the language server's message handler. Seeds come from
# tests/fixtures/check. A crash, a hang (one input over 10 s) or an input that makes the process
# pass 1 GB leaves the input under fuzz/artifacts/<target>/ and fails the script: minimize it
# (`cargo fuzz tmin -s none <target> <file>`) and make it a regression fixture.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# Needs only the stable toolchain: without a sanitizer (`-s none`) cargo-fuzz passes rustc no
# unstable flag, and libFuzzer's coverage instrumentation is a stable codegen option.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_TARGET=${1:-60}
shift || true
TARGETS=("$@")
if [[ ${#TARGETS[@]} -eq 0 ]]; then
    TARGETS=(check_package flake_reader kurtosis_yml package_args lsp_server)
fi

# libfuzzer-sys compiles libFuzzer itself (C++).
if ! command -v c++ >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq g++
fi
# Pinned: the release known to build with the project's stable toolchain.
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --version 0.13.2 --locked
fi

# Seeds: every fixture package as one input (its main.star, then each other file after a line
# `=== path`), and each flake.nix, kurtosis.yml, args file and Starlark file on its own.
CORPUS=fuzz/corpus
mkdir -p "$CORPUS"/{check_package,flake_reader,kurtosis_yml,package_args,lsp_server}
for fixture in tests/fixtures/check/*; do
    name=$(basename "$fixture")
    {
        cat "$fixture/main.star" 2>/dev/null || true
        find "$fixture" -type f ! -name expected.snap ! -path "$fixture/main.star" -printf '%P\n' |
            sort | while read -r file; do
                printf '=== %s\n' "$file"
                cat "$fixture/$file"
            done
    } >"$CORPUS/check_package/$name"
    find "$fixture" -name flake.nix -exec sh -c 'cp "$1" "$2/$(echo "$1" | md5sum | cut -c1-16)"' _ {} "$CORPUS/flake_reader" \;
    find "$fixture" -name '*.star' -exec sh -c 'cp "$1" "$2/$(echo "$1" | md5sum | cut -c1-16)"' _ {} "$CORPUS/lsp_server" \;
    if [[ -f $fixture/kurtosis.yml ]]; then
        cp "$fixture/kurtosis.yml" "$CORPUS/kurtosis_yml/$name"
    fi
    for args in "$fixture"/args.*; do
        if [[ -f $args ]]; then
            cp "$args" "$CORPUS/package_args/$name"
        fi
    done
done

status=0
for target in "${TARGETS[@]}"; do
    printf '==> fuzz %s for %s s\n' "$target" "$SECONDS_PER_TARGET" >&2
    # One process (the machine's other core stays free); -rss_limit_mb is also the largest
    # single allocation allowed: the checker's memory budget keeps it far below.
    if ! cargo fuzz run -s none --fuzz-dir fuzz "$target" "$CORPUS/$target" -- \
        -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=1024 -timeout=10 -print_final_stats=1; then
        printf 'fuzz: %s failed; its input is under fuzz/artifacts/%s/\n' "$target" "$target" >&2
        status=1
    fi
done
exit $status
