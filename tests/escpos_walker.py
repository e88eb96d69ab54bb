"""An independent reader of ESC/POS streams for the tests.

It knows each command qms may send and its length, fails on anything else, and gives back
the printed lines (decoded with the printer's encoding, with their size), the QR payloads and
the raster image. It shares no code with `printer/`.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class UnknownCommand(AssertionError):
    pass


@dataclass
class Line:
    text: str
    columns: int  # columns the text takes at its size
    width: int
    height: int
    bold: bool
    align: int
    reverse: bool


@dataclass
class Walk:
    lines: list[Line] = field(default_factory=list)
    qr_payloads: list[bytes] = field(default_factory=list)
    qr_printed: int = 0
    raster_rows: list[bytes] = field(default_factory=list)  # one bytes object per dot row
    raster_width_bytes: int = 0
    bands: int = 0
    cuts: int = 0
    feeds: int = 0
    chinese_mode: bool = False
    commands: list[str] = field(default_factory=list)


def _char_columns(raw: bytes, encoding: str) -> int:
    """Columns of encoded text: single bytes 1, a GBK pair 2, a GB18030 four-byte char 2."""
    cols = 0
    i = 0
    while i < len(raw):
        b = raw[i]
        if b < 0x80:
            cols += 1
            i += 1
        elif encoding == "gb18030" and i + 1 < len(raw) and 0x30 <= raw[i + 1] <= 0x39:
            cols += 2
            i += 4
        else:
            cols += 2
            i += 2
    return cols


def walk(data: bytes, encoding: str) -> Walk:
    w = Walk()
    width = height = 1
    bold = reverse = False
    align = 0
    text = bytearray()
    i = 0

    def take(n: int) -> bytes:
        if i + n > len(data):
            raise UnknownCommand(f"truncated command at {i}")
        return data[i:i + n]

    while i < len(data):
        b = data[i]
        if b == 0x0A:
            raw = bytes(text)
            w.lines.append(Line(raw.decode(encoding), _char_columns(raw, encoding) * width,
                                width, height, bold, align, reverse))
            text.clear()
            i += 1
            continue
        if b >= 0x20:
            text.append(b)
            i += 1
            continue
        if text:
            raise UnknownCommand(f"a command in the middle of a line at {i}")
        two = take(2)
        if two == b"\x1b@":
            w.commands.append("ESC @")
            width = height = 1
            bold = reverse = False
            align = 0
            i += 2
        elif two == b"\x1c&":
            w.commands.append("FS &")
            w.chinese_mode = True
            i += 2
        elif two == b"\x1ba":
            align = take(3)[2]
            assert align in (0, 1, 2)
            w.commands.append("ESC a")
            i += 3
        elif two == b"\x1bE":
            bold = bool(take(3)[2])
            w.commands.append("ESC E")
            i += 3
        elif two == b"\x1bd":
            w.feeds += take(3)[2]
            w.commands.append("ESC d")
            i += 3
        elif two == b"\x1d!":
            n = take(3)[2]
            width, height = (n >> 4) + 1, (n & 0x0F) + 1
            w.commands.append("GS !")
            i += 3
        elif two == b"\x1dB":
            reverse = bool(take(3)[2])
            w.commands.append("GS B")
            i += 3
        elif two == b"\x1dV":
            assert take(4)[2:] == b"\x42\x00", "expected GS V 66 0 (partial cut)"
            w.cuts += 1
            w.commands.append("GS V")
            i += 4
        elif two == b"\x1d(":
            head = take(5)
            assert head[2:3] == b"k"
            length = head[3] | head[4] << 8
            body = take(5 + length)[5:]
            cn, fn = body[0], body[1]
            assert cn == 49 and fn in (65, 67, 69, 80, 81), f"unknown GS ( k function {fn}"
            if fn == 80:
                assert body[2] == 48
                w.qr_payloads.append(body[3:])
            elif fn == 81:
                w.qr_printed += 1
            w.commands.append(f"GS ( k {fn}")
            i += 5 + length
        elif two == b"\x1dv":
            head = take(8)
            assert head[2:4] == b"0\x00", "expected GS v 0 mode 0"
            xb = head[4] | head[5] << 8
            rows = head[6] | head[7] << 8
            bits = take(8 + xb * rows)[8:]
            if w.raster_width_bytes:
                assert xb == w.raster_width_bytes, "raster bands of different widths"
            w.raster_width_bytes = xb
            w.raster_rows.extend(bits[r * xb:(r + 1) * xb] for r in range(rows))
            w.bands += 1
            w.commands.append("GS v 0")
            i += 8 + xb * rows
        else:
            raise UnknownCommand(f"unknown command {two!r} at byte {i}")
    if text:
        raise UnknownCommand("text left without a line feed")
    return w
