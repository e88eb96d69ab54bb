"""What the hall TV shows, laid out for any resolution (designed for 1920×1080). Pure.

The newest call dominates the left: the ticket number and the window number each in type at
least 16% of the screen height, flashing (at most `flashes_per_s`) while it is highlighted.
The right lists the recent calls; below are the windows (serving, paused, green) and, per
department, how many wait and the windows serving it now ("民政救助 4 人 1～7 号窗": the
same windows the tickets and the kiosk name); a notice line scrolls at the bottom (drawn by the
app).
Colours are light on near-black or near-black on yellow: contrast at least 7:1 throughout.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from base.screen.items import Item
from base.texts import Labels, number_ranges

BG = (10, 15, 30)
PANEL = (22, 32, 56)
WHITE = (255, 255, 255)
YELLOW = (255, 214, 10)
CYAN = (125, 211, 252)
GREEN_BG = (4, 64, 48)
RED_BG = (127, 29, 29)
GREY_TEXT = (203, 213, 225)
INK = (10, 15, 30)

LABELS = Labels({
    "zh": {"now": "请以下号码到窗口办理", "window": "{n} 号窗口", "recent": "最近叫号",
           "call_row": "{number} → {n} 号窗", "sign": "手语", "appointment": "预约",
           "paused": "暂停服务",
           "idle": "空闲", "green": "绿色窗口", "waiting": "{n} 人", "lost": "连接中断 重连中…",
           "no_call": "欢迎光临", "window_short": "{n} 号窗", "recall": "再次呼叫",
           "serving": "{windows} 号窗", "sep": "、", "range": "～", "no_window": "暂无窗口"},
    "en": {"now": "Now serving", "window": "Window {n}", "recent": "Recent calls",
           "call_row": "{number} → {n}", "sign": "Sign", "appointment": "Booked",
           "paused": "Paused", "idle": "Open",
           "green": "Green", "waiting": "{n} waiting", "lost": "Reconnecting…",
           "no_call": "Welcome", "window_short": "Window {n}", "recall": "Recall",
           "serving": "Win. {windows}", "sep": ", ", "range": "-", "no_window": "None open"},
})


@dataclass
class HallView:
    center: str
    departments: list[tuple[str, str, frozenset[str]]]  # (id, name, its service ids)
    calls: list[dict[str, Any]] = field(default_factory=list)  # CALLs, newest first
    windows: list[dict[str, Any]] = field(default_factory=list)  # WINDOW objects of STATE
    waiting: dict[str, int] = field(default_factory=dict)  # service id -> waiting
    link_up: bool = True
    now: dt.datetime | None = None
    highlight: bool = False  # the newest call is still highlighted
    flash_on: bool = False  # in a highlight: the bright phase
    lang: str = "zh"
    recent: int = 8
    dept_windows: dict[str, tuple[int, ...]] = field(default_factory=dict)  # id -> windows


def _number_of(call: dict[str, Any]) -> str:
    return str(call.get("number", ""))


def build_hall(view: HallView, width: int, height: int) -> list[Item]:
    w, h = width, height
    lb = LABELS.table(view.lang)
    pad = max(4, h // 90)
    items: list[Item] = [Item((0, 0, w, h), bg=BG)]

    # Top bar: centre name, date and clock, the link mark.
    top = h * 8 // 100
    items.append(Item((0, 0, w, top), bg=PANEL))
    items.append(Item((pad * 2, 0, w * 60 // 100, top), view.center, top * 55 // 100,
                      fg=WHITE, bg=PANEL, bold=True, align="left"))
    if view.now is not None:
        weekday = "一二三四五六日"[view.now.weekday()]
        stamp = view.now.strftime(f"%Y-%m-%d 星期{weekday}  %H:%M") if view.lang == "zh" \
            else view.now.strftime("%a %Y-%m-%d  %H:%M")
        items.append(Item((w * 62 // 100, 0, w * 38 // 100 - pad * 2, top), stamp,
                          top * 45 // 100, fg=WHITE, bg=PANEL, align="left"))

    # The newest call, large.
    main_top = top + pad
    main_h = h * 44 // 100
    main_w = w * 62 // 100
    newest = view.calls[0] if view.calls else None
    lit = view.highlight and view.flash_on
    panel_bg, ink = (YELLOW, INK) if lit else (PANEL, YELLOW)
    items.append(Item((pad, main_top, main_w - pad, main_h), bg=panel_bg,
                      border=YELLOW if view.highlight else None))
    label_h = main_h * 14 // 100
    row_h = main_h * 40 // 100
    big = max(h * 17 // 100, row_h * 88 // 100)  # ≥ 16% of the screen height
    if newest is None:
        items.append(Item((pad, main_top, main_w - pad, main_h), lb["no_call"], h * 12 // 100,
                          fg=ink, bg=panel_bg, bold=True))
    else:
        label = lb["now"] + (f"（{lb['recall']}）" if newest.get("recall") and
                             view.lang == "zh" else "")
        items.append(Item((pad * 3, main_top + pad, main_w - pad * 5, label_h), label,
                          label_h * 60 // 100, fg=ink if lit else WHITE, bg=panel_bg,
                          align="left"))
        y = main_top + label_h + pad
        number_w = main_w - pad * 3
        sign = bool(newest.get("sign_language"))
        if sign:
            number_w = main_w * 72 // 100
            items.append(Item((pad + number_w, y + row_h // 4, main_w - number_w - pad * 4,
                               row_h // 2), lb["sign"], row_h * 30 // 100, fg=WHITE,
                              bg=GREEN_BG, bold=True, border=WHITE))
        items.append(Item((pad * 2, y, number_w, row_h), _number_of(newest), big, fg=ink,
                          bg=panel_bg, bold=True))
        y += row_h
        items.append(Item((pad * 2, y, main_w - pad * 3, row_h),
                          lb["window"].format(n=newest.get("window", "")), big, fg=ink,
                          bg=panel_bg, bold=True))

    # Recent calls.
    rx = main_w + pad
    rw = w - rx - pad
    items.append(Item((rx, main_top, rw, main_h), bg=PANEL))
    rows = max(6, view.recent)
    row = main_h // (rows + 1)
    items.append(Item((rx + pad, main_top, rw - 2 * pad, row), lb["recent"], row * 55 // 100,
                      fg=GREY_TEXT, bg=PANEL, align="left"))
    if not view.link_up:  # small but clear, where the eye goes for the latest calls
        items.append(Item((rx + rw * 45 // 100, main_top + pad, rw * 55 // 100 - pad,
                           row - pad), lb["lost"], row * 50 // 100, fg=WHITE, bg=RED_BG,
                          bold=True))
    for i, call in enumerate(view.calls[1:rows + 1]):
        y = main_top + row * (i + 1)
        text = lb["call_row"].format(number=_number_of(call), n=call.get("window", ""))
        sign_w = row * 2 if call.get("sign_language") else 0
        items.append(Item((rx + pad, y, rw - 2 * pad - sign_w, row), text, row * 62 // 100,
                          fg=WHITE, bg=PANEL, bold=True, align="left"))
        if sign_w:
            items.append(Item((rx + rw - pad - sign_w, y + row // 8, sign_w - pad, row * 3 // 4),
                              lb["sign"], row * 45 // 100, fg=WHITE, bg=GREEN_BG, bold=True))

    # Windows.
    wy = main_top + main_h + pad
    wh = h * 14 // 100
    windows = view.windows or []
    if windows:
        cw = (w - pad) // len(windows)
        for i, win in enumerate(windows):
            x = pad + i * cw
            paused = win.get("status") == "paused"
            bg = RED_BG if paused else (GREEN_BG if win.get("green") else PANEL)
            items.append(Item((x, wy, cw - pad, wh), bg=bg))
            title = lb["window_short"].format(n=win.get("number"))
            items.append(Item((x, wy + pad // 2, cw - pad, wh * 36 // 100), title,
                              wh * 24 // 100, fg=WHITE, bg=bg, bold=True))
            current = win.get("current")
            if paused:
                body = lb["paused"]
            elif current:
                body = str(current.get("number", ""))
            else:
                body = lb["idle"]
            items.append(Item((x, wy + wh * 36 // 100, cw - pad, wh * 40 // 100), body,
                              wh * 30 // 100, fg=YELLOW if current and not paused else WHITE,
                              bg=bg, bold=True))
            marks = []
            if win.get("green"):
                marks.append(lb["green"])
            if current and current.get("sign_language") and not paused:
                marks.append(lb["sign"])
            if current and current.get("appointment_code") and not paused:
                marks.append(lb["appointment"])
            if marks:
                items.append(Item((x, wy + wh * 76 // 100, cw - pad, wh * 22 // 100),
                                  " · ".join(marks), wh * 16 // 100, fg=WHITE, bg=bg))

    # Per department: how many wait, and the windows serving it now.
    qy = wy + wh + pad
    qh = h * 90 // 100 - qy - pad
    items.append(Item((0, qy, w, qh), bg=BG))
    depts = view.departments
    if depts:
        cols = min(3, len(depts))
        rows = math.ceil(len(depts) / cols)
        cell_w = (w - pad) // cols
        row_h = qh // rows
        font_px = min(row_h * 62 // 100, h * 4 // 100)
        for i, (dept_id, name, services) in enumerate(depts):
            n = sum(view.waiting.get(s, 0) for s in services)
            r, c = divmod(i, cols)
            x, y = pad + c * cell_w, qy + r * row_h
            cw, ch = cell_w - pad, row_h - pad // 2
            parts = [(name, 34, WHITE, True, "left"),
                     (lb["waiting"].format(n=n), 18, WHITE if n else GREY_TEXT, False,
                      "center")]
            if dept_id in view.dept_windows:
                served = view.dept_windows[dept_id]
                parts.append((lb["serving"].format(windows=number_ranges(
                    served, lb["sep"], lb["range"])) if served else lb["no_window"], 48, CYAN,
                    True, "left"))
            items.append(Item((x, y, cw, ch), bg=PANEL))
            left = x
            for label, share, fg, bold, align in parts:
                pw = cw * share // 100
                items.append(Item((left, y, pw, ch), label, _fitting(label, pw, font_px), fg=fg,
                                  bg=PANEL, bold=bold, align=align))
                left += pw
    return items


def _fitting(text: str, width: int, size: int) -> int:
    """`size`, or less so that `text` fits one line of `width` px (the painter keeps 8 px each
    side): Chinese glyphs are 1 em wide, Latin letters and digits about 0.6 em."""
    ems = sum(0.6 if ch.isascii() else 1.0 for ch in text) * 1.08
    return max(1, min(size, int((width - 16) / max(ems, 1.0))))


def ticker_rect(width: int, height: int) -> tuple[int, int, int, int]:
    """Where the scrolling notice line goes."""
    top = height * 90 // 100
    return (0, top, width, height - top)
