#!/usr/bin/env bash
# Fuzzes the checker with cargo-fuzz (libFuzzer): the whole check of an in-memory package,
# the flake reader, kurtosis.yml and the package arguments, each for SECONDS (default 60).
# Seeds come from tests/fixtures/check; a crash leaves its input under
# fuzz/artifacts/<target>/ and fails the script: make it a regression fixture.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_TARGET=${1:-60}
shift || true
TARGETS=("$@")
if [[ ${#TARGETS[@]} -eq 0 ]]; then
    TARGETS=(check_package flake_reader kurtosis_yml package_args)
fi

# libFuzzer needs a nightly compiler (sanitizer coverage flags); use the installed one.
if ! rustup toolchain list | grep -q '^nightly'; then
    echo "error: scripts/fuzz.sh needs a nightly toolchain (rustup toolchain install nightly)" >&2
    exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz
fi

# Seeds: every fixture package as one input (`=== path` lines between its files), and each
# flake.nix, kurtosis.yml and args file on its own.
CORPUS=fuzz/corpus
mkdir -p "$CORPUS"/{check_package,flake_reader,kurtosis_yml,package_args}
for fixture in tests/fixtures/check/*/; do
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
    [[ -f $fixture/kurtosis.yml ]] && cp "$fixture/kurtosis.yml" "$CORPUS/kurtosis_yml/$name"
    for args in "$fixture"/args.*; do
        [[ -f $args ]] && cp "$args" "$CORPUS/package_args/$name"
    done
done

status=0
for target in "${TARGETS[@]}"; do
    printf '==> fuzz %s for %s s\n' "$target" "$SECONDS_PER_TARGET" >&2
    # -rss_limit_mb: the checker's own memory limits keep it far below; -timeout: one input
    # taking longer than that is a hang.
    if ! cargo +nightly fuzz run --fuzz-dir fuzz "$target" "$CORPUS/$target" -- \
        -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=1024 -timeout=10 -print_final_stats=1; then
        status=1
    fi
done
exit $status
