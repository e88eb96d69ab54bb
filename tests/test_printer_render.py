"""Ticket rendering: golden bytes, an independent walk of the stream, widths, raster, QR."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageChops

from base.fonts import find_font
from base.texts import number_ranges
from printer.layout import Profile, TicketData, layout_ticket
from printer.raster import draw_blocks
from printer.render import render_ticket
from printer.text import REPLACEMENT, clean, encode, width, wrap

from .escpos_walker import walk
from .helpers import SHANGHAI

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("QMS_UPDATE_GOLDENS") == "1"
FONT = find_font()
needs_font = pytest.mark.skipif(FONT is None, reason="no CJK font: ./bootstrap.sh installs it")

TICKET = TicketData(
    center="宝山路街道社区事务受理服务中心",
    number="A012",
    service="医保大病登记",
    issued_at=dt.datetime(2026, 11, 30, 9, 12, tzinfo=SHANGHAI),
    ahead=5,
    est_wait_min=12,
    windows=(1, 2, 3, 4, 5, 6, 7, 8),
    sign_language=True,
    materials=("本人身份证原件", "社保卡或医保卡", "医院出具的诊断证明（原件）"),
    qr="QMS:2026-11-30-A012",
)
PLAIN = TicketData(center="测试中心", number="B003", service="社保卡申领",
                   issued_at=dt.datetime(2026, 11, 30, 14, 5, tzinfo=SHANGHAI),
                   ahead=0, est_wait_min=0)

CASES = {
    "native-gb18030-576": (TICKET, Profile(dots=576, encoding="gb18030")),
    "native-gbk-384": (TICKET, Profile(dots=384, encoding="gbk")),
    "native-plain-576": (PLAIN, Profile(dots=576)),
    "raster-576": (TICKET, Profile(dots=576, mode="raster")),
    "raster-384": (TICKET, Profile(dots=384, mode="raster")),
}


def _golden(name: str, data: bytes) -> bytes:
    path = GOLDEN / f"{name}.bin"
    if UPDATE or not path.exists():
        if not UPDATE and os.environ.get("CI"):
            raise AssertionError(f"missing golden file {path}")
        path.write_bytes(data)
    return path.read_bytes()


@pytest.mark.parametrize("name", [n for n in CASES if n.startswith("native")])
def test_native_tickets_match_their_golden_bytes(name: str) -> None:
    ticket, profile = CASES[name]
    data = render_ticket(ticket, profile)
    assert data == _golden(name, data)


def _raster_image(data: bytes) -> Image.Image:
    w = walk(data, "gb18030")
    rows = b"".join(w.raster_rows)
    return Image.frombytes("1", (w.raster_width_bytes * 8, len(w.raster_rows)), rows)


@needs_font
@pytest.mark.parametrize("name", ["raster-576", "raster-384"])
def test_raster_tickets_match_their_golden_image(name: str) -> None:
    """Byte-exact where this machine's font and FreeType match; else within 1% of the dots."""
    ticket, profile = CASES[name]
    data = render_ticket(ticket, profile, FONT)
    golden = _golden(name, data)
    if data == golden:
        return
    now, then = _raster_image(data), _raster_image(golden)
    assert now.size[0] == then.size[0]
    assert abs(now.size[1] - then.size[1]) <= 24
    height = min(now.size[1], then.size[1])
    diff = ImageChops.difference(now.crop((0, 0, now.size[0], height)).convert("L"),
                                 then.crop((0, 0, then.size[0], height)).convert("L"))
    changed = diff.point(lambda v: 255 if v else 0).histogram()[255]
    assert changed <= 0.01 * now.size[0] * height


@pytest.mark.parametrize("name", [n for n in CASES if n.startswith("native")])
def test_native_stream_walks_back_to_the_ticket(name: str) -> None:
    ticket, profile = CASES[name]
    w = walk(render_ticket(ticket, profile), profile.encoding)
    assert w.commands[:2] == ["ESC @", "FS &"]
    assert w.cuts == 1 and w.commands[-1] == "GS V"
    texts = [line.text for line in w.lines]
    number = next(line for line in w.lines if line.text == ticket.number)
    assert number.height >= 4 and number.width >= 3  # at least 4× normal height
    assert ticket.center in texts
    assert ticket.service in texts
    assert any(str(ticket.ahead) in t for t in texts)
    for line in w.lines:
        assert line.columns <= profile.columns, line
    if ticket.qr:
        assert w.qr_payloads == [ticket.qr.encode()] and w.qr_printed == 1
        assert "【手语服务】已为您通知手语志愿者" in texts
        reversed_lines = [line.text for line in w.lines if line.reverse]
        assert reversed_lines == ["【手语服务】已为您通知手语志愿者"]
        for item in ticket.materials:
            assert any(item in t for t in texts), item
    else:
        assert w.qr_payloads == [] and not any(line.reverse for line in w.lines)
        assert not any("材料" in t for t in texts)


