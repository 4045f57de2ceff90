#!/usr/bin/env bash
# Sets up this machine, then runs starflake's main job on the bundled example: check the
# package, preview its plan, then `run` it: build its image with Nix, load it into Docker
# and deploy it; the last lines say where the service answers.
# `target/release/starflake enclave rm hello-nix` removes what it deployed.
set -euo pipefail
cd "$(dirname "$0")/.."
example=examples/hello-nix

bash scripts/setup-native.sh
# The example's flake builds with a static busybox, copied in (not committed).
mkdir -p "$example/app/bin"
cp -f /bin/busybox "$example/app/bin/busybox"

cargo build --release --quiet
starflake=target/release/starflake

step() { printf '\n==> %s\n' "$*"; }
step "starflake check $example"
"$starflake" check "$example"
step "starflake plan $example"
"$starflake" plan "$example"
step "starflake run $example"
"$starflake" run "$example"
