"""What each kiosk screen shows, laid out for any resolution. Pure: no pygame here.

`build(state, view, width, height)` returns the items to draw, buttons with their tap
targets included, so drawing and hit-testing use the same rectangles. Sizes scale with the
shorter side of the screen (`u` = 1 at 480 px): text is never under 22 u px (≈ 4 mm on a
7" 800×480 panel) and buttons never under 64 u px (≥ 9 mm).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from base.screen.items import INK, MIN_TARGET, MIN_TEXT, Item, Rect
from base.texts import number_ranges

from .flow import KioskState, Screen
from .texts import t

# High-contrast palette (text/background contrast ≥ 7:1 everywhere).
WHITE = (255, 255, 255)
BLUE = (11, 61, 145)
GREEN = (4, 96, 42)
RED = (153, 27, 27)
GREY = (229, 231, 235)
PALE = (239, 246, 255)
AMBER = (255, 243, 205)


@dataclass(frozen=True)
class ServiceView:
    id: str
    name: str
    name_en: str
    short: bool
    minutes: int
    materials: tuple[str, ...]


@dataclass(frozen=True)
class DepartmentView:
    id: str
    name: str
    name_en: str
    services: tuple[ServiceView, ...]


@dataclass
class View:
    """What the kiosk knows besides its own state: the catalog and the queue."""

    center: str
    center_en: str
    departments: tuple[DepartmentView, ...]
    waiting: dict[str, int] = field(default_factory=dict)  # service id -> waiting
    estimate: dict[str, tuple[int, int]] = field(default_factory=dict)  # id -> (ahead, min)
    windows: dict[str, str] = field(default_factory=dict)  # service id -> "1～8", live

    def department(self, dept_id: str | None) -> DepartmentView | None:
        return next((d for d in self.departments if d.id == dept_id), None)

    def service(self, service_id: str | None) -> ServiceView | None:
        for d in self.departments:
            for s in d.services:
                if s.id == service_id:
                    return s
        return None


@dataclass
class _Frame:
    w: int
    h: int

    @property
    def u(self) -> float:
        return min(self.w, self.h) / 480

    def px(self, value: float) -> int:
        return max(1, round(value * self.u))

    @property
    def portrait(self) -> bool:
        return self.h > self.w

    @property
    def pad(self) -> int:
        return self.px(10)

    @property
    def text(self) -> int:
        return self.px(MIN_TEXT)

    @property
    def target(self) -> int:
        return self.px(MIN_TARGET)


def _grid(area: Rect, cols: int, rows: int, gap: int) -> list[Rect]:
    x, y, w, h = area
    cw = (w - gap * (cols - 1)) // cols
    ch = (h - gap * (rows - 1)) // rows
    return [(x + c * (cw + gap), y + r * (ch + gap), cw, ch)
            for r in range(rows) for c in range(cols)]


def _name(lang: str, zh: str, en: str) -> str:
    return en if lang == "en" and en else zh


def build(state: KioskState, view: View, width: int, height: int) -> list[Item]:
    f = _Frame(width, height)
    items: list[Item] = [Item((0, 0, width, height), bg=WHITE)]
    builders = {
        Screen.HOME: _home, Screen.DEPARTMENT: _department, Screen.SERVICE: _service,
        Screen.CHECKIN: _checkin, Screen.PRINTING: _printing, Screen.DONE: _done,
        Screen.PAUSED: _paused,
    }
    items.extend(builders[state.screen](state, view, f))
    return items


def _header(f: _Frame, title: str, back: str | None, lang: str) -> tuple[list[Item], int]:
    """A blue title bar, a back button on the left, the language button on the right."""
    height = f.px(80)
    pad = f.px(6)
    items = [Item((0, 0, f.w, height), bg=BLUE)]
    left = pad
    if back is not None:
        bw = f.px(130)
        items.append(Item((pad, pad, bw, height - 2 * pad), t(lang, "back"), f.px(24),
                          fg=BLUE, bg=WHITE, target=back, bold=True))
        left = pad * 2 + bw
    lw = f.px(130)
    items.append(Item((f.w - pad - lw, pad, lw, height - 2 * pad), t(lang, "lang"), f.px(24),
                      fg=BLUE, bg=WHITE, target="lang", bold=True))
    items.append(Item((left, 0, f.w - left - lw - 2 * pad, height), title, f.px(30),
                      fg=WHITE, bold=True, align="left" if back else "center", lines=2))
    return items, height


def _bottom(f: _Frame, buttons: list[tuple[str, str, tuple[int, int, int]]]) -> tuple[
        list[Item], int]:
    height = f.px(84)
    pad = f.pad
    area = (pad, f.h - height + pad // 2, f.w - 2 * pad, height - pad)
    items = [Item((0, f.h - height, f.w, height), bg=GREY)]
    for rect, (label, target, color) in zip(_grid(area, len(buttons), 1, pad), buttons,
                                            strict=True):
        items.append(Item(rect, label, f.px(26), fg=WHITE, bg=color, target=target, bold=True))
    return items, height


def _home(state: KioskState, view: View, f: _Frame) -> list[Item]:
    lang = state.lang
    items, top = _header(f, _name(lang, view.center, view.center_en), None, lang)
    sign = t(lang, "sign_on" if state.sign_language else "sign_off")
    bottom_items, bottom = _bottom(f, [
        (t(lang, "checkin"), "checkin", BLUE),
        (sign, "sign", GREEN if state.sign_language else INK),
    ])
    pad = f.pad
    y = top + pad
    items.append(Item((pad, y, f.w - 2 * pad, f.px(30)), t(lang, "choose"), f.px(24)))
    y += f.px(30) + pad // 2
    if not state.printer_ready:
        items.append(Item((pad, y, f.w - 2 * pad, f.px(36)), t(lang, "printer_banner"),
                          f.px(22), fg=INK, bg=AMBER))
        y += f.px(36) + pad
    depts = view.departments
    cols = 2 if f.portrait else (4 if len(depts) > 6 else 3)
    rows = math.ceil(len(depts) / cols)
    area = (pad, y, f.w - 2 * pad, f.h - bottom - y - pad)
    for rect, d in zip(_grid(area, cols, rows, pad), depts, strict=False):
        waiting = sum(view.waiting.get(s.id, 0) for s in d.services)
        x, ry, w, h = rect
        items.append(Item(rect, bg=BLUE, target=f"dept:{d.id}"))
        name_h = h * 62 // 100
        items.append(Item((x, ry + pad // 4, w, name_h), _name(lang, d.name, d.name_en),
                          f.px(30), fg=WHITE, bold=True, lines=2))
        items.append(Item((x, ry + pad // 4 + name_h, w, h - name_h - pad // 2),
                          t(lang, "waiting", n=waiting), f.px(22), fg=WHITE))
    return items + bottom_items


def _department(state: KioskState, view: View, f: _Frame) -> list[Item]:
    lang = state.lang
    dept = view.department(state.department)
    title = _name(lang, dept.name, dept.name_en) if dept else ""
    items, top = _header(f, title, "back", lang)
    services = dept.services if dept else ()
    pad = f.pad
    bottom = f.px(84)
    # Rows at least 72 u high (two lines of 24 u text); one column in portrait.
    cols = 1 if f.portrait else 2
    list_h = f.h - top - bottom - f.px(32) - 3 * pad
    rows = max(2, (list_h + pad) // (f.px(72) + pad))
    per_page = cols * rows
    pages = max(1, math.ceil(len(services) / per_page))
    page = min(state.page, pages - 1)
    buttons: list[tuple[str, str, tuple[int, int, int]]] = []
    if pages > 1:
        buttons.append((t(lang, "prev"), f"page:{page - 1}" if page else "", BLUE))
    buttons.append((t(lang, "home"), "home", INK))
    if pages > 1:
        buttons.append((t(lang, "next"), f"page:{page + 1}" if page < pages - 1 else "", BLUE))
    bottom_items, bottom = _bottom(f, buttons)
    # A pager button with nowhere to go is shown greyed out, and is not a button.
    bottom_items = [Item(i.rect, i.text, i.size, fg=(55, 65, 81), bg=GREY)
                    if i.target == "" else i for i in bottom_items]
    y = top + pad
    items.append(Item((pad, y, f.w - 2 * pad, f.px(32)),
                      t(lang, "page", page=page + 1, pages=pages) if pages > 1 else "",
                      f.px(22)))
    y += f.px(32) + pad
    area = (pad, y, f.w - 2 * pad, f.h - bottom - y - pad)
    shown = services[page * per_page:(page + 1) * per_page]
    side = f.px(112)
    for rect, s in zip(_grid(area, cols, rows, pad), shown, strict=False):
        x, ry, w, h = rect
        items.append(Item(rect, bg=PALE, border=BLUE, target=f"service:{s.id}"))
        items.append(Item((x + pad // 2, ry, w - side - pad, h), _name(lang, s.name, s.name_en),
                          f.px(24), fg=INK, bold=True, align="left", lines=2))
        half = h // 2
        items.append(Item((x + w - side - pad // 2, ry + (pad // 2 if s.short else 0), side,
                           half if s.short else h),
                          t(lang, "waiting", n=view.waiting.get(s.id, 0)), f.px(22), fg=INK))
        if s.short:
            items.append(Item((x + w - side + pad, ry + half, side - 2 * pad, half - pad // 2),
                              t(lang, "short"), f.px(22), fg=WHITE, bg=GREEN))
    return items + bottom_items


def _service(state: KioskState, view: View, f: _Frame) -> list[Item]:
    lang = state.lang
    s = view.service(state.service)
    items, top = _header(f, _name(lang, s.name, s.name_en) if s else "", "back", lang)
    bottom_items, bottom = _bottom(f, [(t(lang, "home"), "home", INK)])
    pad = f.pad
    content = (pad, top + pad, f.w - 2 * pad, f.h - top - bottom - 2 * pad)
    if f.portrait:
        left = (content[0], content[1], content[2], content[3] * 5 // 9)
        right = (content[0], content[1] + left[3] + pad, content[2], content[3] - left[3] - pad)
    else:
        left = (content[0], content[1], content[2] * 11 // 20, content[3])
        right = (content[0] + left[2] + pad, content[1], content[2] - left[2] - pad, content[3])
    x, y, w, h = left
    items.append(Item(left, bg=PALE))
    items.append(Item((x + pad, y + pad // 2, w - 2 * pad, f.px(34)), t(lang, "materials"),
                      f.px(24), bold=True, align="left"))
    materials = s.materials if s else ()
    line_h = f.px(34)
    windows = view.windows.get(state.service or "", "")
    if windows:  # where this business is served now, at the foot of the checklist
        where_h = f.px(40)
        h -= where_h
        items.append(Item((x + pad, y + h, w - 2 * pad, where_h - pad // 2),
                          t(lang, "go_to", windows=windows), f.px(24), fg=BLUE, bold=True,
                          align="left"))
    avail = (h - f.px(34) - pad) // line_h
    if not materials:
        items.append(Item((x + pad, y + f.px(40), w - 2 * pad, line_h), t(lang, "no_materials"),
                          f.px(22), align="left"))
    for i, m in enumerate(materials[:avail]):
        items.append(Item((x + pad, y + f.px(40) + i * line_h, w - 2 * pad, line_h),
                          f"{i + 1}. {m}", f.px(22), align="left"))
    x, y, w, h = right
    ahead, minutes = view.estimate.get(state.service or "", (0, 0))
    items.append(Item((x, y, w, f.px(40)), t(lang, "now_waiting", n=ahead), f.px(28),
                      bold=True))
    items.append(Item((x, y + f.px(44), w, f.px(36)), t(lang, "est_wait", m=minutes), f.px(24)))
    msg_y = y + f.px(86)
    if state.sign_language:
        items.append(Item((x, msg_y, w, f.px(56)), t(lang, "sign_note"), f.px(22), fg=GREEN,
                          lines=2))
        msg_y += f.px(60)
    if state.message and state.message.startswith("refused:"):
        items.append(Item((x, msg_y, w, f.px(56)),
                          t(lang, "refused", why=state.message.partition(":")[2]), f.px(22),
                          fg=RED, lines=2))
    take_h = max(f.target * 2, h // 3)
    items.append(Item((x, y + h - take_h, w, take_h), t(lang, "take"), f.px(44), fg=WHITE,
                      bg=GREEN, target="take", bold=True))
    return items + bottom_items


def _checkin(state: KioskState, view: View, f: _Frame) -> list[Item]:
    lang = state.lang
    items, top = _header(f, t(lang, "checkin_title"), "back", lang)
    pad = f.pad
    content = (pad, top + pad, f.w - 2 * pad, f.h - top - 2 * pad)
    if f.portrait:
        info = (content[0], content[1], content[2], content[3] * 2 // 5)
        pad_area = (content[0], content[1] + info[3] + pad, content[2],
                    content[3] - info[3] - pad)
    else:
        info = (content[0], content[1], content[2] * 9 // 20, content[3])
        pad_area = (content[0] + info[2] + pad, content[1], content[2] - info[2] - pad,
                    content[3])
    x, y, w, _h = info
    items.append(Item((x, y, w, f.px(40)), t(lang, "checkin_hint"), f.px(24), lines=2))
    items.append(Item((x, y + f.px(56), w, f.px(72)), state.code or "—", f.px(44), bold=True,
                      bg=PALE, border=BLUE))
    if state.message == "unknown_code":
        items.append(Item((x, y + f.px(140), w, f.px(90)),
                          t(lang, "unknown_code", code=state.code), f.px(22), fg=RED, lines=3))
    elif state.message and state.message.startswith("checkin:"):
        why = state.message.partition(":")[2]
        zh, _, en = why.partition(" / ")  # the dispatcher says it in both languages
        items.append(Item((x, y + f.px(140), w, f.px(90)),
                          t(lang, "checkin_refused", why=(en or zh) if lang == "en" else zh),
                          f.px(22), fg=RED, lines=3))
        offered = view.service(state.service)
        if offered is not None:  # too late: an ordinary number for the same business
            name = offered.name_en or offered.name if lang == "en" else offered.name
            items.append(Item((x, y + f.px(240), w, max(f.target, f.px(96))),
                              t(lang, "walk_in", service=name), f.px(26), fg=WHITE, bg=GREEN,
                              target="walk_in", bold=True, lines=2))
    keys = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "del", "0", "ok"]
    for rect, k in zip(_grid(pad_area, 3, 4, pad), keys, strict=True):
        if k == "del":
            items.append(Item(rect, t(lang, "del"), f.px(26), fg=WHITE, bg=INK, target="key:del"))
        elif k == "ok":
            items.append(Item(rect, t(lang, "ok"), f.px(30), fg=WHITE, bg=GREEN, target="key:ok",
                              bold=True))
        else:
            items.append(Item(rect, k, f.px(36), fg=WHITE, bg=BLUE, target=f"key:{k}",
                              bold=True))
    return items


def _printing(state: KioskState, view: View, f: _Frame) -> list[Item]:
    key = "confirming" if state.message == "confirming" else "printing"
    return [Item((f.pad, 0, f.w - 2 * f.pad, f.h), t(state.lang, key), f.px(40), bold=True,
                 lines=3)]


def _done(state: KioskState, view: View, f: _Frame) -> list[Item]:
    lang = state.lang
    reply = state.ticket or {}
    ticket = reply.get("ticket", {})
    s = view.service(ticket.get("service_id"))
    pad = f.pad
    items: list[Item] = []
    y = pad
    if state.printed is False:
        items.append(Item((0, 0, f.w, f.px(64)), t(lang, "unprinted"), f.px(24), fg=WHITE,
                          bg=RED, bold=True, lines=2))
        y = f.px(64) + pad
    bottom_items, bottom = _bottom(f, [(t(lang, "done"), "done", BLUE)])
    avail = f.h - bottom - y - pad
    items.append(Item((0, y, f.w, avail // 8), t(lang, "your_number"), f.px(28)))
    number_h = avail * 3 // 8
    items.append(Item((0, y + avail // 8, f.w, number_h), str(ticket.get("number", "")),
                      number_h * 4 // 5, fg=BLUE, bold=True))
    y2 = y + avail // 8 + number_h
    rest = [
        (_name(lang, s.name, s.name_en) if s else "", f.px(30), True),
        (t(lang, "ahead", n=reply.get("ahead", 0), m=reply.get("est_wait_min", 0)), f.px(24),
         False),
        (t(lang, "go_to", windows=_answer_windows(reply, view)), f.px(24), False),
        (t(lang, "wait_hall"), f.px(24), False),
    ]
    line_h = (f.h - bottom - y2 - pad) // len(rest)
    for i, (text, size, bold) in enumerate(rest):
        items.append(Item((pad, y2 + i * line_h, f.w - 2 * pad, line_h), text, size,
                          bold=bold))
    return items + bottom_items


def _answer_windows(reply: dict[str, Any], view: View) -> str:
    """The windows the dispatcher's answer names (as printed), else the live ones."""
    windows = reply.get("windows")
    if isinstance(windows, list):
        return number_ranges(tuple(windows), "、", "～")
    return view.windows.get(reply.get("ticket", {}).get("service_id", ""), "")


