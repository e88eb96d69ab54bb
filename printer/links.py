"""Links to printers: USB, serial, network and device file through python-escpos.

A link only moves bytes: `open`, `write` (in chunks, so slow serial links keep up), `query`
(DLE EOT n → the status byte, or None when the link cannot answer) and `close`. Every
failure is raised as `PrinterUnavailable` with a reason a person can act on.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any, Protocol

from . import escpos

# python-escpos writes a capabilities pickle into a new temp directory on every import
# unless told where to keep it.
os.environ.setdefault(
    "ESCPOS_CAPABILITIES_PICKLE_DIR", str(Path(tempfile.gettempdir()) / "qms-escpos")
)
Path(os.environ["ESCPOS_CAPABILITIES_PICKLE_DIR"]).mkdir(parents=True, exist_ok=True)


class PrinterUnavailable(Exception):
    """The printer cannot be reached (unplugged, busy, wrong address …)."""


class Link(Protocol):
    name: str

    def open(self) -> None: ...

    def write(self, data: bytes) -> None: ...

    def query(self, n: int) -> int | None: ...

    def close(self) -> None: ...


class EscposLink:
    """A python-escpos printer object used as a raw byte pipe."""

    def __init__(self, name: str, make: Any, chunk: int = 4096, can_read: bool = True,
                 read_one: bool = False) -> None:
        self.name = name
        self._make = make
        self._chunk = chunk
        self._can_read = can_read
        # python-escpos's serial read waits out the whole timeout for 16 bytes; a status
        # answer is one byte, so read exactly one and return as soon as it arrives.
        self._read_one = read_one
        self._printer: Any = None

    def open(self) -> None:
        try:
            printer = self._make()
            printer.open()
        except Exception as exc:  # usb.core.USBError, serial.SerialException, OSError …
            raise PrinterUnavailable(f"{self.name}: {_reason(exc)}") from None
        self._printer = printer

    def write(self, data: bytes) -> None:
        if self._printer is None:
            raise PrinterUnavailable(f"{self.name}: not open")
        try:
            for start in range(0, len(data), self._chunk):
                self._printer._raw(data[start:start + self._chunk])
        except Exception as exc:
            raise PrinterUnavailable(f"{self.name}: {_reason(exc)}") from None

    def query(self, n: int) -> int | None:
        if self._printer is None or not self._can_read:
            return None
        try:
            self._printer._raw(escpos.status_query(n))
            answer = self._printer.device.read(1) if self._read_one else self._printer._read()
        except NotImplementedError:
            return None
        except Exception as exc:
            raise PrinterUnavailable(f"{self.name}: {_reason(exc)}") from None
        return answer[-1] if answer else None

    def close(self) -> None:
        printer, self._printer = self._printer, None
        if printer is not None:
            with contextlib.suppress(Exception):  # closing a vanished device may fail too
                printer.close()


def _reason(exc: BaseException) -> str:
    errno = getattr(exc, "errno", None)
    if errno == 16:
        return "resource busy (another program holds the printer)"
    if errno in (2, 19):
        return "not found (unplugged?)"
    if errno == 13:
        return "permission denied (is the service user in the lp/dialout group?)"
    return str(exc) or type(exc).__name__


def usb_link(vendor: int, product: int, timeout_ms: int = 3000) -> EscposLink:
    from escpos.printer import Usb

    return EscposLink(
        f"usb {vendor:04x}:{product:04x}",
        lambda: Usb(idVendor=vendor, idProduct=product, timeout=timeout_ms),
    )


def serial_link(device: str, baudrate: int, flow: str = "none",
                timeout_s: float = 1.0) -> EscposLink:
    from escpos.printer import Serial

    def make() -> Any:
        return Serial(devfile=device, baudrate=baudrate, timeout=timeout_s,
                      xonxoff=flow == "xonxoff", dsrdtr=flow == "dsrdtr")

    # At 9600 baud a 4 KB chunk takes 4 s: write small chunks so status stays responsive.
    return EscposLink(f"serial {device}@{baudrate}", make,
                      chunk=256 if baudrate < 38400 else 2048, read_one=True)


def network_link(host: str, port: int, timeout_s: float = 5.0) -> EscposLink:
    from escpos.printer import Network

    return EscposLink(f"network {host}:{port}", lambda: Network(host, port, timeout=timeout_s))


def file_link(device: str) -> EscposLink:
    from escpos.printer import File

    return EscposLink(f"file {device}", lambda: File(devfile=device), can_read=False)
