#!/usr/bin/env bash
# Runs every test of starflake: formatting, lints (native and wasm32), unit, golden and
# end-to-end tests (real Nix, real Docker), the wasm32 build, the wasm module's tests,
# the playground's browser tests and the editor integrations with real LSP clients.
# Installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "tools"
bash scripts/setup-native.sh
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    rustup target add wasm32-unknown-unknown
fi
rustup component add rustfmt clippy >/dev/null 2>&1 || true

step "format"
cargo fmt --check
cargo fmt --check --manifest-path fuzz/Cargo.toml

step "lints (native)"
cargo clippy --all-targets -- -D warnings

step "lints (wasm32)"
cargo clippy --lib --target wasm32-unknown-unknown --no-default-features -- -D warnings

step "wasm32 library build"
cargo build --lib --target wasm32-unknown-unknown --no-default-features

step "tests"
cargo test

step "fuzzing: every cargo-fuzz target for 15 s (fails on a crash, a hang or a blow-up)"
bash scripts/fuzz.sh 15

step "wasm module (pkg/): wasm-bindgen tests in Node, parity with the CLI, types"
bash scripts/test-wasm.sh

step "web playground: end-to-end tests in headless Chromium"
bash scripts/test-web.sh

step "editors: the VS Code extension's server (Node IPC) and Neovim (starflake lsp), real LSP clients"
bash scripts/test-editors.sh
