#!/usr/bin/env bash
# Every test of the wasm module: builds pkg/ (installing the tools it needs), runs the
# wasm-bindgen tests in Node, compares every fixture with the native CLI, checks the
# TypeScript types against real output, checks that memory stays flat over 3,000 checks, and
# that pkg/ outlives a trap of the module.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "build pkg/"
scripts/build-wasm.sh

step "wasm tests in Node (tests/wasm.rs)"
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
    cargo test --target wasm32-unknown-unknown --no-default-features --test wasm

step "parity with the native CLI"
node scripts/wasm-parity.mjs

step "TypeScript types"
node scripts/wasm-types.mjs

step "memory stays flat over thousands of checks"
node --expose-gc scripts/wasm-memory.mjs

step "a trap of the module: SF900, then a fresh instance"
node --test --test-reporter=spec scripts/wasm-trap.test.mjs
