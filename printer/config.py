"""The [printer] section of the config: the kiosk's ticket printer."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from base.config import Validator

TRANSPORTS = ("fake", "usb", "serial", "network", "file")


@dataclass(frozen=True)
class PrinterConfig:
    """The kiosk's ticket printer."""

    transport: str = "fake"  # fake | usb | serial | network | file
    dots: int = 576  # 576 (80 mm paper) or 384 (58 mm)
    encoding: str = "gb18030"  # or "gbk"
    mode: str = "native"  # native | raster (printers without a Chinese font)
    cutter: bool = True
    qr: str = ""  # QR payload template ({id}, {number}); empty: no QR code
    materials: bool | tuple[str, ...] = True  # print the checklist: all, none, or these ids
    font: str = ""  # CJK font file for raster tickets and previews; empty: search
    usb: str = ""  # "VID:PID" in hex, e.g. "0416:5011"
    serial: str = ""  # device, e.g. /dev/ttyUSB0
    baudrate: int = 9600
    flow: str = "none"  # none | xonxoff | dsrdtr
    host: str = ""
    port: int = 9100
    device: str = ""  # device file, e.g. /dev/usb/lp0
    fake_dir: str = "printer"  # the fake printer's folder, relative to the state folder
    timeout_s: float = 3.0

    def prints_materials(self, service_id: str) -> bool:
        if isinstance(self.materials, bool):
            return self.materials
        return service_id in self.materials


def read_printer(v: Validator, data: Mapping[str, Any]) -> PrinterConfig:
    """The [printer] section; business ids in `materials` are checked by the shell."""
    where = "printer."
    fields = PrinterConfig.__dataclass_fields__
    v.unknown_keys(data, fields, where)
    d = PrinterConfig()
    transport = v.string(data, "transport", where, default=d.transport) or d.transport
    if transport not in TRANSPORTS:
        v.err(where + "transport", f"unknown transport {transport!r} "
                 f"(known: {', '.join(TRANSPORTS)})")
    dots = v.integer(data, "dots", where, default=d.dots) or d.dots
    if dots not in (384, 576):
        v.err(where + "dots", f"must be 384 (58 mm) or 576 (80 mm), not {dots}")
    encoding = v.string(data, "encoding", where, default=d.encoding) or d.encoding
    if encoding not in ("gb18030", "gbk"):
        v.err(where + "encoding", f"must be gb18030 or gbk, not {encoding!r}")
    mode = v.string(data, "mode", where, default=d.mode) or d.mode
    if mode not in ("native", "raster"):
        v.err(where + "mode", f"must be native or raster, not {mode!r}")
    materials: bool | tuple[str, ...] = d.materials
    raw_materials = data.get("materials", True)
    if isinstance(raw_materials, bool):
        materials = raw_materials
    else:
        materials = v.strings(data, "materials", where)
    flow = v.string(data, "flow", where, default=d.flow) or d.flow
    if flow not in ("none", "xonxoff", "dsrdtr"):
        v.err(where + "flow", f"must be none, xonxoff or dsrdtr, not {flow!r}")
    usb = v.string(data, "usb", where, default="") or ""
    if usb and not re.fullmatch(r"[0-9a-fA-F]{4}:[0-9a-fA-F]{4}", usb):
        v.err(where + "usb", f"must be VID:PID in hex like \"0416:5011\", not {usb!r}")
    cfg = PrinterConfig(
        transport=transport, dots=dots, encoding=encoding, mode=mode,
        cutter=v.boolean(data, "cutter", where, d.cutter),
        qr=data.get("qr", "") if isinstance(data.get("qr", ""), str) else "",
        materials=materials,
        font=v.string(data, "font", where, default="") or "",
        usb=usb,
        serial=v.string(data, "serial", where, default="") or "",
        baudrate=v.integer(data, "baudrate", where, default=d.baudrate, minimum=1200)
        or d.baudrate,
        flow=flow,
        host=v.string(data, "host", where, default="") or "",
        port=v.integer(data, "port", where, default=d.port, minimum=1, maximum=65535)
        or d.port,
        device=v.string(data, "device", where, default="") or "",
        fake_dir=v.string(data, "fake_dir", where, default=d.fake_dir) or d.fake_dir,
        timeout_s=v.number(data, "timeout_s", where, default=d.timeout_s, minimum=0.1)
        or d.timeout_s,
    )
    if not isinstance(data.get("qr", ""), str):
        v.err(where + "qr", "must be a text template like \"QMS:{id}\"")
    needs = {"usb": cfg.usb, "serial": cfg.serial, "network": cfg.host, "file": cfg.device}
    key = {"usb": "usb", "serial": "serial", "network": "host", "file": "device"}
    if transport in needs and not needs[transport]:
        v.err(where + key[transport], f"the {transport} transport needs {key[transport]}")
    return cfg
