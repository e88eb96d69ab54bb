"""The [bus] section of the config: the RS-485 line and the devices on it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from base.config import Validator
from bus.health import BusDevice
from bus.registers import Kind

BAUDRATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)


@dataclass(frozen=True)
class BusConfig:
    """The bus master's settings; `port` is empty when no [bus] is configured."""

    port: str = ""  # e.g. /dev/ttyUSB0 (a USB RS-485 adapter) or /dev/ttyAMA0
    baudrate: int = 9600
    timeout_ms: int = 100  # one transaction's answer time; a silent device costs this
    dispatcher: str = ""  # "" → the display's dispatcher URL
    device: str = ""  # "" → the display's caller device: the token and windows it acts as
    devices: tuple[BusDevice, ...] = ()

    @property
    def configured(self) -> bool:
        return bool(self.port)


def read_bus(v: Validator, data: Mapping[str, Any]) -> BusConfig:
    """The [bus] section; device names and windows are checked by the shell."""
    if not data:
        return BusConfig()
    where = "bus."
    v.unknown_keys(data, BusConfig.__dataclass_fields__, where)
    port = v.string(data, "port", where)  # required: the RS-485 adapter, e.g. /dev/ttyUSB0
    baudrate = v.integer(data, "baudrate", where, default=9600)
    if baudrate is not None and baudrate not in BAUDRATES:
        v.err(where + "baudrate", f"{baudrate} is not one of {', '.join(map(str, BAUDRATES))}")
        baudrate = None
    timeout = v.integer(data, "timeout_ms", where, default=100, minimum=10, maximum=2000)
    if baudrate and timeout and timeout < min_timeout_ms(baudrate):
        v.err(where + "timeout_ms", f"{timeout} ms is too short at {baudrate} baud: a display "
              f"write and its answer take {min_timeout_ms(baudrate)} ms with the margin")
    url = v.url(data, "dispatcher", where, "") if "dispatcher" in data else ""
    devices: list[BusDevice] = []
    seen: dict[int, str] = {}
    kinds = [k.value for k in Kind]
    for i, item in enumerate(v.array_of_tables(data, "devices", where)):
        dw = f"{where}devices[{i}]."
        v.unknown_keys(item, BusDevice.__dataclass_fields__, dw)
        address = v.integer(item, "address", dw, minimum=1, maximum=247)
        kind = v.string(item, "kind", dw)
        window = v.integer(item, "window", dw, minimum=1)
        if kind is not None and kind not in kinds:
            v.err(dw + "kind", f"unknown kind {kind!r} (known: {', '.join(kinds)})")
            kind = None
        if address is not None:
            if address in seen:
                v.err(dw + "address", f"address {address} is already {seen[address]}")
            seen[address] = f"devices[{i}]"
        if address is not None and kind is not None and window is not None:
            devices.append(BusDevice(address, Kind(kind), window))
    if not devices and not v.problems:
        v.err(where + "devices", "no [[bus.devices]]: name the devices on the line")
    return BusConfig(
        port=port or "", baudrate=baudrate or 9600, timeout_ms=timeout or 100,
        dispatcher=url, device=v.string(data, "device", where, default="") or "",
        devices=tuple(devices),
    )


def min_timeout_ms(baudrate: int) -> int:
    """The shortest answer wait that lets the longest transaction finish: a display write
    (27 bytes) and its answer (8 bytes) on the wire, plus 20 ms for the device to answer."""
    return int((27 + 8) * 10 / baudrate * 1000) + 20


def every_window(windows: list[int]) -> tuple[BusDevice, ...]:
    """A display, a keypad and a rating pad at each window, at addresses 3n−2, 3n−1, 3n
    (the emulated bus of `qms demo --bus` when the config names no devices)."""
    return tuple(
        BusDevice(3 * i + offset + 1, kind, n)
        for i, n in enumerate(sorted(windows))
        for offset, kind in enumerate((Kind.WINDOW_DISPLAY, Kind.KEYPAD, Kind.RATING_PAD))
    )
