"""The hall screen's layout on the rendered sizes: big numbers, contrast, the list, flashing."""

from __future__ import annotations

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from base.fonts import find_font
from base.screen.items import Item
from base.screen.painter import Painter
from base.texts import number_ranges
from display.hall import HallView, build_hall
from qms.config import ConfigError, parse_config

from .helpers import SMALL_TOML

ROOT = Path(__file__).resolve().parent.parent
FONT = find_font()
SIZES = [(1920, 1080), (1366, 768)]


def _shots() -> Any:
    spec = importlib.util.spec_from_file_location(
        "hall_shots", ROOT / "docs" / "make_hall_screenshots.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SHOTS = _shots()


def luminance(rgb: tuple[int, int, int]) -> float:
    def channel(c: int) -> float:
        v = c / 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def background_of(item: Item, items: list[Item]) -> tuple[int, int, int]:
    if item.bg is not None:
        return item.bg
    x, y, w, h = item.rect
    for other in reversed(items[:items.index(item)]):
        ox, oy, ow, oh = other.rect
        if other.bg is not None and ox <= x and oy <= y and x + w <= ox + ow and \
                y + h <= oy + oh:
            return other.bg
    raise AssertionError(f"no background under {item}")


def views() -> dict[str, HallView]:
    return {
        "fresh-lit": SHOTS.view(SHOTS.morning(5), highlight=True, flash_on=True),
        "fresh-dark": SHOTS.view(SHOTS.morning(5), highlight=True, flash_on=False),
        "sign": SHOTS.view(SHOTS.morning(6, sign_last=True), highlight=True, flash_on=True),
        "paused": SHOTS.view(SHOTS.morning(9, pause=(3, 6))),
        "lost": SHOTS.view(SHOTS.morning(7), link_up=False),
        "idle": SHOTS.view(SHOTS.morning(0)),
    }


VIEWS = views()


@pytest.mark.skipif(FONT is None, reason="no CJK font")
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", ["fresh-lit", "fresh-dark", "sign", "lost"])
def test_ticket_and_window_numbers_are_at_least_16_percent_of_the_height(
    name: str, size: tuple[int, int]
) -> None:
    assert FONT is not None
    w, h = size
    view = VIEWS[name]
    items = build_hall(view, w, h)
    painter = Painter(FONT, min(size) / 480)
    newest = view.calls[0]
    number = next(i for i in items if i.text == newest["number"])
    window = next(i for i in items if i.text == f"{newest['window']} 号窗口")
    for item in (number, window):
        fitted, lines = painter.fit(item)
        assert lines == [item.text]  # not wrapped, not cut
        assert fitted >= 0.16 * h, (item.text, fitted, h)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", list(VIEWS))
def test_every_text_has_at_least_7_to_1_contrast(name: str, size: tuple[int, int]) -> None:
    items = build_hall(VIEWS[name], *size)
    for item in items:
        if item.text:
            ratio = contrast(item.fg, background_of(item, items))
            assert ratio >= 7.0, (item.text, item.fg, round(ratio, 2))


@pytest.mark.parametrize("size", SIZES)
def test_at_least_six_recent_calls_are_listed(size: tuple[int, int]) -> None:
    view = SHOTS.view(SHOTS.morning(14))
    texts = [i.text for i in build_hall(view, *size)]
    listed = [t for t in texts if "→" in t]
    assert len(listed) >= 6
    assert listed[0].startswith(view.calls[1]["number"])  # newest first, after the big one


def test_paused_windows_and_the_sign_language_mark_are_shown() -> None:
    texts = [i.text for i in build_hall(VIEWS["paused"], 1920, 1080)]
    assert texts.count("暂停服务") == 2
    sign_texts = [i.text for i in build_hall(VIEWS["sign"], 1920, 1080)]
    assert "手语" in sign_texts


def test_each_department_shows_how_many_wait_and_the_windows_serving_it() -> None:
    # In the screenshots' morning s08 (医保, 社保, 一网通办 only) sits at windows 3 and 8.
    texts = [i.text for i in build_hall(VIEWS["idle"], 1920, 1080)]
    i = texts.index("民政救助")
    assert texts[i + 1].endswith(" 人") and texts[i + 2] == "1、2、4～7 号窗"
    i = texts.index("医疗保险")
    assert texts[i + 2] == "1～8 号窗"
    paused = [i.text for i in build_hall(VIEWS["paused"], 1920, 1080)]  # 3 and 6 paused
    assert paused[paused.index("民政救助") + 2] == "1、2、4、5、7 号窗"


def test_a_department_no_window_can_serve_says_so() -> None:
    view = SHOTS.view(SHOTS.morning(0))
    view.dept_windows = {**view.dept_windows, "minzheng": ()}
    texts = [i.text for i in build_hall(view, 1920, 1080)]
    assert texts[texts.index("民政救助") + 2] == "暂无窗口"


def test_window_lists_read_like_the_ticket() -> None:
    assert number_ranges([1, 2, 3, 5, 7, 8]) == "1～3、5、7、8"
    assert number_ranges([4, 2]) == "2、4"
    assert number_ranges([2, 3, 4, 5, 6, 7], ", ", "-") == "2-7"
    assert number_ranges([]) == ""


@pytest.mark.skipif(FONT is None, reason="no CJK font")
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", list(VIEWS))
def test_no_department_text_is_cut_off(name: str, size: tuple[int, int]) -> None:
    assert FONT is not None
    painter = Painter(FONT, min(size) / 480)
    view = VIEWS[name]
    names = {d[1] for d in view.departments}
    items = build_hall(view, *size)
    first = next(i for i, item in enumerate(items) if item.text in names)
    for item in items[first:]:
        if item.text:
            fitted, lines = painter.fit(item)
            assert lines == [item.text], (item.text, lines)
            assert fitted >= 0.02 * size[1], (item.text, fitted)  # ≥ 2% of the height


def test_the_lost_link_is_marked() -> None:
    assert "连接中断 重连中…" in [i.text for i in build_hall(VIEWS["lost"], 1920, 1080)]
    assert "连接中断 重连中…" not in [i.text for i in build_hall(VIEWS["idle"], 1920, 1080)]


def test_flashing_and_highlight_limits_are_enforced_by_the_config() -> None:
    base = SMALL_TOML.replace("POLICY", "")
    with pytest.raises(ConfigError, match="at most 3"):
        parse_config(base + "\n[display]\nflashes_per_s = 4\n")
    with pytest.raises(ConfigError, match="at least 10"):
        parse_config(base + "\n[display]\nhighlight_s = 5\n")
    with pytest.raises(ConfigError, match="at least 6"):
        parse_config(base + "\n[display]\nrecent = 4\n")
    with pytest.raises(ConfigError, match="name the pin factory"):
        parse_config(base + "\n[display]\n[[display.buttons]]\nwindow = 1\ncall_next = 5\n")
    with pytest.raises(ConfigError, match="already used"):
        parse_config(base + '\n[display]\npin_factory = "mock"\n[[display.buttons]]\nwindow = 1'
                            '\ncall_next = 5\nrecall = 5\n')
