#!/usr/bin/env bash
# End-to-end tests of the editor integrations with real LSP clients:
#   - Node: vscode-languageserver-protocol drives the server module the VS Code extension ships
#     (editors/vscode/dist/server.js: the WebAssembly server) over Node IPC;
#   - Neovim (Debian's, headless, its built-in client) drives the native `starflake lsp`.
# Both check editors/test/cases.json on editors/test/fixtures/. Installs neovim when missing,
# builds pkg/ when stale and the .vsix (scripts/build-vsix.sh), and `cargo build`s the CLI.
#
#   scripts/test-editors.sh
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v nvim >/dev/null; then
    echo "==> apt-get install neovim" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq neovim
fi

bash scripts/build-vsix.sh

echo "==> Node client over IPC → editors/vscode/dist/server.js (WebAssembly)" >&2
(cd editors/vscode && timeout 300 node --test --test-reporter=spec test/*.test.mjs)

echo "==> cargo build (starflake lsp)" >&2
cargo build --bin starflake
echo "==> Neovim $(nvim --version | head -1 | awk '{ print $2 }') headless → starflake lsp (native)" >&2
STARFLAKE_BIN=$PWD/target/debug/starflake timeout 120 \
    nvim --headless --clean -c 'luafile editors/test/nvim.lua' 2>&1
