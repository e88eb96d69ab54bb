"""PNG previews: what a printer would print for an ESC/POS byte stream (the commands qms uses).

Text is drawn with a CJK font on the printer's grid, native QR codes are regenerated from their
payload, raster bands are copied dot for dot. An unknown command raises ValueError.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from .layout import QR, Profile, Text
from .raster import CELL_H, LINE_GAP, draw_text, qr_image


@dataclass
class _Mode:
    align: str = "left"
    w: int = 1
    h: int = 1
    bold: bool = False
    reverse: bool = False
    qr: str = ""


def preview(data: bytes, profile: Profile, font: Path) -> Image.Image:
    """The paper as an image, `profile.dots` wide."""
    parts: list[Image.Image] = []
    mode = _Mode()
    line = bytearray()
    i = 0

    def flush() -> None:
        text = bytes(line).decode(profile.encoding, "replace")
        parts.append(draw_text(Text(text, mode.w, mode.h, mode.bold, mode.align, mode.reverse),
                               profile.dots, font, profile.encoding))
        line.clear()

    def need(n: int) -> bytes:
        if i + n > len(data):
            raise ValueError(f"truncated command at byte {i}")
        return data[i:i + n]

    while i < len(data):
        b = data[i]
        if b == 0x0A:
            flush()
            i += 1
        elif b == 0x1B:  # ESC
            cmd = need(2)[1:2]
            if cmd == b"@":
                mode = _Mode()
                i += 2
            elif cmd == b"a":
                mode.align = {0: "left", 1: "center", 2: "right"}[need(3)[2]]
                i += 3
            elif cmd == b"E":
                mode.bold = bool(need(3)[2])
                i += 3
            elif cmd == b"d":
                n = need(3)[2]
                parts.append(Image.new("L", (profile.dots, (CELL_H + LINE_GAP) * n), 255))
                i += 3
            else:
                raise ValueError(f"unknown ESC {cmd!r} at byte {i}")
        elif b == 0x1C:  # FS & / FS .
            if need(2)[1:2] not in (b"&", b"."):
                raise ValueError(f"unknown FS command at byte {i}")
            i += 2
        elif b == 0x1D:  # GS
            cmd = need(2)[1:2]
            if cmd == b"!":
                n = need(3)[2]
                mode.w, mode.h = (n >> 4) + 1, (n & 0x0F) + 1
                i += 3
            elif cmd == b"B":
                mode.reverse = bool(need(3)[2])
                i += 3
            elif cmd == b"V":
                i += 4 if need(3)[2] in (65, 66) else 3
            elif cmd == b"(":
                head = need(5)
                length = head[3] | head[4] << 8
                body = need(5 + length)[5:]
                if body[:2] == bytes([49, 80]):  # store QR data: remember it
                    mode.qr = body[3:].decode("utf-8", "replace")
                elif body[:2] == bytes([49, 81]):  # print it
                    code = qr_image(QR(mode.qr, 6 if profile.dots >= 576 else 4))
                    band = Image.new("L", (profile.dots, code.height + LINE_GAP), 255)
                    band.paste(code, ((profile.dots - code.width) // 2, 0))
                    parts.append(band)
                i += 5 + length
            elif cmd == b"v":
                head = need(8)
                width_bytes = head[4] | head[5] << 8
                rows = head[6] | head[7] << 8
                bits = need(8 + width_bytes * rows)[8:]
                band = Image.frombytes("1", (width_bytes * 8, rows), bits)
                parts.append(Image.eval(band.convert("L"), lambda v: 255 - v))
                i += 8 + width_bytes * rows
            else:
                raise ValueError(f"unknown GS {cmd!r} at byte {i}")
        elif b < 0x20:
            raise ValueError(f"unknown control byte {b:#04x} at byte {i}")
        else:
            line.append(b)
            i += 1
    if line:
        flush()
    height = sum(p.height for p in parts) + 40
    paper = Image.new("L", (profile.dots + 40, height), 255)
    y = 20
    for p in parts:
        paper.paste(p.crop((0, 0, min(p.width, profile.dots), p.height)), (20, y))
        y += p.height
    return paper


def save_preview(data: bytes, profile: Profile, font: Path, path: Path) -> Path:
    preview(data, profile, font).save(path)
    return path
