#!/usr/bin/env bash
# Install qms on this Pi for the given roles, or remove it. Safe to run again.
#
#   sudo systemd/install.sh dispatcher kiosk hall     # any of the three roles
#   sudo systemd/install.sh --uninstall               # units and /opt/qms go; config and data stay
#
# What it does: a system user `qms` in the groups the roles need; a venv in /opt/qms/venv with
# qms installed from this checkout; /etc/qms/center.toml from the example with new random
# device tokens (an existing one is never overwritten); the systemd units of the roles,
# enabled and started. Copy the same /etc/qms/center.toml (same tokens) to every Pi of the
# hall, and set [kiosk] / [display] dispatcher to the dispatcher's address.
#
# For tests: QMS_ROOT=DIR installs into DIR instead of / (no user, no systemctl), and
# QMS_SKIP_VENV=1 skips the venv.
set -euo pipefail

ROOT="${QMS_ROOT:-}"
SRC="$(cd "$(dirname "$0")/.." && pwd)"
OPT="$ROOT/opt/qms"
ETC="$ROOT/etc/qms"
UNITS="$ROOT/etc/systemd/system"
STATE="$ROOT/var/lib/qms"

say() { printf '[qms install] %s\n' "$*"; }
die() { printf '[qms install] error: %s\n' "$*" >&2; exit 2; }

uninstall=0
roles=()
for arg in "$@"; do
    case "$arg" in
        --uninstall) uninstall=1 ;;
        dispatcher|kiosk|hall) roles+=("$arg") ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) die "unknown role '$arg' (roles: dispatcher, kiosk, hall)" ;;
    esac
done
[ -n "$ROOT" ] || [ "$(id -u)" -eq 0 ] || die "run as root (sudo)"
systemctl_() { if [ -z "$ROOT" ]; then systemctl "$@"; else say "(would run: systemctl $*)"; fi; }

unit_of() {
    case "$1" in
        dispatcher) echo qms-dispatcher.service ;;
        kiosk) echo qms-kiosk.service ;;
        hall) echo qms-display.service ;;
    esac
}

if [ "$uninstall" -eq 1 ]; then
    for unit in qms-dispatcher.service qms-kiosk.service qms-display.service; do
        if [ -f "$UNITS/$unit" ]; then
            systemctl_ disable --now "$unit" || true
            rm -f "$UNITS/$unit"
            say "removed $unit"
        fi
    done
    systemctl_ daemon-reload
    rm -rf "$OPT"
    say "removed $OPT; kept $ETC (config) and $STATE (the queue's history)"
    exit 0
fi
[ "${#roles[@]}" -gt 0 ] || die "name at least one role: dispatcher, kiosk, hall"

# 1. The service user and its groups.
if [ -z "$ROOT" ]; then
    if ! id qms >/dev/null 2>&1; then
        useradd --system --home-dir /var/lib/qms --no-create-home --shell /usr/sbin/nologin \
            --user-group qms
        say "created user qms"
    fi
    for group in gpio dialout video input render audio lp plugdev; do
        if getent group "$group" >/dev/null && ! id -nG qms | tr ' ' '\n' | grep -qx "$group"; then
            usermod -a -G "$group" qms
            say "added qms to group $group"
        fi
    done
else
    say "(test root: user qms and its groups not touched)"
fi

# 2. The code and its venv.
mkdir -p "$OPT/src" "$STATE" "$ETC" "$UNITS"
tar -C "$SRC" --exclude=.venv --exclude=.git --exclude='examples/state' \
    --exclude='__pycache__' --exclude='*.db*' -cf - . | tar -C "$OPT/src" -xf -
if [ "${QMS_SKIP_VENV:-0}" != 1 ]; then
    [ -x "$OPT/venv/bin/python" ] || python3 -m venv "$OPT/venv"
    "$OPT/venv/bin/python" -m pip install -q --upgrade pip
    "$OPT/venv/bin/python" -m pip install -q "$OPT/src"
    say "qms installed in $OPT/venv"
fi

# 3. The config: from the example with fresh tokens, never over an existing one.
if [ ! -f "$ETC/center.toml" ]; then
    python3 - "$SRC/examples/center.toml" "$ETC/center.toml" <<'PY'
import re, secrets, sys
text = open(sys.argv[1], encoding="utf-8").read()
text = re.sub(r'token = "demo-[a-z-]+"',
              lambda m: f'token = "{secrets.token_urlsafe(24)}"', text)
text = text.replace('transport = "fake"', 'transport = "fake"  # set usb/serial/network')
open(sys.argv[2], "w", encoding="utf-8").write(text)
PY
    chmod 0640 "$ETC/center.toml"
    say "wrote $ETC/center.toml with new device tokens: copy it to the other Pis"
else
    say "kept the existing $ETC/center.toml"
    if grep -q 'token = "demo-' "$ETC/center.toml"; then
        say "warning: $ETC/center.toml still has demo tokens; the dispatcher will only listen on 127.0.0.1"
    fi
fi
if [ -z "$ROOT" ]; then chown root:qms "$ETC/center.toml"; chown qms:qms "$STATE"; fi

# 4. The units of the roles.
for role in "${roles[@]}"; do
    unit="$(unit_of "$role")"
    install -m 0644 "$SRC/systemd/$unit" "$UNITS/$unit"
    if [ "$role" = dispatcher ] && [ ! -f "$ETC/dispatcher.env" ]; then
        echo "QMS_LISTEN=0.0.0.0:8470" > "$ETC/dispatcher.env"
        say "the dispatcher will listen on 0.0.0.0:8470 ($ETC/dispatcher.env)"
    fi
    say "installed $unit"
done
systemctl_ daemon-reload
for role in "${roles[@]}"; do
    systemctl_ enable --now "$(unit_of "$role")"
done
say "done: roles ${roles[*]}"
