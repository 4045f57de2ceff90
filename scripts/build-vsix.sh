#!/usr/bin/env bash
# Builds the VS Code extension (editors/vscode) into editors/vscode/starflake.vsix, offline:
# pkg/ when it is missing or stale (scripts/build-wasm.sh), npm ci, a type check, the esbuild
# bundle (dist/: the extension, the Node server with the WebAssembly module, the browser
# build), then `vsce package` from npm. Prints the size of the .vsix.
#
#   scripts/build-vsix.sh
#   WEB_WASM_BUILD=never scripts/build-vsix.sh     # package pkg/ as it is
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=../web/scripts/ensure-pkg.sh
source web/scripts/ensure-pkg.sh
ensure_pkg

cd editors/vscode
echo "==> npm ci (editors/vscode)" >&2
npm ci --no-audit --no-fund --loglevel=error
echo "==> type check" >&2
npm run --silent typecheck
echo "==> bundle (esbuild)" >&2
npm run --silent build
echo "==> vsce package" >&2
# The bundle carries every dependency, so node_modules stays out of the package.
npx vsce package --no-dependencies --skip-license --allow-missing-repository --out starflake.vsix >&2
size=$(stat -c %s starflake.vsix)
awk -v bytes="$size" 'BEGIN { printf "editors/vscode/starflake.vsix  %.2f MB (%d bytes)\n", bytes / 1e6, bytes }'
