"""The whole config file: the center-wide sections plus each role's own, checked together.

`load_config(path)` returns a `QmsConfig` or raises `ConfigError` whose `problems` holds one
clear line per problem found, all of them in one pass: each section is read by the code that
owns it (`dispatcher.domain.config`, `printer.config`, `kiosk.config`, `display.config`), and
what spans sections (a role's device must exist with the right role, a button's window must
exist, a printed checklist must name known businesses) is checked here.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from base.config import ConfigError, Validator, parse_toml, read_toml
from bus.config import BusConfig, read_bus
from dispatcher.domain.config import SECTIONS, Config, Device, read_center_config
from display import config as display_config
from display.config import DisplayConfig, read_display
from kiosk import config as kiosk_config
from kiosk.config import KioskConfig, read_kiosk
from printer.config import PrinterConfig, read_printer

__all__ = ["ConfigError", "QmsConfig", "default_config_path", "load_config", "load_or_report",
           "parse_config"]


@dataclass(frozen=True)
class QmsConfig(Config):
    """The center-wide config with every role's section."""

    printer: PrinterConfig = field(default_factory=PrinterConfig)
    kiosk: KioskConfig = field(default_factory=KioskConfig)
    display: DisplayConfig = field(default_factory=DisplayConfig)
    bus: BusConfig = field(default_factory=BusConfig)


def load_config(path: str | Path) -> QmsConfig:
    """Read and validate a TOML config file; raise ConfigError listing every problem."""
    data, source = read_toml(path)
    return assemble(data, source)


def parse_config(text: str, source: str = "<config>") -> QmsConfig:
    """Parse and validate TOML text; raise ConfigError listing every problem."""
    return assemble(parse_toml(text, source), source)


def assemble(data: Mapping[str, Any], source: str) -> QmsConfig:
    v = Validator(source)
    v.unknown_keys(data, (*SECTIONS, "printer", "kiosk", "display", "bus"), "")
    center = read_center_config(v, data)
    printer = read_printer(v, v.table(data, "printer", ""))
    kiosk = read_kiosk(v, v.table(data, "kiosk", ""))
    display = read_display(v, v.table(data, "display", ""))
    bus = read_bus(v, v.table(data, "bus", ""))
    if center is not None:
        _check_across(v, data, center, printer, kiosk, display)
        _check_bus(v, center, display, bus)
    if v.problems or center is None:
        raise ConfigError(v.problems)
    return QmsConfig(**{f: getattr(center, f) for f in Config.__dataclass_fields__
                        if f != "services"},
                     printer=printer, kiosk=kiosk, display=display, bus=bus)


def _check_across(v: Validator, data: Mapping[str, Any], center: Config,
                  printer: PrinterConfig, kiosk: KioskConfig, display: DisplayConfig) -> None:
    """What one section says about another."""
    if not isinstance(printer.materials, bool):
        for sid in printer.materials:
            if sid not in center.services:
                v.err("printer.materials", f"unknown business {sid!r}")
    raw = data.get("devices", [])
    raw_names = {d.get("name") for d in raw if isinstance(d, dict)} if isinstance(raw, list) \
        else set()
    kiosk_table = data.get("kiosk", {})
    if isinstance(kiosk_table, dict) and ("device" in kiosk_table or center.devices):
        _check_device(v, center.devices, raw_names, "kiosk.device", kiosk.device,
                      kiosk_config.DEVICE_ROLES)
    display_table = data.get("display", {})
    for key, roles in display_config.DEVICE_ROLES.items():
        if isinstance(display_table, dict) and key in display_table:
            # (the defaults are checked when the display starts)
            _check_device(v, center.devices, raw_names, f"display.{key}",
                          getattr(display, key), roles)
    numbers = {w.number for w in center.windows}
    for i, buttons in enumerate(display.buttons):
        if buttons.window not in numbers:
            v.err(f"display.buttons[{i}].window", f"unknown window {buttons.window}")


def _check_bus(v: Validator, center: Config, display: DisplayConfig, bus: BusConfig) -> None:
    """The bus acts as a caller device: it must exist and may operate each device's window."""
    if not bus.configured:
        return
    name = bus.device or display.caller_device
    device = next((d for d in center.devices if d.name == name), None)
    if device is None or device.role not in ("caller", "admin"):
        v.err("bus.device", f"{name!r} must be a [[devices]] entry with role caller or admin")
        return
    numbers = {w.number for w in center.windows}
    for i, item in enumerate(bus.devices):
        if item.window not in numbers:
            v.err(f"bus.devices[{i}].window", f"unknown window {item.window}")
        elif device.role == "caller" and item.window not in device.windows:
            v.err(f"bus.devices[{i}].window", f"device {name!r} may not operate window "
                  f"{item.window}")


def _check_device(v: Validator, devices: tuple[Device, ...], raw_names: set[Any], where: str,
                  name: str, roles: tuple[str, ...]) -> None:
    match = next((x for x in devices if x.name == name), None)
    if match is None and name not in raw_names:  # (a broken entry is named already)
        v.err(where, f"no [[devices]] entry named {name!r}")
    elif match is not None and match.role not in roles:
        v.err(where, f"device {name!r} has role {match.role}, needs {' or '.join(roles)}")


def load_or_report(path: str | Path) -> QmsConfig | None:
    """The config, or None after printing each problem on stderr (for command entry points)."""
    try:
        return load_config(path)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return None


def default_config_path() -> Path:
    """The shipped example config (`examples/center.toml` in the source tree)."""
    return Path(__file__).resolve().parent.parent / "examples" / "center.toml"
