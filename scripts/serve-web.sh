#!/usr/bin/env bash
# Builds and serves the web playground (web/) on 127.0.0.1:
#   builds pkg/ when missing or stale (scripts/build-wasm.sh), npm ci, vite build, vite preview.
#
#   scripts/serve-web.sh                 # http://127.0.0.1:5173/
#   PORT=8080 scripts/serve-web.sh
#   WEB_WASM_BUILD=never scripts/serve-web.sh     # use pkg/ as it is
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${PORT:-5173}

# shellcheck source=../web/scripts/ensure-pkg.sh
source web/scripts/ensure-pkg.sh
ensure_pkg

cd web
echo "==> npm ci (web/)" >&2
npm ci --no-audit --no-fund --loglevel=error
echo "==> vite build" >&2
npx vite build
echo
echo "starflake playground: http://127.0.0.1:$PORT/"
echo
exec npx vite preview --host 127.0.0.1 --port "$PORT" --strictPort
