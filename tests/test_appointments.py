"""Appointments (预约), first part: the portal's bookings validated and imported (every row or
none, again changing nothing), the check-in window at its edges, personal data masked."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from base.config import ConfigError
from dispatcher.domain.appointments import (
    AppointmentSettings,
    Booking,
    check_in_problem,
    mask_name,
    mask_phone,
    parse_csv,
)
from dispatcher.server.bookings import BookingStore
from qms.cli import main
from qms.config import parse_config

from .helpers import HALL, KIOSK, MONDAY_9, SHANGHAI, SMALL_TOML, small_config
from .live import LiveDispatcher

CONFIG = small_config()
SETTINGS = CONFIG.appointments
HEADER = "code,service_id,date,slot_start,slot_end,name,phone\n"
MONDAY = MONDAY_9.date()  # 2026-11-30


def rows(*lines: str) -> str:
    return HEADER + "".join(line + "\n" for line in lines)


GOOD = rows("YY0001,sb-card,2026-11-30,09:00,09:30,张三,13800138000",
            "YY0002,zf-lianzu,2026-11-30,10:00,10:30,李四,021-64001234",
            "YY0003,sb-card,2026-12-01,13:30,14:00,,")


def test_default_slots_are_half_hours_in_the_morning_and_afternoon() -> None:
    slots = AppointmentSettings().slots()
    assert slots[0] == (dt.time(9, 0), dt.time(9, 30))
    assert slots[-1] == (dt.time(16, 0), dt.time(16, 30))
    assert len(slots) == 11  # 09:00–11:30 and 13:30–16:30


def test_a_good_export_parses_into_bookings() -> None:
    bookings, problems = parse_csv(GOOD, CONFIG.services, SETTINGS, {})
    assert problems == []
    assert [b.code for b in bookings] == ["YY0001", "YY0002", "YY0003"]
    assert bookings[2].name is None and bookings[2].phone is None


def test_every_kind_of_bad_row_is_named_with_its_line_and_nothing_is_taken() -> None:
    text = rows(
        "YY0001,sb-card,2026-11-30,09:00,09:30,张三,13800138000",  # line 2: good
        "x,sb-card,2026-11-30,09:00,09:30,,",  # 3: code
        "YY0004,nope,2026-11-30,09:00,09:30,,",  # 4: business
        "YY0005,sb-card,2026-13-01,09:00,09:30,,",  # 5: date
        "YY0006,sb-card,2026-11-30,9am,09:30,,",  # 6: time
        "YY0007,sb-card,2026-11-29,09:00,09:30,,",  # 7: a Sunday
        "YY0008,sb-card,2026-11-30,09:10,09:40,,",  # 8: not a slot
        "YY0009,sb-card,2026-11-30,12:00,12:30,,",  # 9: lunch: not offered
        "YY0010,sb-card,2026-11-30,09:00,09:30,,12345",  # 10: phone
        "YY0001,sb-card,2026-11-30,09:30,10:00,,",  # 11: code again
        "YY0011,sb-card,2026-11-30,09:00,09:30," + "名" * 41 + ",",  # 12: name too long
    )
    bookings, problems = parse_csv(text, CONFIG.services, SETTINGS, {})
    assert bookings == []
    text_of = "\n".join(problems)
    for line, what in [(3, "code"), (4, "unknown business"), (5, "YYYY-MM-DD"),
                       (6, "HH:MM"), (7, "not a working day"), (8, "not offered"),
                       (9, "not offered"), (10, "phone"), (11, "already on line 2"),
                       (12, "name")]:
        assert any(p.startswith(f"line {line}:") and what in p for p in problems), \
            (line, what, text_of)
    assert not any(p.startswith("line 2:") for p in problems)


def test_a_wrong_header_is_refused() -> None:
    _, problems = parse_csv("code,service,date\nA,b,c\n", CONFIG.services, SETTINGS, {})
    assert problems and problems[0].startswith("line 1:")


def test_capacity_of_a_slot_counts_stored_and_new_bookings_but_not_cancelled_ones() -> None:
    settings = AppointmentSettings(capacity=2)
    stored = {
        "OLD001": Booking("OLD001", "sb-card", MONDAY, dt.time(9), dt.time(9, 30)),
        "OLD002": Booking("OLD002", "sb-card", MONDAY, dt.time(9), dt.time(9, 30),
                          status="cancelled"),
    }
    one_more = rows("NEW001,sb-card,2026-11-30,09:00,09:30,,")
    assert parse_csv(one_more, CONFIG.services, settings, stored)[1] == []
    two_more = one_more + "NEW002,sb-card,2026-11-30,09:00,09:30,,\n"
    _, problems = parse_csv(two_more, CONFIG.services, settings, stored)
    assert any("capacity 2" in p for p in problems)
    # Moving a stored booking out of the slot makes room.
    moved = two_more + "OLD001,sb-card,2026-11-30,09:30,10:00,,\n"
    assert parse_csv(moved, CONFIG.services, settings, stored)[1] == []


def test_a_booking_already_checked_in_cannot_be_moved_by_an_import() -> None:
    stored = {"YY0001": Booking("YY0001", "sb-card", MONDAY, dt.time(9), dt.time(9, 30),
                                name="张三", phone="13800138000", status="checked_in")}
    moved = rows("YY0001,sb-card,2026-11-30,10:00,10:30,张三,13800138000")
    _, problems = parse_csv(moved, CONFIG.services, SETTINGS, stored)
    assert problems == ["line 2: booking YY0001 is checked_in already: it cannot change"]
    same = rows("YY0001,sb-card,2026-11-30,09:00,09:30,张三,13800138000")
    assert parse_csv(same, CONFIG.services, SETTINGS, stored)[1] == []


def test_only_bookable_businesses_take_bookings() -> None:
    settings = AppointmentSettings(bookable=("zf-lianzu",))
    _, problems = parse_csv(GOOD, CONFIG.services, settings, {})
    assert problems[0] == "line 2: business 'sb-card' takes no bookings"


@pytest.mark.parametrize(("now", "problem"), [
    (dt.datetime(2026, 11, 30, 8, 59, 59, tzinfo=SHANGHAI), "appointment_too_early"),
    (dt.datetime(2026, 11, 30, 9, 0, 0, tzinfo=SHANGHAI), None),  # 30 min before 09:30
    (dt.datetime(2026, 11, 30, 9, 59, 59, tzinfo=SHANGHAI), None),  # the slot's last second
    (dt.datetime(2026, 11, 30, 10, 0, 0, tzinfo=SHANGHAI), "appointment_too_late"),
    (dt.datetime(2026, 12, 1, 9, 30, tzinfo=SHANGHAI), "appointment_not_today"),
    (dt.datetime(2026, 11, 30, 1, 30, tzinfo=dt.UTC), None),  # 09:30 in Shanghai
])
def test_check_in_opens_30_min_before_the_slot_and_closes_at_its_end(
        now: dt.datetime, problem: str | None) -> None:
    booking = Booking("YY0001", "sb-card", MONDAY, dt.time(9, 30), dt.time(10, 0))
    found = check_in_problem(booking, now, SHANGHAI, SETTINGS)
    assert (found[0] if found else None) == problem


def test_check_in_says_when_it_opens_or_closed() -> None:
    booking = Booking("YY0001", "sb-card", MONDAY, dt.time(9, 30), dt.time(10, 0))
    early = check_in_problem(booking, dt.datetime(2026, 11, 30, 8, 0, tzinfo=SHANGHAI),
                             SHANGHAI, SETTINGS)
    assert early is not None and "09:00" in early[1]
    late = check_in_problem(booking, dt.datetime(2026, 11, 30, 11, 0, tzinfo=SHANGHAI),
                            SHANGHAI, SETTINGS)
    assert late is not None and "10:00" in late[1]


def test_unknown_and_cancelled_codes_do_not_check_in() -> None:
    now = dt.datetime(2026, 11, 30, 9, 40, tzinfo=SHANGHAI)
    assert check_in_problem(None, now, SHANGHAI, SETTINGS)[0] == "unknown_appointment"  # type: ignore[index]
    cancelled = Booking("YY0001", "sb-card", MONDAY, dt.time(9, 30), dt.time(10, 0),
                        status="cancelled")
    assert check_in_problem(cancelled, now, SHANGHAI, SETTINGS)[0] == "appointment_cancelled"  # type: ignore[index]


def test_names_and_phones_are_masked() -> None:
    assert mask_phone("13800138000") == "138****8000"
    assert mask_phone("021-64001234") == "021****1234"
    assert mask_name("张三") == "张*" and mask_name("欧阳娜娜") == "欧***"
    booking = Booking("YY0001", "sb-card", MONDAY, dt.time(9), dt.time(9, 30), "张三",
                      "13800138000")
    shown = booking.to_dict()
    assert shown["phone"] == "138****8000" and shown["name"] == "张*"
    assert booking.to_dict(masked=False)["phone"] == "13800138000"


# -- the command line and the store -----------------------------------------------------------


def _config_file(tmp_path: Path) -> Path:
    path = tmp_path / "center.toml"
    path.write_text(SMALL_TOML.replace("POLICY", "short_threshold = 2"), encoding="utf-8")
    return path


def test_import_stores_every_row_and_again_changes_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config, db, csv = _config_file(tmp_path), tmp_path / "qms.db", tmp_path / "b.csv"
    csv.write_text(GOOD, encoding="utf-8")
    assert main(["appointments", "import", "--config", str(config), "--db", str(db),
                 str(csv)]) == 0
    assert "imported 3 (3 new, 0 changed, 0 unchanged)" in capsys.readouterr().out
    assert main(["appointments", "import", "--config", str(config), "--db", str(db),
                 str(csv)]) == 0
    assert "(0 new, 0 changed, 3 unchanged)" in capsys.readouterr().out
    csv.write_text(GOOD.replace("09:00,09:30,张三", "09:30,10:00,张三"), encoding="utf-8")
    assert main(["appointments", "import", "--config", str(config), "--db", str(db),
                 str(csv)]) == 0
    assert "(0 new, 1 changed, 2 unchanged)" in capsys.readouterr().out
    store = BookingStore(db)
    try:
        moved = store.get("YY0001")
        assert moved is not None and moved.slot_start == dt.time(9, 30)
        assert [b.code for b in store.on(MONDAY)] == ["YY0001", "YY0002"]
    finally:
        store.close()


def test_a_file_with_one_bad_row_imports_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config, db, csv = _config_file(tmp_path), tmp_path / "qms.db", tmp_path / "b.csv"
    csv.write_text(GOOD + "YY0009,nope,2026-11-30,09:00,09:30,,\n", encoding="utf-8")
    assert main(["appointments", "import", "--config", str(config), "--db", str(db),
                 str(csv)]) == 2
    err = capsys.readouterr().err
    assert "line 5: unknown business 'nope'" in err and "nothing imported" in err
    store = BookingStore(db)
    try:
        assert store.all() == {}
    finally:
        store.close()


def test_an_export_that_is_not_utf8_is_refused(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    config, csv = _config_file(tmp_path), tmp_path / "b.csv"
    csv.write_bytes(GOOD.encode("gb18030"))
    assert main(["appointments", "import", "--config", str(config), "--db",
                 str(tmp_path / "q.db"), str(csv)]) == 2
    assert "not UTF-8" in capsys.readouterr().err


def test_the_appointments_section_reports_every_problem() -> None:
    text = SMALL_TOML.replace("POLICY", "short_threshold = 2") + '''
[appointments]
hours = ["11:00-09:00", "lunch"]
slot_min = 1
capacity = 0
bookable = ["nope"]
color = "red"
'''
    with pytest.raises(ConfigError) as err:
        parse_config(text)
    problems = "\n".join(err.value.problems)
    for where in ("hours[0]", "hours[1]", "slot_min", "capacity", "bookable", "color"):
        assert where in problems, problems


# -- check-in at the kiosk (POST /tickets with the code) --------------------------------------


@pytest.fixture
def booked(tmp_path: Path) -> Iterator[LiveDispatcher]:
    store = BookingStore(tmp_path / "qms.db")
    bookings, problems = parse_csv(rows(
        "YY0001,sb-card,2026-11-30,09:00,09:30,张三,13800138000",
        "YY0002,sb-card,2026-11-30,09:30,10:00,,",
        "YY0003,sb-card,2026-12-01,09:00,09:30,,",
        "YY0004,sb-card,2026-11-30,10:00,10:30,,"), CONFIG.services, SETTINGS, {})
    assert problems == []
    store.import_bookings(bookings, MONDAY_9)
    store.close()
    live = LiveDispatcher(CONFIG, tmp_path / "qms.db").start()  # clock: Monday 09:00
    yield live
    live.stop()


def check_in(live: Any, code: str, rid: str, **extra: Any) -> tuple[int, Any]:
    status, body = live.call("POST", "/tickets", {"request_id": rid, "appointment_code": code,
                                                  **extra}, KIOSK)
    return int(status), body


def test_a_booking_in_its_window_checks_in_once_and_again_gets_the_same_ticket(
        booked: Any) -> None:
    status, body = check_in(booked, "YY0001", "k1")
    assert status == 201, body
    ticket = body["ticket"]
    assert ticket["service_id"] == "sb-card" and ticket["appointment_code"] == "YY0001"
    assert ticket["appointment"]["slot_start"].startswith("2026-11-30T09:00")
    status, again = check_in(booked, "YY0001", "k2")  # pressed again: a reprint
    assert status == 200 and again["ticket"]["id"] == ticket["id"]
    _, state = booked.call("GET", "/state", token=HALL)
    assert [t["id"] for t in state["waiting"]] == [ticket["id"]]
    store = BookingStore(booked.db)
    try:
        stored = store.get("YY0001")
        assert stored is not None and stored.status == "checked_in"
        assert stored.ticket_id == ticket["id"]
    finally:
        store.close()


@pytest.mark.parametrize(("code", "error"), [
    ("YY0009", "unknown_appointment"), ("YY0003", "appointment_not_today"),
    ("YY0004", "appointment_too_early"),
])
def test_a_code_that_cannot_check_in_now_is_refused_and_issues_nothing(
        booked: Any, code: str, error: str) -> None:
    status, body = check_in(booked, code, f"r-{code}")
    assert status == 422 and body["error"]["code"] == error, body
    _, state = booked.call("GET", "/state", token=HALL)
    assert state["waiting"] == []


def test_check_in_after_the_slot_ended_is_too_late(booked: Any) -> None:
    booked.clock.advance(30 * 60)  # 09:30: YY0001's slot is over
    status, body = check_in(booked, "YY0001", "late")
    assert status == 422 and body["error"]["code"] == "appointment_too_late"
    assert "09:30" in body["error"]["message"]


def test_check_in_with_another_business_is_refused(booked: Any) -> None:
    status, body = check_in(booked, "YY0001", "other", service_id="yb-dabing")
    assert status == 422 and body["error"]["code"] == "appointment_other_business"


def test_a_ticket_without_business_or_code_names_no_business(booked: Any) -> None:
    status, body = booked.call("POST", "/tickets", {"request_id": "none"}, KIOSK)
    assert (status, body["error"]["code"]) == (422, "unknown_service"), body


# -- the calling rule `appointment` -----------------------------------------------------------


def _check_in(desk: Any, code: str, start: dt.datetime, service: str = "sb-card") -> str:
    from dispatcher.domain import commands as c

    reply = desk.run(c.IssueTicket(
        request_id=desk.rid(), service_id=service, appointment_code=code,
        appointment_start=start.isoformat(),
        appointment_end=(start + dt.timedelta(minutes=30)).isoformat())).reply
    return str(reply["ticket"]["number"])


def test_an_appointment_whose_slot_began_goes_before_walk_ins_oldest_slot_first() -> None:
    from .helpers import Desk

    desk = Desk(CONFIG)
    walk_in = desk.issue("sb-card")["number"]
    later = _check_in(desk, "Y2", MONDAY_9 + dt.timedelta(minutes=5))  # 09:05 slot
    earlier = _check_in(desk, "Y1", MONDAY_9)  # 09:00 slot, checked in after Y2
    desk.advance(minutes=6)
    assert desk.call(3) == earlier  # both slots began: the oldest slot first
    assert desk.call(4) == later
    assert desk.call(3) == walk_in


def test_an_appointment_is_not_called_before_its_slot_unless_the_window_is_idle() -> None:
    from .helpers import Desk

    desk = Desk(CONFIG)
    early = _check_in(desk, "Y1", MONDAY_9 + dt.timedelta(minutes=25))
    walk_in = desk.issue("sb-card")["number"]
    assert desk.call(3) == walk_in  # the appointment's slot has not begun
    assert desk.call(4) == early  # nothing else waits: an idle window takes it early
    called = [ev for ev in desk.log if ev.type == "ticket_called"]
    assert [ev.rule for ev in called] == ["plain", "appointment_early"]


def test_a_walk_in_over_the_starvation_limit_goes_before_an_appointment() -> None:
    from .helpers import Desk

    desk = Desk(CONFIG)
    walk_in = desk.issue("sb-card")["number"]
    desk.advance(minutes=61)  # the starvation limit is 60 min
    _check_in(desk, "Y1", desk.now - dt.timedelta(minutes=1))
    assert desk.call(3) == walk_in


# -- what residents see: the ticket and the hall screen ---------------------------------------


def test_the_ticket_of_a_checked_in_appointment_says_booked_with_its_slot() -> None:
    from kiosk.ticket import ticket_data
    from printer.layout import Profile
    from printer.render import render_ticket

    reply = {"ticket": {
        "id": "2026-11-30-B001", "number": "B001", "service_id": "sb-card",
        "issued_at": "2026-11-30T08:52:00+08:00", "sign_language": False,
        "appointment_code": "YY0001",
        "appointment": {"code": "YY0001", "slot_start": "2026-11-30T09:00:00+08:00",
                        "slot_end": "2026-11-30T09:30:00+08:00"}},
        "ahead": 0, "est_wait_min": 0, "windows": [3, 4]}
    data = ticket_data(CONFIG, CONFIG.printer, reply)
    assert data.appointment == "09:00–09:30"
    raw = render_ticket(data, Profile(dots=576, encoding="gb18030"))
    assert "【预约】09:00–09:30".encode("gb18030") in raw


def test_the_hall_screen_marks_an_appointment_being_served() -> None:
    import dataclasses

    from display.hall import build_hall
    from tests.test_display_layout import VIEWS

    view = next(v for v in VIEWS.values()
                if any(w.get("current") and w.get("status") != "paused" for w in v.windows))
    windows = [dict(w) for w in view.windows]
    n = next(i for i, w in enumerate(windows) if w.get("current")
             and w.get("status") != "paused")
    windows[n]["current"] = {**windows[n]["current"], "appointment_code": "YY0001"}
    before = [i.text for i in build_hall(view, 1920, 1080)]
    after = [i.text for i in build_hall(dataclasses.replace(view, windows=windows), 1920, 1080)]
    assert not any("预约" in t for t in before if t)
    assert any("预约" in t for t in after if t)


def test_a_check_in_whose_ticket_was_cancelled_gets_a_new_ticket(booked: Any) -> None:
    status, body = check_in(booked, "YY0001", "k1")
    assert status == 201
    first = body["ticket"]["id"]
    from .helpers import ADMIN

    status, _ = booked.call("POST", f"/tickets/{first}/cancel", {"request_id": "c1"}, ADMIN)
    assert status == 200
    status, body = check_in(booked, "YY0001", "k2")  # e.g. a kiosk gave up on the first
    assert status == 201 and body["ticket"]["id"] != first


# -- no-shows and erasure -----------------------------------------------------------------------


def test_a_booking_not_checked_in_by_its_slots_end_is_a_no_show_and_frees_its_place(
        tmp_path: Path) -> None:
    from dispatcher.server.store import Store

    db = tmp_path / "qms.db"
    bookings = BookingStore(db)
    got, problems = parse_csv(rows("YY0001,sb-card,2026-11-30,09:00,09:30,张三,13800138000",
                                   "YY0002,sb-card,2026-11-30,09:30,10:00,李四,13900139000"),
                              CONFIG.services, SETTINGS, {})
    assert problems == []
    bookings.import_bookings(got, MONDAY_9)
    store = Store(db)
    try:
        at_0929 = MONDAY_9 + dt.timedelta(minutes=29)
        assert store.tidy_bookings(at_0929, SHANGHAI, 30) == (0, 0)
        assert store.tidy_bookings(at_0929 + dt.timedelta(minutes=1), SHANGHAI, 30) == (1, 0)
        stored = bookings.all()
        assert stored["YY0001"].status == "no_show" and stored["YY0002"].status == "booked"
        # Its place is free: a full slot takes a new booking again.
        full = AppointmentSettings(capacity=1)
        again = rows("YY0003,sb-card,2026-11-30,09:00,09:30,,")
        assert parse_csv(again, CONFIG.services, full, stored)[1] == []
        # 30 days after the visit: names and phones erased, the booking kept.
        later = MONDAY_9 + dt.timedelta(days=31)
        assert store.tidy_bookings(later, SHANGHAI, 30) == (1, 2)
        kept = bookings.all()
        assert [(b.code, b.name, b.phone, b.status) for b in kept.values()] == [
            ("YY0001", None, None, "no_show"), ("YY0002", None, None, "no_show")]
        raw = db.read_bytes() + Path(f"{db}-wal").read_bytes()
        assert "张三".encode() not in raw and b"13800138000" not in raw  # gone from the disk
    finally:
        store.close()
        bookings.close()


# -- the admin API for one booking at a time ------------------------------------------------------


def _appt(code: str = "YY0100", **over: Any) -> dict[str, Any]:
    body = {"request_id": f"a-{code}-{len(over)}", "code": code, "service_id": "sb-card",
            "date": "2026-11-30", "slot_start": "10:00", "slot_end": "10:30",
            "name": "王五", "phone": "13700137000"}
    body.update(over)
    return body


def test_the_admin_api_creates_moves_lists_and_cancels_a_booking(booked: Any) -> None:
    from .helpers import ADMIN

    status, body = booked.call("POST", "/appointments", _appt(), ADMIN)
    assert status == 201, body
    assert body["appointment"]["phone"] == "137****7000" and body["appointment"]["name"] == "王*"
    status, body = booked.call("POST", "/appointments", _appt(slot_start="10:30",
                                                              slot_end="11:00"), ADMIN)
    assert status == 201 and body["appointment"]["slot_start"] == "10:30"
    status, body = booked.call("GET", "/appointments?date=2026-11-30", token=ADMIN)
    assert status == 200
    listed = {a["code"]: a for a in body["appointments"]}
    assert listed["YY0100"]["slot_start"] == "10:30" and "13700137000" not in str(body)
    status, body = booked.call("POST", "/appointments/YY0100/cancel", {"request_id": "x"},
                               ADMIN)
    assert status == 200 and body["appointment"]["status"] == "cancelled"
    status, body = check_in(booked, "YY0100", "late-cancelled")
    assert (status, body["error"]["code"]) == (422, "appointment_cancelled")


def test_the_admin_api_refuses_a_bad_slot_a_full_one_and_a_checked_in_change(
        booked: Any) -> None:
    from .helpers import ADMIN

    status, body = booked.call("POST", "/appointments", _appt(slot_start="12:00",
                                                              slot_end="12:30"), ADMIN)
    assert (status, body["error"]["code"]) == (422, "invalid_appointment")
    for i in range(4):  # the 09:30 slot holds YY0002 already: capacity 4
        booked.call("POST", "/appointments", _appt(f"FULL0{i}", slot_start="09:30",
                                                   slot_end="10:00"), ADMIN)
    status, body = booked.call("POST", "/appointments", _appt("FULL09", slot_start="09:30",
                                                              slot_end="10:00"), ADMIN)
    assert (status, body["error"]["code"]) == (409, "slot_full")
    assert check_in(booked, "YY0001", "in")[0] == 201
    status, body = booked.call("POST", "/appointments", _appt("YY0001"), ADMIN)
    assert (status, body["error"]["code"]) == (409, "appointment_checked_in")
    status, body = booked.call("POST", "/appointments/YY0001/cancel", {"request_id": "y"},
                               ADMIN)
    assert (status, body["error"]["code"]) == (409, "appointment_checked_in")
    status, body = booked.call("POST", "/appointments/NOPE01/cancel", {"request_id": "z"},
                               ADMIN)
    assert (status, body["error"]["code"]) == (422, "unknown_appointment")
    status, _ = booked.call("GET", "/appointments?date=2026-11-30", token=KIOSK)
    assert status == 403


def test_the_demo_books_a_day_and_its_two_codes_check_in_now(tmp_path: Path) -> None:
    from qms.config import load_config
    from qms.demo_bookings import seed_demo_bookings

    from .test_kiosk_app import EXAMPLE

    config = load_config(EXAMPLE)
    now = dt.datetime(2026, 11, 28, 13, 47, tzinfo=SHANGHAI)  # a Saturday, too
    codes = seed_demo_bookings(tmp_path / "qms.db", config, now)
    again = seed_demo_bookings(tmp_path / "qms.db", config, now)
    assert codes == again and len(codes) == 2
    store = BookingStore(tmp_path / "qms.db")
    try:
        day = store.on(now.date())
        assert len(day) >= 10 and all(b.name and b.phone for b in day)
        for code in codes:
            assert check_in_problem(store.get(code), now, SHANGHAI,
                                    config.appointments) is None, code
    finally:
        store.close()


def test_a_late_check_in_names_the_booked_business_so_the_kiosk_can_offer_a_number(
        booked: Any) -> None:
    booked.clock.advance(31 * 60)  # 09:31: YY0001's slot (09:00–09:30) is over
    status, body = check_in(booked, "YY0001", "late-1")
    assert (status, body["error"]["code"]) == (422, "appointment_too_late")
    assert body["error"]["service_id"] == "sb-card"
    status, body = check_in(booked, "YY0003", "tomorrow-1")  # another day: no offer
    assert (status, body["error"]["code"]) == (422, "appointment_not_today")
    assert "service_id" not in body["error"]
    status, body = booked.call("POST", "/tickets", {"request_id": "walk-in-1",
                                                    "service_id": "sb-card"}, KIOSK)
    assert status == 201 and body["ticket"]["appointment"] is None  # the one tap: a walk-in
