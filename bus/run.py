"""Composition roots of the bus: `build_service` (used by `qms display` when [bus] is
configured) and `run_bus` (`qms bus`, the master alone, or with the emulator: `--emulate`)."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from typing import TextIO

from bus.config import BusConfig, every_window
from bus.emulator import HELP, BusEmulator, run_command
from bus.health import BusDevice
from bus.port import RtuPort
from bus.service import BusService
from dispatcher.client.link import DispatcherLink
from dispatcher.domain.config import Config

log = logging.getLogger(__name__)
LINK_RETRY_S = 10.0  # a press is sent again (same request id) this long while the LAN is down


def build_service(config: Config, bus: BusConfig, dispatcher: str, caller_device: str,
                  *, port: str | None = None, devices: tuple[BusDevice, ...] | None = None,
                  highlight_s: float = 12.0) -> BusService:
    """The bus service acting as `bus.device` (else `caller_device`); not started.
    Raises ValueError when that device is not in the config."""
    name = bus.device or caller_device
    device = next((d for d in config.devices if d.name == name), None)
    if device is None:
        raise ValueError(f"bus device {name!r} is not in [[devices]]")
    link = DispatcherLink(bus.dispatcher or dispatcher, device.token, device=name,
                          retry_for=LINK_RETRY_S)
    line = RtuPort(port or bus.port, bus.baudrate, bus.timeout_ms / 1000)
    return BusService(config, devices or bus.devices, line, link, highlight_s=highlight_s)


def run_bus(config: Config, bus: BusConfig, dispatcher: str, caller_device: str, *,
            emulate: bool = False, highlight_s: float = 12.0,
            stdin: TextIO | None = None) -> int:
    """Run the bus until SIGTERM/SIGINT (or `q` on the emulator's panel)."""
    devices = bus.devices or every_window([w.number for w in config.windows])
    if not emulate and not bus.configured:
        print("no [bus] in the config: name the port and the devices, or run with --emulate",
              file=sys.stderr)
        return 2
    emulator = BusEmulator(devices, bus.baudrate).start() if emulate else None
    try:
        service = build_service(config, bus, dispatcher, caller_device,
                                port=emulator.port if emulator else None, devices=devices,
                                highlight_s=highlight_s)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        if emulator is not None:
            emulator.stop()
        return 2
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    service.start()
    where = f"emulated devices on {emulator.port}" if emulator else bus.port
    print(f"qms bus: {len(devices)} devices, {where}, {bus.baudrate} baud", flush=True)
    if emulator is not None:
        print(HELP, flush=True)
        if stdin is not None:
            threading.Thread(target=_read_commands, args=(emulator, stdin, stop),
                             daemon=True).start()
    try:
        shown: list[str] = []
        while not stop.wait(0.25):
            if emulator is not None:  # the lines of the windows whose devices changed
                lines = emulator.panel().splitlines()
                changed = [ln for i, ln in enumerate(lines) if i >= len(shown) or ln != shown[i]]
                if changed:
                    print("\n".join(changed), flush=True)
                    shown = lines
    finally:
        service.stop()
        if emulator is not None:
            emulator.stop()
    print("qms bus: stopped", flush=True)
    return 0


def _read_commands(emulator: BusEmulator, stdin: TextIO, stop: threading.Event) -> None:
    for line in stdin:
        if line.strip().lower() in ("q", "quit"):
            stop.set()
            return
        reply = run_command(emulator, line)
        if reply:
            print(reply, flush=True)
