"""Past 999 a business's numbers go on with four digits (A1000): never a number twice in a
day, and the core, the ticket, the hall screen and the voice all cope."""

from __future__ import annotations

import dataclasses
import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import datetime as dt

import pytest

from base.fonts import find_font
from base.screen.painter import Painter
from dispatcher.domain import commands as c
from dispatcher.domain.core import QueueCore
from display.hall import build_hall
from display.voice import DIGITS, phrase
from printer.layout import Profile
from printer.render import render_ticket

from .escpos_walker import walk
from .helpers import MONDAY_9, small_config
from .test_display_layout import VIEWS
from .test_printer_render import TICKET

FONT = find_font()


def test_the_thousandth_ticket_of_a_business_is_numbered_with_four_digits() -> None:
    core = QueueCore(small_config())
    numbers = []
    for i in range(1001):
        out = core.handle(c.IssueTicket(request_id=f"t{i}", service_id="sb-card"),
                          MONDAY_9 + dt.timedelta(seconds=i))
        numbers.append(out.reply["ticket"]["number"])
    assert numbers[:2] == ["B001", "B002"] and numbers[998:] == ["B999", "B1000", "B1001"]
    assert len(set(numbers)) == len(numbers)


@pytest.mark.parametrize("dots", [384, 576])
def test_a_four_digit_number_prints_at_full_size_within_the_paper(dots: int) -> None:
    ticket = dataclasses.replace(TICKET, number="A1000", qr="QMS:2026-11-30-A1000")
    profile = Profile(dots=dots)
    walked = walk(render_ticket(ticket, profile, None), "gb18030")
    assert all(line.columns <= profile.columns for line in walked.lines)
    number = next(line for line in walked.lines if line.text.strip() == "A1000")
    assert number.height == 4  # as large as a three-digit number


@pytest.mark.skipif(FONT is None, reason="no CJK font")
def test_the_hall_shows_a_four_digit_number_large_and_whole() -> None:
    assert FONT is not None
    view = VIEWS["fresh-lit"]
    call = {**view.calls[0], "number": "A1000"}
    view = dataclasses.replace(view, calls=[call, *view.calls[1:]])
    w, h = 1366, 768
    items = build_hall(view, w, h)
    painter = Painter(FONT, min(w, h) / 480)
    item = next(i for i in items if i.text == "A1000")
    size, lines = painter.fit(item)
    assert lines == ["A1000"] and size >= 0.16 * h


def test_the_voice_reads_every_digit_of_a_four_digit_number() -> None:
    words = phrase("A1000", 3)
    assert words[2:7] == ["A", DIGITS[1], DIGITS[0], DIGITS[0], DIGITS[0]]
