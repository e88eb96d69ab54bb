"""Printer status from `DLE EOT` answers. No answer, or a malformed one, is UNKNOWN — never OK."""

from __future__ import annotations

from enum import StrEnum


class PrinterStatus(StrEnum):
    OK = "ok"
    PAPER_LOW = "paper_low"
    PAPER_OUT = "paper_out"
    COVER_OPEN = "cover_open"
    OFFLINE = "offline"
    UNKNOWN = "unknown"

    @property
    def can_print(self) -> bool:
        """Worth sending a ticket: OK, paper low, or a link that cannot tell."""
        return self in (PrinterStatus.OK, PrinterStatus.PAPER_LOW, PrinterStatus.UNKNOWN)


def _valid(byte: int | None) -> bool:
    """Status bytes have bit 1 and bit 4 set, bit 0 and bit 7 clear."""
    return byte is not None and (byte & 0x93) == 0x12


def parse_status(printer: int | None, offline: int | None, paper: int | None) -> PrinterStatus:
    """Combine the answers to DLE EOT 1 (printer), 2 (offline cause) and 4 (paper sensor)."""
    if _valid(offline) and offline is not None:
        if offline & 0x04:
            return PrinterStatus.COVER_OPEN
        if offline & 0x20:
            return PrinterStatus.PAPER_OUT
    if _valid(paper) and paper is not None and paper & 0x60:
        return PrinterStatus.PAPER_OUT
    if not _valid(printer) or printer is None:
        return PrinterStatus.UNKNOWN
    if printer & 0x08:
        return PrinterStatus.OFFLINE
    if not _valid(paper) or not _valid(offline):
        return PrinterStatus.UNKNOWN
    if paper is not None and paper & 0x0C:
        return PrinterStatus.PAPER_LOW
    return PrinterStatus.OK
