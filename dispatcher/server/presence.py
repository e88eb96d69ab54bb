"""Which devices are connected, how each kiosk's printer last fared, and how the serial bus's
devices answer: for the console's alarms. A device is online while it holds an event stream
open (every kiosk and hall screen does); a kiosk's printer is in fault from a failed print
report until its next good one; a bus master's report holds for BUS_REPORT_STALE_S, after which
its devices are shown "unknown" (a silent master proves nothing about them)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from dispatcher.domain.config import Config
from dispatcher.server.schema import BusHealthReport

BUS_REPORT_STALE_S = 30.0  # the bus master reports every 10 s


@dataclass(frozen=True)
class DeviceStatus:
    """What the dispatcher knows of a device: an open event stream (online) and, for a
    kiosk, its printer's last report."""

    name: str
    role: str
    online: bool
    since: dt.datetime | None  # when it connected, or when it was last seen
    printer_fault: str | None = None  # the error of a kiosk's last failed print


@dataclass(frozen=True)
class BusDeviceStatus:
    """One bus device as the master reporting it (`reporter`, a device name) last saw it."""

    reporter: str
    address: int
    kind: str  # window_display | keypad | rating_pad
    window: int
    state: str  # ok | no_answer | crc_errors | unknown
    errors: int
    since: dt.datetime | None  # when it entered that state, by the master
    reported_at: dt.datetime  # when the report arrived here


@dataclass
class Presence:
    clock: Callable[[], dt.datetime]
    streams: dict[str, int] = field(default_factory=dict)
    since: dict[str, dt.datetime] = field(default_factory=dict)
    printer_faults: dict[str, str] = field(default_factory=dict)
    bus_reports: dict[str, tuple[BusHealthReport, dt.datetime]] = field(default_factory=dict)
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

    def bus_reported(self, device: str, report: BusHealthReport) -> None:
        """Keep a bus master's report (the last one per master), timed on arrival."""
        before = self.bus_reports.get(device)
        now = self.clock()
        self.bus_reports[device] = (report, now)
        # A report that had gone stale comes back to life too: what is shown changes.
        # (the cycle time alone changing is not worth re-rendering every open overview)
        if before is None or before[0].devices != report.devices or _stale(before[1], now):
            self.version += 1

    def bus_devices(self, now: dt.datetime) -> list[BusDeviceStatus]:
        """Every reported bus device, by master, then window and address. Those of a report
        older than BUS_REPORT_STALE_S at `now` are "unknown", never "ok"."""
        out: list[BusDeviceStatus] = []
        for reporter, (report, at) in sorted(self.bus_reports.items()):
            stale = _stale(at, now)
            out.extend(
                BusDeviceStatus(reporter, int(d.address), d.kind.value, int(d.window),
                                "unknown" if stale else d.state.value, int(d.errors), d.since,
                                at)
                for d in sorted(report.devices, key=lambda d: (d.window, d.address))
            )
        return out

    def devices(self, config: Config) -> list[DeviceStatus]:
        """Every kiosk and display of the config (callers are push buttons: no stream)."""
        return [
            DeviceStatus(d.name, d.role, bool(self.streams.get(d.name)), self.since.get(d.name),
                         self.printer_faults.get(d.name) if d.role == "kiosk" else None)
            for d in config.devices if d.role in ("kiosk", "display")
        ]


def _stale(reported_at: dt.datetime, now: dt.datetime) -> bool:
    return (now - reported_at).total_seconds() > BUS_REPORT_STALE_S