def _paused(state: KioskState, view: View, f: _Frame) -> list[Item]:
    lang = state.lang
    items, top = _header(f, _name(lang, view.center, view.center_en), None, lang)
    if state.pause_reason == "printer":
        status = t(lang, f"status_{state.printer_status}") if state.printer_status in (
            "paper_out", "paper_low", "cover_open", "offline", "unknown") else \
            state.printer_status
        reason = t(lang, "paused_printer", status=status)
    elif state.message == "not_issued":
        reason = t(lang, "not_issued")
    elif state.pause_reason == "closed":
        reason = t(lang, "closed_detail")
    else:
        reason = t(lang, "paused_dispatcher")
    closed = state.pause_reason == "closed"
    avail = f.h - top
    y = top + avail // 8
    title = t(lang, "closed") if closed else t(lang, "paused")
    items.append(Item((0, y, f.w, avail // 4), title, f.px(64), fg=RED, bold=True))
    y += avail // 4
    lines = [(reason, f.px(30)), (t(lang, "ask_staff"), f.px(30))]
    if not closed:
        lines.append((t(lang, "retrying"), f.px(22)))
    for text, size in lines:
        items.append(Item((f.pad, y, f.w - 2 * f.pad, avail // 8), text, size, lines=2))
        y += avail // 8
    return items


def hit(items: list[Item], x: int, y: int) -> str | None:
    """The target of the topmost button under a point."""
    for item in reversed(items):
        if item.target is None:
            continue
        ix, iy, w, h = item.rect
        if ix <= x < ix + w and iy <= y < iy + h:
            return item.target
    return None
