"""systemd notifications (sd_notify): READY once serving, WATCHDOG heartbeats from main loops.

Does nothing when not started by systemd (no $NOTIFY_SOCKET). Heartbeats are rate-limited
to half the watchdog interval systemd asks for ($WATCHDOG_USEC), so a loop may call `ping()`
every turn; a loop that hangs stops pinging and systemd restarts the service.
"""

from __future__ import annotations

import os
import socket
import time


def notify(message: str) -> bool:
    """Send one notification; False when there is no systemd to tell."""
    path = os.environ.get("NOTIFY_SOCKET")
    if not path:
        return False
    address = "\0" + path[1:] if path.startswith("@") else path
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(message.encode())
    except OSError:
        return False
    return True


class Watchdog:
    def __init__(self) -> None:
        usec = os.environ.get("WATCHDOG_USEC", "")
        pid = os.environ.get("WATCHDOG_PID", "")
        mine = not pid or pid == str(os.getpid())
        self.interval = int(usec) / 1e6 / 2 if usec.isdigit() and mine else 0.0
        self._last = 0.0

    @property
    def enabled(self) -> bool:
        return self.interval > 0

    def ping(self) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            notify("WATCHDOG=1")


def ready(status: str = "") -> None:
    notify("READY=1" + (f"\nSTATUS={status}" if status else ""))


def stopping() -> None:
    notify("STOPPING=1")
