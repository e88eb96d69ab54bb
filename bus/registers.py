"""The register map of PROTOCOL.md (section Serial bus), as constants and pure conversions.

Texts are 16 bytes of GB2312 in holding registers 0–7, two bytes per register, first byte high,
padded with spaces; a character that would be cut in half is left out whole.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum

TEXT_BYTES = 16
TEXT_REGISTERS = TEXT_BYTES // 2
MODE_REGISTER = 8  # window display: 0 off, 1 steady, 2 blink
ASK_REGISTER = 0  # rating pad: 1 asks the resident to rate, 0 idle
COUNTER_REGISTER = 0  # keypad and rating pad: input 0, the event counter (uint16, wraps)
LAST_REGISTER = 1  # input 1: the key (keypad) or the grade (rating pad) of the last event
ENCODING = "gb2312"


class Kind(StrEnum):
    WINDOW_DISPLAY = "window_display"
    KEYPAD = "keypad"
    RATING_PAD = "rating_pad"


class Mode(IntEnum):
    OFF = 0
    STEADY = 1
    BLINK = 2


class Key(IntEnum):
    """The keys of a caller keypad (input register 1)."""

    CALL_NEXT = 1  # 叫号
    RECALL = 2  # 重呼
    NO_SHOW = 3  # 过号
    PAUSE_RESUME = 4  # 暂停/恢复
    ASK_RATING = 5  # 评价


class Grade(IntEnum):
    """The five grades of 政务服务好差评 (rating pad, input register 1)."""

    VERY_SATISFIED = 1  # 非常满意
    SATISFIED = 2  # 满意
    FAIRLY_SATISFIED = 3  # 基本满意
    DISSATISFIED = 4  # 不满意
    VERY_DISSATISFIED = 5  # 非常不满意


GRADE_NAMES = {1: "非常满意", 2: "满意", 3: "基本满意", 4: "不满意", 5: "非常不满意"}


def fit_text(text: str) -> bytes:
    """`text` as at most 16 bytes of GB2312, cut at a character boundary, space padded.
    Characters GB2312 lacks become "?"."""
    out = b""
    for ch in text:
        try:
            b = ch.encode(ENCODING)
        except UnicodeEncodeError:
            b = b"?"
        if len(out) + len(b) > TEXT_BYTES:
            break
        out += b
    return out.ljust(TEXT_BYTES, b" ")


def encode_text(text: str) -> list[int]:
    """The 8 register values holding `text`."""
    raw = fit_text(text)
    return [(raw[i] << 8) | raw[i + 1] for i in range(0, TEXT_BYTES, 2)]


def decode_text(registers: list[int]) -> str:
    """The text held in 8 registers (trailing spaces dropped; undecodable bytes as "?")."""
    raw = b"".join(((r >> 8) & 0xFF).to_bytes(1, "big") + (r & 0xFF).to_bytes(1, "big")
                   for r in registers[:TEXT_REGISTERS])
    return raw.decode(ENCODING, errors="replace").replace("\ufffd", "?").rstrip(" ")


def counter_delta(before: int, now: int) -> int:
    """Events between two readings of a wrapping uint16 counter."""
    return (now - before) & 0xFFFF
