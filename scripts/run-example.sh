#!/usr/bin/env bash
# Sets up this machine, then runs starflake's main job on the bundled example.
set -euo pipefail
cd "$(dirname "$0")/.."
example=examples/hello-nix

bash scripts/setup-native.sh
# The example's flake builds with a static busybox, copied in (not committed).
mkdir -p "$example/app/bin"
cp -f "$(command -v busybox)" "$example/app/bin/busybox"

cargo build --release --quiet
starflake=target/release/starflake

printf '\n==> starflake check %s\n' "$example"
"$starflake" check "$example"
printf '\n==> starflake plan %s\n' "$example"
"$starflake" plan "$example"
