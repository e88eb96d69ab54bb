"""Kiosk layouts at the panel sizes: target sizes, text sizes, nothing cut off, hit-testing."""

from __future__ import annotations

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from base.fonts import find_font
from base.screen.items import MIN_TARGET, MIN_TEXT
from base.screen.painter import Painter
from kiosk.screens import build, hit

ROOT = Path(__file__).resolve().parent.parent
FONT = find_font()
SIZES = [(800, 480), (1280, 800), (1080, 1920)]


def _shots() -> Any:
    spec = importlib.util.spec_from_file_location("shots", ROOT / "docs" / "make_screenshots.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SHOTS = _shots()
VIEW = SHOTS.busy_view()


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", list(SHOTS.STATES))
def test_buttons_are_big_enough_and_inside_the_screen(name: str, size: tuple[int, int]) -> None:
    w, h = size
    u = min(w, h) / 480
    for item in build(SHOTS.STATES[name], VIEW, w, h):
        x, y, iw, ih = item.rect
        assert x >= 0 and y >= 0 and x + iw <= w and y + ih <= h, item
        if item.target is not None:
            assert iw >= MIN_TARGET * u - 1 and ih >= MIN_TARGET * u - 1, item
        if item.text:
            assert item.size >= MIN_TEXT * u - 1, item


@pytest.mark.skipif(FONT is None, reason="no CJK font")
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", list(SHOTS.STATES))
def test_no_text_is_cut_off(name: str, size: tuple[int, int]) -> None:
    assert FONT is not None
    painter = Painter(FONT, min(size) / 480)
    for item in build(SHOTS.STATES[name], VIEW, *size):
        if item.text:
            fitted, lines = painter.fit(item)
            assert fitted >= painter.min_size
            assert "".join(lines).replace(" ", "") == item.text.replace(" ", ""), (item.text,
                                                                                  lines)


def test_a_tap_hits_the_button_under_it() -> None:
    items = build(SHOTS.STATES["home"], VIEW, 800, 480)
    tile = next(i for i in items if i.target == "dept:yibao")
    x, y, w, h = tile.rect
    assert hit(items, x + w // 2, y + h // 2) == "dept:yibao"
    assert hit(items, x - 1, y - 1) is None or hit(items, x - 1, y - 1) != "dept:yibao"


@pytest.mark.parametrize("name", list(SHOTS.STATES))
def test_kiosk_text_has_at_least_7_to_1_contrast(name: str) -> None:
    from .test_display_layout import background_of, contrast

    items = build(SHOTS.STATES[name], VIEW, 800, 480)
    for item in items:
        if item.text:
            ratio = contrast(item.fg, background_of(item, items))
            assert ratio >= 7.0, (item.text, item.fg, round(ratio, 2))


def test_the_business_screen_names_the_windows_serving_it_now() -> None:
    state = SHOTS.STATES["service"]
    texts = [i.text for i in build(state, VIEW, 800, 480)]
    assert f"请到 {VIEW.windows['yibao-dabing']} 号窗口办理" in texts
    assert VIEW.windows["yibao-dabing"] == "1、2、4～8"  # window 3 is paused in the shots


def test_the_number_screen_names_the_windows_of_the_answer_as_printed() -> None:
    import dataclasses

    state = SHOTS.STATES["done"]
    reply = {**state.ticket, "windows": [5, 6, 7]}
    texts = [i.text for i in build(dataclasses.replace(state, ticket=reply), VIEW, 800, 480)]
    assert "请到 5～7 号窗口办理" in texts
    old = {k: v for k, v in state.ticket.items() if k != "windows"}  # an older dispatcher
    texts = [i.text for i in build(dataclasses.replace(state, ticket=old), VIEW, 800, 480)]
    assert f"请到 {VIEW.windows['yibao-dabing']} 号窗口办理" in texts
