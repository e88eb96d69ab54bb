"""A ticket as a list of blocks, laid out on the printer's character grid.

The same blocks become native ESC/POS (`native.py`) or a raster image (`raster.py`), so both
print the same lines. Layout is pure: ticket data and a printer profile in, blocks out.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from base.texts import Labels, number_ranges

from .text import wrap

Align = str  # "left" | "center"


@dataclass(frozen=True)
class Profile:
    """What one printer can do."""

    dots: int = 576  # printable width: 576 (80 mm) or 384 (58 mm)
    encoding: str = "gb18030"  # or "gbk"
    mode: str = "native"  # "native" (its own Chinese font) or "raster" (we draw every dot)
    cutter: bool = True
    qr_native: bool = True  # GS ( k; else the QR is drawn as a raster image
    band_rows: int = 64  # raster rows per GS v 0 command

    @property
    def columns(self) -> int:
        """Columns of Font A (12 × 24 dots) at normal size."""
        return self.dots // 12


@dataclass(frozen=True)
class TicketData:
    """What a ticket says."""

    center: str
    number: str
    service: str
    issued_at: dt.datetime
    ahead: int
    est_wait_min: int
    windows: tuple[int, ...] = ()
    sign_language: bool = False
    appointment: str | None = None  # a checked-in booking: its slot, "09:00–09:30"
    materials: tuple[str, ...] = ()
    qr: str | None = None  # payload; None: no QR code
    footer: str = ""
    lang: str = "zh"  # "zh" or "en" for the fixed labels
    unprinted_note: bool = False  # a reprint: say so


@dataclass(frozen=True)
class Text:
    text: str
    width: int = 1  # GS ! multipliers
    height: int = 1
    bold: bool = False
    align: Align = "left"
    reverse: bool = False


@dataclass(frozen=True)
class Rule:
    char: str = "-"


@dataclass(frozen=True)
class QR:
    payload: str
    module: int = 6  # dots per module


@dataclass(frozen=True)
class Feed:
    lines: int = 1


Block = Text | Rule | QR | Feed

LABELS = Labels({
    "zh": {
        "your_number": "您的号码",
        "ahead": "前面还有 {ahead} 人",
        "wait": "预计等候约 {minutes} 分钟",
        "windows": "办理窗口：{windows} 号",
        "sep": "、",
        "range": "～",
        "sign": "【手语服务】已为您通知手语志愿者",
        "appointment": "【预约】{slot}",
        "issued": "取号时间：{time}",
        "materials": "请准备以下材料：",
        "watch": "请留意大厅屏幕与语音叫号",
        "missed": "过号请到服务台",
        "reprint": "（补打）",
    },
    "en": {
        "your_number": "Your number",
        "ahead": "{ahead} ahead of you",
        "wait": "about {minutes} min wait",
        "windows": "Windows: {windows}",
        "sep": ", ",
        "range": "-",
        "sign": "[Sign language] a volunteer has been told",
        "appointment": "[Booked] {slot}",
        "issued": "Issued: {time}",
        "materials": "Please have ready:",
        "watch": "Watch the hall screen",
        "missed": "Missed your call? Ask at the desk",
        "reprint": "(reprint)",
    },
})


@dataclass
class _Builder:
    profile: Profile
    blocks: list[Block] = field(default_factory=list)

    def text(self, text: str, width: int = 1, height: int = 1, bold: bool = False,
             align: Align = "left", reverse: bool = False, indent: str = "") -> None:
        columns = self.profile.columns // width
        lines = wrap(text, columns - len(indent), self.profile.encoding)
        for i, line in enumerate(lines):
            prefix = indent if i else ""
            self.blocks.append(Text(prefix + line, width, height, bold, align, reverse))


def layout_ticket(t: TicketData, profile: Profile) -> list[Block]:
    """The blocks of one ticket, every line within the printer's columns."""
    labels = LABELS.table(t.lang)
    b = _Builder(profile)
    b.text(t.center, bold=True, align="center", height=2)
    b.blocks.append(Rule())
    b.text(labels["your_number"] + (labels["reprint"] if t.unprinted_note else ""),
           align="center")
    # The number as large as the paper allows: at least 4× height.
    size = 4 if len(t.number) * 4 <= profile.columns else 3
    b.text(t.number, width=size, height=4, bold=True, align="center")
    b.text(t.service, width=1, height=2, bold=True, align="center")
    b.blocks.append(Feed(1))
    b.text(labels["ahead"].format(ahead=t.ahead), align="center")
    b.text(labels["wait"].format(minutes=t.est_wait_min), align="center")
    if t.windows:
        listed = number_ranges(t.windows, labels["sep"], labels["range"])
        b.text(labels["windows"].format(windows=listed), align="center")
    if t.appointment:
        b.text(labels["appointment"].format(slot=t.appointment), bold=True, align="center")
    if t.sign_language:
        b.text(labels["sign"], bold=True, align="center", reverse=True)
    b.text(labels["issued"].format(time=t.issued_at.strftime("%Y-%m-%d %H:%M")),
           align="center")
    if t.materials:
        b.blocks.append(Rule())
        b.text(labels["materials"], bold=True)
        for i, item in enumerate(t.materials, 1):
            mark = f"{i}. "
            b.text(mark + item, indent=" " * len(mark))
    b.blocks.append(Rule())
    if t.qr:
        b.blocks.append(QR(t.qr, module=6 if profile.dots >= 576 else 4))
    b.text(labels["watch"], align="center")
    b.text(labels["missed"], align="center")
    if t.footer:
        b.text(t.footer, align="center")
    b.blocks.append(Feed(3))
    return b.blocks
