"""The ESC/POS commands qms sends, as bytes. Nothing else is ever sent."""

from __future__ import annotations

ESC = b"\x1b"
GS = b"\x1d"
FS = b"\x1c"
DLE = b"\x10"

INIT = ESC + b"@"  # reset the printer's modes
CHINESE_ON = FS + b"&"  # double-byte (GB18030/GBK) text mode
CHINESE_OFF = FS + b"."
LF = b"\n"


def align(where: str) -> bytes:
    return ESC + b"a" + bytes([{"left": 0, "center": 1, "right": 2}[where]])


def size(width: int, height: int) -> bytes:
    """GS ! — enlarges Chinese and Latin alike (ESC ! does not enlarge Chinese)."""
    if not (1 <= width <= 8 and 1 <= height <= 8):
        raise ValueError("character size is 1–8 times")
    return GS + b"!" + bytes([(width - 1) << 4 | (height - 1)])


def bold(on: bool) -> bytes:
    return ESC + b"E" + bytes([1 if on else 0])


def reverse(on: bool) -> bytes:
    return GS + b"B" + bytes([1 if on else 0])


def feed(lines: int) -> bytes:
    return ESC + b"d" + bytes([max(0, min(255, lines))])


def cut_partial() -> bytes:
    """GS V 66 0: feed to the cutter and cut, leaving a hinge."""
    return GS + b"V" + bytes([66, 0])


def _qr_function(fn: int, data: bytes) -> bytes:
    length = len(data) + 2
    return GS + b"(k" + bytes([length & 0xFF, length >> 8, 49, fn]) + data


def qr(payload: bytes, module: int = 6, correction: str = "M") -> bytes:
    """Native QR (GS ( k): model 2, module size in dots, error correction L/M/Q/H."""
    if not 1 <= module <= 16:
        raise ValueError("QR module size is 1–16 dots")
    if len(payload) > 7000:
        raise ValueError("QR payload too long")
    level = {"L": 48, "M": 49, "Q": 50, "H": 51}[correction]
    return (
        _qr_function(65, bytes([50, 0]))  # model 2
        + _qr_function(67, bytes([module]))
        + _qr_function(69, bytes([level]))
        + _qr_function(80, b"0" + payload)  # store
        + _qr_function(81, b"0")  # print
    )


def raster(bits: bytes, width_bytes: int, rows: int) -> bytes:
    """GS v 0: one band of a 1-bit image, `width_bytes` bytes (8 dots) per row, MSB left."""
    if len(bits) != width_bytes * rows:
        raise ValueError("raster data does not match its size")
    return (GS + b"v0\x00" + bytes([width_bytes & 0xFF, width_bytes >> 8, rows & 0xFF,
                                    rows >> 8]) + bits)


def status_query(n: int) -> bytes:
    """DLE EOT n: 1 printer, 2 offline cause, 4 paper sensor."""
    return DLE + b"\x04" + bytes([n])
