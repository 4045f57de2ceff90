# Sourced by scripts/serve-web.sh and scripts/test-web.sh (from the repository root).
# Builds pkg/ with scripts/build-wasm.sh when it is missing or older than the crate's sources.
#   WEB_WASM_BUILD=auto (default) | always | never
ensure_pkg() {
    local mode=${WEB_WASM_BUILD:-auto}
    local wasm=pkg/starflake_bg.wasm
    local reason=""
    if [[ ! -f $wasm || ! -f pkg/starflake.js ]]; then
        reason="pkg/ has not been built"
    elif [[ $mode == always ]]; then
        reason="WEB_WASM_BUILD=always"
    elif [[ $mode == auto ]]; then
        local newer
        # src/native/ and src/main.rs are the CLI only: they are not part of the wasm build.
        newer=$(find src Cargo.toml Cargo.lock -newer "$wasm" -type f \
            -not -path 'src/native/*' -not -path src/main.rs -print -quit 2>/dev/null || true)
        [[ -n $newer ]] && reason="$newer is newer than $wasm"
    fi
    if [[ -z $reason ]]; then
        echo "==> pkg/ is up to date" >&2
        return 0
    fi
    if [[ $mode == never && -f $wasm ]]; then
        echo "==> pkg/ may be stale ($reason), kept because WEB_WASM_BUILD=never" >&2
        return 0
    fi
    echo "==> building pkg/: $reason" >&2
    bash scripts/build-wasm.sh
}
