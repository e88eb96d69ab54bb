"""The fake printer shipped for the demo and the tests (chosen explicitly, never a fallback).

It is a `Link`: it records every job's bytes, writes `NNNN.bin` and a `NNNN.png` preview into
its folder, answers DLE EOT like a real printer, and can be told to have a fault:
`paper_low`, `paper_out`, `cover_open`, `offline`, `unplugged`, or to be slow (bytes/s).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from .layout import Profile
from .links import PrinterUnavailable

FAULTS = ("paper_low", "paper_out", "cover_open", "offline", "unplugged")

# DLE EOT answers: (printer, offline cause, paper sensor); 0x12 = all clear.
_ANSWERS = {
    None: (0x12, 0x12, 0x12),
    "paper_low": (0x12, 0x12, 0x1E),
    "paper_out": (0x1A, 0x32, 0x7E),
    "cover_open": (0x1A, 0x16, 0x12),
    "offline": (0x1A, 0x12, 0x12),
}


class FakePrinter:
    name = "fake"

    def __init__(self, folder: Path | None = None, profile: Profile | None = None,
                 font: Path | None = None, bytes_per_s: float | None = None) -> None:
        self.folder = folder
        self.profile = profile or Profile()
        self.font = font
        self.bytes_per_s = bytes_per_s
        self.fault: str | None = None
        self.jobs: list[bytes] = []  # what came out on paper
        self.previews: list[Path] = []
        self.is_open = False
        self.opens = 0
        self._lock = threading.Lock()
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)

    def set_fault(self, fault: str | None) -> None:
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r} (known: {', '.join(FAULTS)})")
        self.fault = fault
        if fault == "unplugged":
            self.is_open = False

    # -- Link ---------------------------------------------------------------------------------

    def open(self) -> None:
        if self.fault == "unplugged":
            raise PrinterUnavailable("fake: not found (unplugged)")
        self.is_open = True
        self.opens += 1

    def write(self, data: bytes) -> None:
        if self.fault == "unplugged" or not self.is_open:
            raise PrinterUnavailable("fake: not found (unplugged)")
        if self.bytes_per_s:
            time.sleep(len(data) / self.bytes_per_s)
        if self.fault in ("paper_out", "cover_open", "offline"):
            return  # a real printer swallows the bytes and prints nothing
        with self._lock:
            self.jobs.append(bytes(data))
            number = len(self.jobs)
        if self.folder is not None:
            (self.folder / f"{number:04d}.bin").write_bytes(data)
            if self.font is not None:
                from .preview import save_preview

                self.previews.append(
                    save_preview(data, self.profile, self.font, self.folder / f"{number:04d}.png")
                )

    def query(self, n: int) -> int | None:
        if self.fault == "unplugged" or not self.is_open:
            raise PrinterUnavailable("fake: not found (unplugged)")
        printer, offline, paper = _ANSWERS[self.fault]
        return {1: printer, 2: offline, 4: paper}.get(n)

    def close(self) -> None:
        self.is_open = False
