"""Which devices are connected, and how each kiosk's printer last fared: for the console's
alarms. A device is online while it holds an event stream open (every kiosk and hall screen
does); a kiosk's printer is in fault from a failed print report until its next good one."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from dispatcher.domain.config import Config


@dataclass(frozen=True)
class DeviceStatus:
    """What the dispatcher knows of a device: an open event stream (online) and, for a
    kiosk, its printer's last report."""

    name: str
    role: str
    online: bool
    since: dt.datetime | None  # when it connected, or when it was last seen
    printer_fault: str | None = None  # the error of a kiosk's last failed print


@dataclass
class Presence:
    clock: Callable[[], dt.datetime]
    streams: dict[str, int] = field(default_factory=dict)
    since: dict[str, dt.datetime] = field(default_factory=dict)
    printer_faults: dict[str, str] = field(default_factory=dict)
    version: int = 0  # moves with every change: what was shown of the devices is stale

    def opened(self, device: str) -> None:
        if not self.streams.get(device):
            self.since[device] = self.clock()
        self.streams[device] = self.streams.get(device, 0) + 1
        self.version += 1

    def closed(self, device: str) -> None:
        left = self.streams.get(device, 0) - 1
        self.streams[device] = max(0, left)
        if left <= 0:
            self.since[device] = self.clock()
        self.version += 1

    def printed(self, device: str, ok: bool, error: str | None) -> None:
        before = self.printer_faults.get(device)
        if ok:
            self.printer_faults.pop(device, None)
        else:
            self.printer_faults[device] = error or "unknown"
        if self.printer_faults.get(device) != before:
            self.version += 1

    def devices(self, config: Config) -> list[DeviceStatus]:
        """Every kiosk and display of the config (callers are push buttons: no stream)."""
        return [
            DeviceStatus(d.name, d.role, bool(self.streams.get(d.name)), self.since.get(d.name),
                         self.printer_faults.get(d.name) if d.role == "kiosk" else None)
            for d in config.devices if d.role in ("kiosk", "display")
        ]
