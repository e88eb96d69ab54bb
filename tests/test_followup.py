"""预约回访: the call a day ahead. Attempts are counted, a retry counts once, cancelled frees the
place, rescheduled may move the booking; the phone shows in full only to the staff member who
took the call (audited), masked for everyone else, on paper and in the API; notes are erased
with the names after the retention time."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from base.errors import ErrorCode
from dispatcher.domain.appointments import (
    CLAIM_MIN,
    MAX_ATTEMPTS,
    Booking,
    FollowupRefused,
    claim_followup,
    followup_done,
    parse_csv,
    record_followup,
)
from dispatcher.server.bookings import BookingStore
from dispatcher.server.console.followup_view import followup_page
from dispatcher.server.store import Store

from .helpers import ADMIN, MONDAY_9, SHANGHAI, small_config
from .live import LiveDispatcher
from .test_console import Browser

CONFIG = small_config()
TUESDAY = dt.date(2026, 12, 1)
MATERIALS = ("身份证", "照片")  # sb-card's checklist in the small config
HEADER = "code,service_id,date,slot_start,slot_end,name,phone\n"
BOOKINGS = HEADER + "".join(line + "\n" for line in (
    "YY0001,sb-card,2026-12-01,09:00,09:30,张三,13800138000",
    "YY0002,sb-card,2026-12-01,09:00,09:30,李四,13900139000",
    "YY0003,zf-lianzu,2026-12-01,10:00,10:30,王五,021-64001234",
    "YY0004,sb-card,2026-12-01,09:30,10:00,赵六,13700137000",
))


def booking(**over: Any) -> Booking:
    base = Booking("YY0001", "sb-card", TUESDAY, dt.time(9), dt.time(9, 30), "张三",
                   "13800138000")
    return Booking(**{**base.__dict__, **over})


def record(b: Booking | None, outcome: str, at: dt.datetime = MONDAY_9, by: str = "s1",
           rid: str | None = None, **kw: Any) -> Booking:
    return record_followup(b, "YY0001", outcome=outcome, missing=kw.get("missing", ()),
                           note=kw.get("note"), by=by, now=at, request_id=rid,
                           materials=MATERIALS)


# -- the rules (pure) ------------------------------------------------------------------------


def test_each_call_counts_an_attempt_and_a_retry_of_the_same_request_counts_once() -> None:
    once = record(booking(), "unreachable", rid="r1")
    assert once.followup is not None and once.followup["attempts"] == 1
    assert record(once, "unreachable", rid="r1") is once  # the same request again
    twice = record(once, "unreachable", at=MONDAY_9 + dt.timedelta(hours=1), rid="r2")
    assert twice.followup is not None and twice.followup["attempts"] == 2
    assert [h["outcome"] for h in twice.followup["history"]] == ["unreachable"] * 2
    assert not followup_done(twice)
    third = record(twice, "unreachable", rid="r3")
    assert followup_done(third) and MAX_ATTEMPTS == 3  # nobody calls a fourth time


def test_confirmed_rescheduled_and_cancelled_end_the_calls_and_cancelled_frees_the_place(
        ) -> None:
    assert followup_done(record(booking(), "confirmed"))
    assert followup_done(record(booking(), "rescheduled"))
    cancelled = record(booking(), "cancelled", note="去外地了")
    assert cancelled.status == "cancelled" and followup_done(cancelled)
    assert cancelled.followup is not None and cancelled.followup["note"] == "去外地了"


def test_missing_materials_come_from_the_business_checklist_only() -> None:
    done = record(booking(), "confirmed", missing=["照片"])
    assert done.followup is not None and done.followup["missing"] == ["照片"]
    with pytest.raises(FollowupRefused) as refused:
        record(booking(), "confirmed", missing=["户口簿"])
    assert refused.value.code is ErrorCode.INVALID_APPOINTMENT and "户口簿" in refused.value.message


def test_bad_outcomes_and_notes_are_refused() -> None:
    for outcome, note in (("maybe", None), ("confirmed", "长" * 501), ("confirmed", "a\x00b")):
        with pytest.raises(FollowupRefused) as refused:
            record(booking(), outcome, note=note)
        assert refused.value.code is ErrorCode.INVALID_APPOINTMENT


def test_a_booking_that_is_over_or_unknown_is_not_followed_up() -> None:
    for status, code in (("cancelled", ErrorCode.APPOINTMENT_CANCELLED),
                         ("checked_in", ErrorCode.APPOINTMENT_CHECKED_IN),
                         ("served", ErrorCode.APPOINTMENT_CHECKED_IN),
                         ("no_show", ErrorCode.APPOINTMENT_TOO_LATE)):
        with pytest.raises(FollowupRefused) as refused:
            record(booking(status=status), "confirmed")
        assert refused.value.code is code
    with pytest.raises(FollowupRefused) as refused:
        record(None, "confirmed")
    assert refused.value.code is ErrorCode.UNKNOWN_APPOINTMENT


def test_a_call_taken_by_one_person_is_theirs_until_it_lapses_or_is_recorded() -> None:
    taken = claim_followup(booking(), "YY0001", "s1", MONDAY_9)
    with pytest.raises(FollowupRefused) as refused:
        claim_followup(taken, "YY0001", "s2", MONDAY_9 + dt.timedelta(minutes=1))
    assert refused.value.code is ErrorCode.FOLLOWUP_TAKEN
    with pytest.raises(FollowupRefused):
        record(taken, "confirmed", by="s2")
    later = MONDAY_9 + dt.timedelta(minutes=CLAIM_MIN)
    assert claim_followup(taken, "YY0001", "s2", later).followup["caller"] == "s2"  # type: ignore[index]
    done = record(taken, "confirmed", by="s1")
    assert done.followup is not None and "caller" not in done.followup  # released
    assert claim_followup(done, "YY0001", "s2", MONDAY_9).followup["caller"] == "s2"  # type: ignore[index]


def test_the_page_shows_the_phone_in_full_only_to_the_caller_and_counts_progress() -> None:
    bookings, problems = parse_csv(BOOKINGS, CONFIG.services, CONFIG.appointments, {})
    assert problems == []
    taken = claim_followup(bookings[0], "YY0001", "s1", MONDAY_9)
    confirmed = record(bookings[1], "confirmed", missing=["照片"])
    view = followup_page(CONFIG, [taken, confirmed, *bookings[2:]], "s1", MONDAY_9)
    assert [g["service_id"] for g in view["groups"]] == ["sb-card", "zf-lianzu"]
    assert view["groups"][0]["materials"] == list(MATERIALS)
    rows = {r["code"]: r for g in view["groups"] for r in g["rows"]}
    assert rows["YY0001"]["phone"] == "13800138000" and rows["YY0001"]["name"] == "张三"
    assert rows["YY0001"]["phone_masked"] == "138****8000"
    assert rows["YY0002"]["phone"] == "139****9000" and rows["YY0003"]["phone"] == "021****1234"
    assert (view["called"], view["to_call"], view["total"], view["missing"]) == (1, 3, 4, 1)
    other = followup_page(CONFIG, [taken], "s2", MONDAY_9)
    row = other["groups"][0]["rows"][0]
    assert row["phone"] == "138****8000" and row["name"] == "张*" and row["caller"] == "s1"


def test_the_list_to_call_is_for_the_next_working_day() -> None:
    friday = dt.date(2026, 12, 4)
    assert CONFIG.appointments.next_working_day(friday) == dt.date(2026, 12, 7)  # Monday
    assert CONFIG.appointments.next_working_day(MONDAY_9.date()) == TUESDAY


# -- the admin API --------------------------------------------------------------------------


@pytest.fixture
def booked(tmp_path: Path) -> Iterator[LiveDispatcher]:
    store = BookingStore(tmp_path / "qms.db")
    bookings, problems = parse_csv(BOOKINGS, CONFIG.services, CONFIG.appointments, {})
    assert problems == []
    store.import_bookings(bookings, MONDAY_9)
    store.close()
    live = LiveDispatcher(CONFIG, tmp_path / "qms.db", demo_accounts=True).start()
    yield live
    live.stop()


def followup(live: LiveDispatcher, code: str, rid: str, **body: Any) -> tuple[int, Any]:
    status, answer = live.call("POST", f"/appointments/{code}/followup",
                               {"request_id": rid, **body}, ADMIN)
    return int(status), answer


def test_the_api_records_a_followup_and_a_retry_counts_once(booked: LiveDispatcher) -> None:
    status, body = followup(booked, "YY0001", "f1", outcome="unreachable")
    assert status == 200, body
    appt = body["appointment"]
    assert appt["followup"]["attempts"] == 1 and appt["phone"] == "138****8000"
    assert followup(booked, "YY0001", "f1", outcome="unreachable")[1]["appointment"][
        "followup"]["attempts"] == 1
    status, body = followup(booked, "YY0001", "f2", outcome="confirmed", missing=["照片"],
                            note="下午来")
    assert status == 200 and body["appointment"]["followup"]["attempts"] == 2
    assert body["appointment"]["followup"]["missing"] == ["照片"]
    status, body = booked.call("GET", "/appointments?date=2026-12-01", token=ADMIN)
    listed = {a["code"]: a for a in body["appointments"]}
    assert listed["YY0001"]["followup"]["outcome"] == "confirmed"
    assert "13800138000" not in str(body)


def test_a_followup_cancel_frees_the_place_and_a_reschedule_moves_the_booking(
        booked: LiveDispatcher) -> None:
    status, body = followup(booked, "YY0002", "c1", outcome="cancelled")
    assert status == 200 and body["appointment"]["status"] == "cancelled"
    assert followup(booked, "YY0002", "c2", outcome="confirmed")[1]["error"]["code"] == \
        "appointment_cancelled"
    status, body = followup(booked, "YY0004", "m1", outcome="rescheduled",
                            date="2026-12-02", slot_start="13:30", slot_end="14:00")
    assert status == 200, body
    moved = body["appointment"]
    assert (moved["date"], moved["slot_start"], moved["status"]) == (
        "2026-12-02", "13:30", "booked")
    # Fill 14:00 on Wednesday (capacity 4), then a move there is refused and changes nothing.
    for i in range(4):
        status, _ = booked.call("POST", "/appointments", {
            "request_id": f"fill{i}", "code": f"FULL0{i}", "service_id": "sb-card",
            "date": "2026-12-02", "slot_start": "14:00", "slot_end": "14:30"}, ADMIN)
        assert status == 201
    status, body = followup(booked, "YY0004", "m2", outcome="rescheduled",
                            date="2026-12-02", slot_start="14:00", slot_end="14:30")
    assert (status, body["error"]["code"]) == (409, "slot_full")
    status, body = booked.call("GET", "/appointments?date=2026-12-02", token=ADMIN)
    kept = {a["code"]: a for a in body["appointments"]}["YY0004"]
    assert kept["slot_start"] == "13:30" and kept["followup"]["attempts"] == 1


def test_the_api_refuses_bad_followups_and_changes_nothing(booked: LiveDispatcher) -> None:
    assert followup(booked, "NOPE01", "u1", outcome="confirmed")[1]["error"]["code"] == \
        "unknown_appointment"
    status, body = followup(booked, "YY0001", "b1", outcome="perhaps")
    assert status == 400
    status, body = followup(booked, "YY0001", "b2", outcome="confirmed", missing=["护照"])
    assert (status, body["error"]["code"]) == (422, "invalid_appointment")
    status, body = followup(booked, "YY0001", "b3", outcome="confirmed", date="2026-12-02")
    assert (status, body["error"]["code"]) == (422, "invalid_appointment")
    status, body = followup(booked, "YY0001", "b4", outcome="confirmed", date="2026-12-02",
                            slot_start="09:00", slot_end="09:30")
    assert (status, body["error"]["code"]) == (422, "invalid_appointment")
    status, body = booked.call("GET", "/appointments?date=2026-12-01", token=ADMIN)
    assert {a["code"]: a for a in body["appointments"]}["YY0001"]["followup"] is None


# -- the console page -----------------------------------------------------------------------


def _form_fields(page: str, code: str) -> dict[str, str]:
    row = page[page.index(f'id="record-{code}"'):]
    row = row[:row.index("</tr>")]
    return dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', row))


def test_the_console_list_shows_the_phone_to_the_caller_only_and_records_the_outcome(
        booked: LiveDispatcher) -> None:
    caller, other = Browser(booked.port), Browser(booked.port)
    assert caller.login("s1", "demo")[0] == 303 and other.login("s2", "demo")[0] == 303
    status, _, page = caller.request("GET", "/console/followup")  # tomorrow: Tuesday
    assert status == 200 and "2026-12-01" in page
    assert "138****8000" in page and "13800138000" not in page and "张*" in page
    assert "身份证、照片" in page  # the business's checklist
    csrf = caller.csrf("/console/followup")
    status, headers, _ = caller.request("POST", "/console/followup/YY0001/call",
                                        {"csrf": csrf, "day": "2026-12-01"})
    assert status == 303 and headers["location"].endswith("#appt-YY0001")
    page = caller.request("GET", "/console/followup?day=2026-12-01")[2]
    assert 'href="tel:13800138000"' in page and "张三" in page
    seen = other.request("GET", "/console/followup?day=2026-12-01")[2]
    assert "13800138000" not in seen and "s1 正在回访" in seen
    status, body = other.act("/console/followup/YY0001/call", other.csrf("/console/followup"))
    assert status == 409 and body["error"]["code"] == "followup_followup_taken"
    fields = _form_fields(page, "YY0001")
    status, _, _ = caller.request("POST", "/console/followup/YY0001/record", {
        **fields, "outcome": "confirmed", "missing-1": "1", "note": "会带照片"})
    assert status == 303
    page = caller.request("GET", "/console/followup?day=2026-12-01")[2]
    assert "13800138000" not in page and "已确认" in page and "缺少材料：照片" in page
    assert re.search(r'id="called">1 / 4<', page) and re.search(r'id="to-call">3<', page)
    # The same form sent again (a double press) records nothing more.
    caller.request("POST", "/console/followup/YY0001/record", {**fields, "outcome": "confirmed"})
    status, body = booked.call("GET", "/appointments?date=2026-12-01", token=ADMIN)
    appt = {a["code"]: a for a in body["appointments"]}["YY0001"]
    assert appt["followup"]["attempts"] == 1 and appt["followup"]["by"] == "s1"
    admin = Browser(booked.port)
    admin.login("admin", "demo-admin")
    audit = admin.request("GET", "/console/audit")[2]
    assert "appointment-call" in audit and "phone shown" in audit
    assert "appointment-follow-up" in audit and "13800138000" not in audit


def test_the_console_refuses_a_record_without_taking_the_call_first_for_someone_else(
        booked: LiveDispatcher) -> None:
    caller, other = Browser(booked.port), Browser(booked.port)
    caller.login("s1", "demo")
    other.login("s2", "demo")
    caller.act("/console/followup/YY0003/call", caller.csrf("/console/followup"))
    status, body = other.act("/console/followup/YY0003/record",
                             other.csrf("/console/followup"), outcome="cancelled")
    assert status == 409
    status, body = booked.call("GET", "/appointments?date=2026-12-01", token=ADMIN)
    assert {a["code"]: a for a in body["appointments"]}["YY0003"]["status"] == "booked"


# -- erasure --------------------------------------------------------------------------------


def test_the_followup_note_is_erased_with_the_name_and_phone_but_the_outcome_stays(
        tmp_path: Path) -> None:
    db = tmp_path / "qms.db"
    bookings = BookingStore(db)
    got, _ = parse_csv(BOOKINGS, CONFIG.services, CONFIG.appointments, {})
    bookings.import_bookings(got, MONDAY_9)
    bookings.change("YY0001", lambda old, _d: record(old, "confirmed", missing=["照片"],
                                                     note="联系人王小明"), MONDAY_9)
    store = Store(db)
    try:
        later = dt.datetime(2027, 1, 1, 9, tzinfo=SHANGHAI)
        store.tidy_bookings(later, SHANGHAI, 30)
        kept = bookings.get("YY0001")
        assert kept is not None and kept.name is None and kept.phone is None
        assert kept.followup is not None and "note" not in kept.followup
        assert kept.followup["outcome"] == "confirmed" and kept.followup["missing"] == ["照片"]
        raw = db.read_bytes() + Path(f"{db}-wal").read_bytes()
        assert "王小明".encode() not in raw
    finally:
        store.close()
        bookings.close()
