#!/usr/bin/env bash
# End-to-end tests of the web playground in headless Chromium (Debian's, never a downloaded one):
#   installs chromium when /usr/bin/chromium is absent, builds pkg/ when missing or stale,
#   npm ci, vite build, then node --test web/e2e/*.test.mjs.
# Screenshots go to tests/artifacts/web/.
#
#   scripts/test-web.sh
#   WEB_WASM_BUILD=never scripts/test-web.sh      # test against pkg/ as it is
#   CHROMIUM=/path/to/chromium scripts/test-web.sh
set -euo pipefail
cd "$(dirname "$0")/.."

export CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [[ ! -x $CHROMIUM ]]; then
    echo "==> apt-get install chromium" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi

# shellcheck source=../web/scripts/ensure-pkg.sh
source web/scripts/ensure-pkg.sh
ensure_pkg

cd web
echo "==> npm ci (web/)" >&2
npm ci --no-audit --no-fund --loglevel=error
echo "==> vite build" >&2
npx vite build
echo "==> end-to-end tests ($("$CHROMIUM" --version 2>/dev/null || echo chromium))" >&2
mkdir -p ../tests/artifacts/web
node --test --test-concurrency=1 --test-reporter=spec e2e/*.test.mjs
