#!/usr/bin/env bash
# Set up everything qms needs in ./.venv, then run the main job or the tests.
#
#   ./bootstrap.sh demo    the main job: qms demo (dispatcher, kiosk and hall screen)
#   ./bootstrap.sh test    lint (ruff), types (mypy), layers (import-linter), tests (pytest)
#
# Works on a fresh Debian 12 / Raspberry Pi OS Bookworm: installs the system packages it
# needs when run as root (or with sudo available), otherwise prints the exact command.
set -euo pipefail
cd "$(dirname "$0")"

VENV=.venv
PY_MIN="3.11"
SYSTEM_PACKAGES=(python3 python3-venv python3-pip)
# The CJK font for tickets, previews and the screens; espeak-ng builds the voice pack.
MEDIA_PACKAGES=(fonts-wqy-microhei espeak-ng)
FONT_FILE=/usr/share/fonts/truetype/wqy/wqy-microhei.ttc

say() { printf '\033[1m[qms]\033[0m %s\n' "$*" >&2; }

need_system_packages() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
            || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if ! command -v apt-get >/dev/null; then
        say "please install: ${missing[*]} (no apt-get here)"; return 1
    fi
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null; then sudo="sudo"; else
            say "missing system packages: run as root:  apt-get install -y ${missing[*]}"
            return 1
        fi
    fi
    say "installing system packages: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

# The console's browser tests (tests/test_console_browser.py) drive Debian's chromium through
# Playwright: no browser download. Without it those tests are skipped, the rest still run.
BROWSER_PACKAGES=(chromium)
BROWSER_FILE=/usr/bin/chromium

ensure_browser() {
    [ -x "$BROWSER_FILE" ] && return 0
    need_system_packages "${BROWSER_PACKAGES[@]}" \
        || say "no $BROWSER_FILE: the browser tests will be skipped"
}

python_ok() {
    command -v python3 >/dev/null && python3 - "$PY_MIN" <<'EOF'
import sys
major, minor = map(int, sys.argv[1].split("."))
sys.exit(0 if sys.version_info >= (major, minor) else 1)
EOF
}

ensure_venv() {
    if ! python_ok || ! python3 -c "import venv, ensurepip" 2>/dev/null; then
        need_system_packages "${SYSTEM_PACKAGES[@]}" || exit 1
    fi
    python_ok || { say "Python >= $PY_MIN is required (found $(python3 --version 2>&1))"; exit 1; }
    if [ ! -f "$FONT_FILE" ] || ! command -v espeak-ng >/dev/null; then
        need_system_packages "${MEDIA_PACKAGES[@]}" || exit 1
    fi
    if [ ! -x "$VENV/bin/python" ]; then
        say "creating $VENV"
        python3 -m venv "$VENV"
    fi
    local stamp="$VENV/.installed" want
    want=$(sha256sum pyproject.toml | cut -d' ' -f1)
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        say "installing qms and its packages into $VENV"
        "$VENV/bin/python" -m pip install -q --upgrade pip
        "$VENV/bin/python" -m pip install -q -e ".[test]"
        echo "$want" > "$stamp"
    fi
}

cmd="${1:-}"
case "$cmd" in
    demo)
        ensure_venv
        shift
        if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}${SDL_VIDEODRIVER:-}" ]; then
            say "no desktop session found: the windows go to KMS/DRM if this is a Pi console;"
            say "for a run without any screen: SDL_VIDEODRIVER=dummy ./bootstrap.sh demo"
        fi
        say "qms demo: dispatcher, kiosk and hall screen; simulated residents every 8 s"
        exec "$VENV/bin/qms" demo --residents 8 "$@"
        ;;
    test)
        ensure_venv
        ensure_browser
        shift
        say "ruff"; "$VENV/bin/ruff" check .
        say "mypy"; "$VENV/bin/mypy"
        say "layers"; "$VENV/bin/lint-imports" --no-cache
        say "pytest"; "$VENV/bin/pytest" "$@"
        ;;
    *)
        echo "usage: $0 demo|test [args...]" >&2
        exit 2
        ;;
esac
