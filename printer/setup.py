"""Build the printer from its config section: its profile and its link."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .config import PrinterConfig
from .fake import FakePrinter
from .layout import Profile
from .links import Link, file_link, network_link, serial_link, usb_link


def profile_for(cfg: PrinterConfig) -> Profile:
    return Profile(dots=cfg.dots, encoding=cfg.encoding, mode=cfg.mode, cutter=cfg.cutter)


def make_link_factory(cfg: PrinterConfig, state: Path,
                      font: Path | None) -> Callable[[], Link]:
    """A function that builds a fresh link (the worker calls it again after an unplug)."""
    if cfg.transport == "fake":
        fake = FakePrinter(state / cfg.fake_dir, profile_for(cfg), font)
        return lambda: fake
    if cfg.transport == "usb":
        vendor, product = (int(x, 16) for x in cfg.usb.split(":"))
        return lambda: usb_link(vendor, product, int(cfg.timeout_s * 1000))
    if cfg.transport == "serial":
        return lambda: serial_link(cfg.serial, cfg.baudrate, cfg.flow, cfg.timeout_s)
    if cfg.transport == "network":
        return lambda: network_link(cfg.host, cfg.port, cfg.timeout_s)
    if cfg.transport == "file":
        return lambda: file_link(cfg.device)
    raise ValueError(f"unknown transport {cfg.transport!r}")
