#!/usr/bin/env bash
# Builds the WebAssembly module into pkg/: cargo (wasm32, profile wasm-release), wasm-bindgen
# (--target web, with TypeScript types), then binaryen's wasm-opt. pkg/starflake.js and .d.ts,
# the entry point around wasm-bindgen's glue, are written by hand. Installs what is missing:
# the wasm32 target, the wasm-bindgen CLI of exactly the version in Cargo.lock, and binaryen
# and TypeScript from npm (pinned) into target/npm-tools. Prints the sizes of every stage.
#
#   scripts/build-wasm.sh                 # the release build
#   WASM_OPT_FLAGS="-Os" scripts/build-wasm.sh
#   WASM_OPT_FLAGS=none scripts/build-wasm.sh          # skip wasm-opt
#   CARGO_PROFILE_WASM_RELEASE_OPT_LEVEL=s scripts/build-wasm.sh
set -euo pipefail
cd "$(dirname "$0")/.."

BINARYEN_VERSION=132.0.0
TYPESCRIPT_VERSION=5.9.3
TOOLS=target/npm-tools
OUT=pkg
NAME=starflake
WASM_OPT_FLAGS=${WASM_OPT_FLAGS:--Oz}

step() { printf '==> %s\n' "$*" >&2; }

# --- tools ---------------------------------------------------------------------------------
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    step "rustup target add wasm32-unknown-unknown"
    rustup target add wasm32-unknown-unknown
fi

# The CLI must be exactly the wasm-bindgen version Cargo.lock resolved: the glue and the
# custom sections it reads change between releases.
BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if [[ -z "$BINDGEN_VERSION" ]]; then
    echo "error: no wasm-bindgen in Cargo.lock; run a wasm32 build once (cargo generates it)" >&2
    exit 1
fi
installed=$(wasm-bindgen --version 2>/dev/null | awk '{ print $2 }' || true)
if [[ "$installed" != "$BINDGEN_VERSION" ]]; then
    step "cargo install wasm-bindgen-cli --version $BINDGEN_VERSION (found: ${installed:-none})"
    # Without --locked: the CLI's lockfile pins a crate version the registry may lack.
    cargo install wasm-bindgen-cli --version "$BINDGEN_VERSION" --force
fi

# binaryen for wasm-opt (Debian's is too old: its output fails to load), and TypeScript for
# scripts/wasm-types.mjs, both pinned, in a folder of their own.
WASM_OPT=$TOOLS/node_modules/binaryen/bin/wasm-opt
tool_version() { node -p "require('./$TOOLS/node_modules/$1/package.json').version" 2>/dev/null || true; }
if [[ "$(tool_version binaryen)" != "$BINARYEN_VERSION" || "$(tool_version typescript)" != "$TYPESCRIPT_VERSION" ]]; then
    step "npm install binaryen@$BINARYEN_VERSION typescript@$TYPESCRIPT_VERSION into $TOOLS"
    mkdir -p "$TOOLS"
    printf '{ "private": true, "dependencies": { "binaryen": "%s", "typescript": "%s" } }\n' \
        "$BINARYEN_VERSION" "$TYPESCRIPT_VERSION" >"$TOOLS/package.json"
    npm install --prefix "$TOOLS" --no-audit --no-fund --loglevel=error >&2
fi

# pkg/package.json carries the crate's version.
CRATE_VERSION=$(awk -F'"' '/^version = / { print $2; exit }' Cargo.toml)
PKG_VERSION=$(node -p "require('./$OUT/package.json').version")
if [[ "$CRATE_VERSION" != "$PKG_VERSION" ]]; then
    echo "error: pkg/package.json has version $PKG_VERSION, Cargo.toml $CRATE_VERSION" >&2
    exit 1
fi

