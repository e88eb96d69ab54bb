"""What a screen is made of: rectangles with text, colours and, for buttons, a tap target.

Layouts (the kiosk's screens, the hall screen) are pure functions that return items; the
painter draws them and hit-testing reads the same rectangles.
"""

from __future__ import annotations

from dataclasses import dataclass

Rect = tuple[int, int, int, int]

INK = (17, 24, 39)
MIN_TEXT = 22  # smallest text, in u (px at 480 px on the short side)
MIN_TARGET = 64  # smallest tap target, in u


@dataclass(frozen=True)
class Item:
    rect: Rect
    text: str = ""
    size: int = MIN_TEXT  # font pixel size before fitting
    fg: tuple[int, int, int] = INK
    bg: tuple[int, int, int] | None = None
    target: str | None = None  # a button: what a tap on it means
    align: str = "center"  # center | left
    bold: bool = False
    lines: int = 1  # at most this many lines (shrinks the text to fit, never under MIN_TEXT u)
    border: tuple[int, int, int] | None = None
