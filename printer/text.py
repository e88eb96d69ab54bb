"""Text for thermal printers: encoding (GB18030 or GBK), column widths, wrapping.

A printer's Chinese font covers GBK's double-byte characters; anything the chosen encoding
cannot express in one or two bytes (emoji, rare 4-byte GB18030 characters, control
characters) becomes a visible □, never garbage.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator

ENCODINGS = ("gb18030", "gbk")
REPLACEMENT = "□"  # GBK A1F5: printable on every Chinese printer
# Look-alikes a Chinese printer font has, for characters it lacks.
SUBSTITUTES = {"¥": "￥", "\u00a0": " ", "•": "·", "✓": "√", "✔": "√", "€": "EUR"}


def _encode_char(ch: str, encoding: str) -> bytes | None:
    try:
        data = ch.encode(encoding)
    except UnicodeEncodeError:
        return None
    return data if len(data) <= 2 else None


def clean(text: str, encoding: str) -> str:
    """The text as the printer will show it: unprintable characters replaced by □."""
    out = []
    for ch in text:
        ch = SUBSTITUTES.get(ch, ch)
        if ch in "\r\n\t":
            out.append(" ")
            continue
        category = unicodedata.category(ch)
        if category in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp") or category.startswith("M"):
            out.append(REPLACEMENT if category not in ("Cf",) else "")
            continue
        out.append(ch if len(ch) > 1 or _encode_char(ch, encoding) is not None else REPLACEMENT)
    return "".join(out)


def encode(text: str, encoding: str) -> bytes:
    """Bytes for the printer; call on cleaned text (anything else is replaced first)."""
    return clean(text, encoding).encode(encoding)


def char_width(ch: str, encoding: str) -> int:
    """Columns a (cleaned) character takes: 1 for a single byte, 2 for a double-byte one."""
    data = _encode_char(ch, encoding)
    return 1 if data is not None and len(data) == 1 else 2


def width(text: str, encoding: str) -> int:
    return sum(char_width(ch, encoding) for ch in text)


def wrap(text: str, columns: int, encoding: str) -> list[str]:
    """Cleaned text broken into lines of at most `columns` columns.

    Chinese breaks anywhere; a run of Latin letters or digits is kept whole when it fits.
    """
    if columns < 2:
        raise ValueError("a line needs at least two columns")
    text = clean(text, encoding).strip()
    if not text:
        return [""]
    lines: list[str] = []
    line = ""
    used = 0
    for token in _tokens(text):
        w = width(token, encoding)
        if used + w <= columns:
            line += token
            used += w
            continue
        if token == " ":
            lines.append(line)
            line, used = "", 0
            continue
        if w <= columns and line:
            lines.append(line.rstrip())
            line, used = token, w
            continue
        for ch in token:  # longer than a line: break inside it
            cw = char_width(ch, encoding)
            if used + cw > columns:
                lines.append(line.rstrip())
                line, used = "", 0
            line += ch
            used += cw
    if line.strip() or not lines:
        lines.append(line.rstrip())
    return [ln.lstrip() for ln in lines]


def _tokens(text: str) -> Iterator[str]:
    """Runs of ASCII letters/digits as one token; every other character alone."""
    run = ""
    for ch in text:
        if ch.isascii() and (ch.isalnum() or ch in "-_./:@#%+()"):
            run += ch
            continue
        if run:
            yield run
            run = ""
        yield ch
    if run:
        yield run