# --- build ---------------------------------------------------------------------------------
step "cargo build (wasm32-unknown-unknown, wasm-release)"
cargo build --lib --target wasm32-unknown-unknown --no-default-features --profile wasm-release
RAW=target/wasm32-unknown-unknown/wasm-release/$NAME.wasm

# The glue goes to ${NAME}_bindgen.js: pkg/$NAME.js (written by hand) wraps its classes so that a
# trap of the module starts a fresh instance (--experimental-reset-state-function exports
# `__wbg_reset_state` for that) instead of leaving a dead one.
step "wasm-bindgen $BINDGEN_VERSION --target web"
GLUE_DIR=target/wasm-bindgen
rm -rf "$GLUE_DIR" "$OUT/${NAME}_bindgen.js" "$OUT/${NAME}_bindgen.d.ts" "$OUT/${NAME}_bg.wasm" "$OUT/${NAME}_bg.wasm.d.ts"
wasm-bindgen "$RAW" --target web --out-dir "$GLUE_DIR" --out-name "$NAME" --typescript \
    --experimental-reset-state-function
mv "$GLUE_DIR/$NAME.js" "$OUT/${NAME}_bindgen.js"
mv "$GLUE_DIR/$NAME.d.ts" "$OUT/${NAME}_bindgen.d.ts"
mv "$GLUE_DIR/${NAME}_bg.wasm" "$GLUE_DIR/${NAME}_bg.wasm.d.ts" "$OUT/"
BINDGEN_SIZE=$(stat -c %s "$OUT/${NAME}_bg.wasm")

if [[ "$WASM_OPT_FLAGS" != none ]]; then
    step "wasm-opt $WASM_OPT_FLAGS (binaryen $BINARYEN_VERSION)"
    # The features rustc enables by default for wasm32-unknown-unknown; without the name
    # section (wasm-opt drops it unless -g is given).
    # shellcheck disable=SC2086
    "$WASM_OPT" $WASM_OPT_FLAGS \
        --enable-bulk-memory --enable-mutable-globals --enable-nontrapping-float-to-int \
        --enable-sign-ext --enable-reference-types --enable-multivalue \
        --strip-debug --strip-producers \
        "$OUT/${NAME}_bg.wasm" -o "$OUT/${NAME}_bg.opt.wasm"
    mv "$OUT/${NAME}_bg.opt.wasm" "$OUT/${NAME}_bg.wasm"
fi

# --- sizes ---------------------------------------------------------------------------------
mb() { awk -v bytes="$1" 'BEGIN { printf "%7.2f MB (%d bytes)", bytes / 1e6, bytes }'; }
FINAL=$(stat -c %s "$OUT/${NAME}_bg.wasm")
GZIP=$(gzip -9 -c "$OUT/${NAME}_bg.wasm" | wc -c)
GLUE=$(($(stat -c %s "$OUT/${NAME}_bindgen.js") + $(stat -c %s "$OUT/$NAME.js")))
printf 'cargo output      %s\n' "$(mb "$(stat -c %s "$RAW")")"
printf 'wasm-bindgen      %s\n' "$(mb "$BINDGEN_SIZE")"
printf 'wasm-opt %-8s %s\n' "$WASM_OPT_FLAGS" "$(mb "$FINAL")"
BROTLI=$(node -e "const z = require('zlib'); const b = require('fs').readFileSync('$OUT/${NAME}_bg.wasm'); console.log(z.brotliCompressSync(b, { params: { [z.constants.BROTLI_PARAM_QUALITY]: 11 } }).length)")
printf 'gzip -9           %s\n' "$(mb "$GZIP")"
printf 'brotli 11         %s\n' "$(mb "$BROTLI")"
printf 'js glue           %s\n' "$(mb "$GLUE")"
if ((GZIP > 1000000)); then
    echo "warning: the gzipped module is over the 1 MB goal" >&2
fi
echo "built $OUT/${NAME}_bg.wasm, $OUT/${NAME}_bindgen.js and $OUT/${NAME}_bindgen.d.ts" >&2