def test_a_native_ticket_with_qr_is_under_one_kilobyte() -> None:
    for name in ("native-gb18030-576", "native-gbk-384"):
        ticket, profile = CASES[name]
        assert len(render_ticket(ticket, profile)) <= 1024


@needs_font
@pytest.mark.parametrize("name", ["raster-576", "raster-384"])
def test_raster_stream_decodes_back_to_the_drawn_ticket(name: str) -> None:
    ticket, profile = CASES[name]
    assert FONT is not None
    data = render_ticket(ticket, profile, FONT)
    w = walk(data, profile.encoding)
    assert w.commands[0] == "ESC @" and w.commands[-1] == "GS V"
    assert w.raster_width_bytes * 8 == profile.dots
    assert w.bands == -(-len(w.raster_rows) // profile.band_rows)  # bands of band_rows rows
    drawn = draw_blocks(layout_ticket(ticket, profile), profile, FONT)
    expected = drawn.point(lambda v: 255 if v < 128 else 0).convert("1")  # dark → dot
    decoded = _raster_image(data)
    assert decoded.size == expected.size
    assert ImageChops.difference(decoded.convert("L"), expected.convert("L")).getbbox() is None


def test_chinese_punctuation_encodes_natively_and_look_alikes_stand_in() -> None:
    text = "请到 3 号窗口：医保大病登记（原件）——12"
    for encoding in ("gb18030", "gbk"):
        assert encode(text, encoding) == text.encode(encoding)  # nothing turned into "?"
        assert encode("费用¥12", encoding) == "费用￥12".encode(encoding)
    assert clean("\U00020000", "gb18030") == REPLACEMENT  # a 4-byte GB18030 character: □


def test_unprintable_characters_become_a_visible_box() -> None:
    assert clean("号😀码\x07\u200b", "gb18030") == "号□码□"
    assert clean("e\u0301", "gbk") == "e□"


def test_wrap_keeps_latin_words_and_breaks_chinese_anywhere() -> None:
    assert wrap("社区事务受理服务中心", 8, "gbk") == ["社区事务", "受理服务", "中心"]
    assert wrap("Community Affairs Service Center", 12, "gbk") == [
        "Community", "Affairs", "Service", "Center"]
    assert wrap("请带好 ID-card 原件", 10, "gbk") == ["请带好", "ID-card 原", "件"]


def test_window_lists_are_shown_as_ranges() -> None:
    assert number_ranges((1, 2, 3, 4, 5, 6, 7, 8), "、", "～") == "1～8"
    assert number_ranges((1, 2, 5, 7, 8, 9), "、", "～") == "1、2、5、7～9"


TEXT = st.text(max_size=80)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(center=TEXT, service=TEXT, materials=st.lists(TEXT, max_size=6),
       number=st.from_regex(r"[A-Z][0-9]{3,4}", fullmatch=True),
       dots=st.sampled_from([384, 576]), encoding=st.sampled_from(["gb18030", "gbk"]),
       qr=st.none() | st.text(min_size=1, max_size=300), lang=st.sampled_from(["zh", "en"]))
def test_any_text_renders_within_the_paper(
    center: str, service: str, materials: list[str], number: str, dots: int, encoding: str,
    qr: str | None, lang: str,
) -> None:
    ticket = TicketData(center=center, number=number, service=service,
                        issued_at=dt.datetime(2026, 11, 30, 9, tzinfo=SHANGHAI), ahead=3,
                        est_wait_min=7, windows=(1, 2), materials=tuple(materials), qr=qr,
                        lang=lang)
    profile = Profile(dots=dots, encoding=encoding)
    w = walk(render_ticket(ticket, profile), encoding)
    for line in w.lines:
        assert line.columns <= profile.columns, line
        assert width(line.text, encoding) * line.width <= profile.columns
    assert w.cuts == 1
    if qr:
        assert w.qr_payloads == [qr.encode("utf-8")]
