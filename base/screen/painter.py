"""Drawing screen items with pygame: CJK text through pygame.freetype, fitted to its box."""

from __future__ import annotations

import functools
from pathlib import Path

import pygame
import pygame.freetype

from base.screen.items import MIN_TEXT, Item


def font_index(path: Path) -> int:
    """Noto Sans CJK is a collection: its Simplified Chinese face is index 2 (Debian)."""
    return 2 if "NotoSansCJK" in path.name or "NotoSerifCJK" in path.name else 0


class Painter:
    """Draws items; keeps fonts and rendered lines cached (the screens redraw often)."""

    def __init__(self, font_path: Path, scale: float) -> None:
        pygame.freetype.init()
        self.font_path = font_path
        self.min_size = max(8, round(MIN_TEXT * scale))
        self._font = pygame.freetype.Font(str(font_path), 24, font_index=font_index(font_path))
        self._font.pad = False
        self._font.origin = False

    @functools.lru_cache(maxsize=256)  # noqa: B019 - one painter per app; ~a screen's lines
    def line(self, text: str, size: int, fg: tuple[int, int, int], bold: bool
              ) -> pygame.Surface:
        self._font.strong = bold
        surface, _ = self._font.render(text, fg, size=size)
        self._font.strong = False
        return surface

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - widths are small to keep
    def _width(self, text: str, size: int, bold: bool) -> int:
        self._font.strong = bold
        width = int(self._font.get_rect(text, size=size).width)
        self._font.strong = False
        return width

    def wrap(self, text: str, size: int, width: int, bold: bool) -> list[str]:
        """Break text into lines that fit `width` px: Chinese anywhere, Latin at spaces."""
        lines: list[str] = []
        line = ""
        for token in _tokens(text):
            trial = line + token
            if not line or self._width(trial, size, bold) <= width:
                line = trial
                continue
            lines.append(line.rstrip())
            line = token.lstrip()
        if line:
            lines.append(line)
        return lines or [""]

    def fit(self, item: Item) -> tuple[int, list[str]]:
        """The largest size ≤ item.size at which the text fits its box: one line if it can
        (down to the minimum size), else up to `item.lines` lines; cut with … if not even then."""
        _, _, w, h = item.rect
        inner_w = max(1, w - 16)

        def attempt(size: int, max_lines: int) -> list[str] | None:
            lines = self.wrap(item.text, size, inner_w, item.bold)
            ok = len(lines) <= max_lines and len(lines) * size * 1.25 <= h + size * 0.3 and \
                all(self._width(ln, size, item.bold) <= inner_w for ln in lines)
            return lines if ok else None

        for max_lines in sorted({1, item.lines}):
            size = item.size
            while True:
                lines = attempt(size, max_lines)
                if lines is not None:
                    return size, lines
                if size <= self.min_size:
                    break
                size = max(self.min_size, int(size * 0.92))
        kept = self.wrap(item.text, self.min_size, inner_w, item.bold)[:item.lines]
        kept[-1] = kept[-1][:-1] + "…" if len(kept[-1]) > 1 else kept[-1]
        return self.min_size, kept

    def draw(self, surface: pygame.Surface, items: list[Item], pressed: str | None = None
             ) -> None:
        radius = max(4, self.min_size // 3)
        for item in items:
            x, y, w, h = item.rect
            fg, bg = item.fg, item.bg
            if pressed is not None and item.target == pressed and bg is not None:
                fg, bg = bg, fg  # immediate feedback: the pressed button inverts
            if bg is not None:
                full = (w, h) == surface.get_size()
                pygame.draw.rect(surface, bg, item.rect, border_radius=0 if full else radius)
            if item.border is not None:
                pygame.draw.rect(surface, item.border, item.rect, width=max(2, radius // 3),
                                 border_radius=radius)
            if item.text:
                size, lines = self.fit(item)
                line_h = int(size * 1.25)
                top = y + (h - line_h * len(lines)) // 2
                for i, text in enumerate(lines):
                    rendered = self.line(text, size, fg, item.bold)
                    lx = x + 8 if item.align == "left" else x + (w - rendered.get_width()) // 2
                    ly = top + i * line_h + (line_h - rendered.get_height()) // 2
                    surface.blit(rendered, (lx, ly))


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    word = ""
    for ch in text:
        if ch.isascii() and not ch.isspace():
            word += ch
            continue
        if word:
            out.append(word)
            word = ""
        out.append(ch)
    if word:
        out.append(word)
    return out
