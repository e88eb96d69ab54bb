"""The month's bookings in the report, checked against a small history computed by hand."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from dispatcher.domain.appointments import Booking
from dispatcher.domain.booking_report import booking_report

DAY = dt.date(2026, 11, 3)


def b(code: str, status: str, *calls: str, service: str = "sb-card") -> Booking:
    followup: dict[str, Any] | None = None
    if calls:
        followup = {"outcome": calls[-1], "attempts": len(calls),
                    "history": [{"outcome": c} for c in calls],
                    "missing": ["照片"] if code == "A" else []}
    return Booking(code, service, DAY, dt.time(9), dt.time(9, 30), status=status,
                   followup=followup)


HISTORY = [
    b("A", "served", "confirmed"),  # reached, came
    b("B", "checked_in", "confirmed"),  # reached, came
    b("C", "no_show", "confirmed"),  # reached, did not come
    b("D", "served"),  # not called, came
    b("E", "no_show"),  # not called, did not come
    b("F", "no_show", "unreachable", "unreachable"),  # never reached, did not come
    b("G", "cancelled", "cancelled"),  # cancelled on the call: in no rate
    b("H", "booked", service="zf-lianzu"),  # still to come: in no rate
    b("I", "served", "unreachable", "rescheduled"),  # reached on the second call, came
    b("J", "no_show", service="zf-lianzu"),  # not called, did not come
]


def test_the_bookings_figures_match_the_hand_computed_ones() -> None:
    r = booking_report(HISTORY)
    # checked in: A B D I = 4; no-show: C E F J = 4; settled 8.
    assert (r["bookings"], r["checked_in"], r["no_show"], r["cancelled"], r["to_come"]) == \
        (10, 4, 4, 1, 1)
    assert (r["check_in_rate"], r["no_show_rate"]) == (0.5, 0.5)
    assert r["by_service"]["zf-lianzu"] == {
        "bookings": 2, "checked_in": 0, "no_show": 1, "cancelled": 0, "to_come": 1,
        "check_in_rate": 0.0, "no_show_rate": 1.0}
    # Called: A B C F G I = 6 bookings, 1+1+1+2+1+2 = 8 calls.
    assert r["followup"] == {"called": 6, "attempts": 8, "missing_materials": 1, "outcomes": {
        "confirmed": 3, "rescheduled": 1, "cancelled": 1, "unreachable": 1}}


def test_the_followup_effect_compares_no_show_rates_of_reached_and_not_reached() -> None:
    e = booking_report(HISTORY)["followup_effect"]
    # Reached A B C I: 1 no-show of 4; not reached D E F J: 3 of 4.
    assert (e["reached"], e["reached_no_show_rate"]) == (4, 0.25)
    assert (e["not_reached"], e["not_reached_no_show_rate"]) == (4, 0.75)
    assert e["difference"] == -0.5
    # Pooled 4/8; se = sqrt(.5·.5·(1/4 + 1/4)) = 0.35355; z = −0.5/0.35355 = −√2;
    # p = erfc(√2/√2) = erfc(1) = 0.1573.
    assert e["p_value"] == 0.1573


def test_an_empty_month_has_zero_rates_and_no_effect() -> None:
    r = booking_report([])
    assert (r["bookings"], r["check_in_rate"], r["no_show_rate"]) == (0, 0.0, 0.0)
    assert r["followup_effect"]["difference"] is None and r["followup_effect"]["p_value"] is None


def test_the_report_json_carries_the_months_bookings_and_ratings(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Bookings of November (one confirmed by the follow-up call and served, one no-show
    nobody reached, one cancelled on the call) and one of December; two ratings, one bad."""
    from dispatcher.domain.appointments import parse_csv, record_followup
    from dispatcher.server.bookings import BookingStore
    from dispatcher.server.store import Store
    from qms.cli import main

    from .helpers import MONDAY_9, SMALL_TOML, small_config

    config = small_config()
    path = tmp_path / "center.toml"
    path.write_text(SMALL_TOML.replace("POLICY", "short_threshold = 2"), encoding="utf-8")
    db = tmp_path / "qms.db"
    Store(db).close()  # a dispatcher's database (ratings tables included)
    store = BookingStore(db)
    got, problems = parse_csv(
        "code,service_id,date,slot_start,slot_end,name,phone\n"
        "YY0001,sb-card,2026-11-30,09:00,09:30,张三,13800138000\n"
        "YY0002,sb-card,2026-11-30,09:30,10:00,李四,13900139000\n"
        "YY0003,sb-card,2026-11-30,10:00,10:30,,\n"
        "YY0004,sb-card,2026-12-01,10:00,10:30,,\n", config.services, config.appointments, {})
    assert problems == []
    store.import_bookings(got, MONDAY_9)

    def call(code: str, outcome: str) -> None:
        store.change(code, lambda old, _d: record_followup(
            old, code, outcome=outcome, missing=(), note=None, by="s1", now=MONDAY_9,
            request_id=None, materials=()), MONDAY_9)

    call("YY0001", "confirmed")
    call("YY0003", "cancelled")
    store.set_status("YY0001", "served", MONDAY_9)
    store.set_status("YY0002", "no_show", MONDAY_9)
    store.close()
    import sqlite3
    conn = sqlite3.connect(db)
    conn.executemany('INSERT INTO ratings(seq, at, business_day, "window", ticket_id, number,'
                     " service_id, staff_id, score) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     [(1, "x", "2026-11-30", 1, "t1", "A001", "sb-card", "s1", 1),
                      (2, "x", "2026-11-30", 1, None, None, None, None, 5)])
    conn.commit()
    conn.close()
    capsys.readouterr()
    assert main(["report", "--config", str(path), "--db", str(db), "--month", "2026-11",
                 "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    b = r["bookings"]
    assert (b["bookings"], b["checked_in"], b["no_show"], b["cancelled"]) == (3, 1, 1, 1)
    assert (b["check_in_rate"], b["no_show_rate"]) == (0.5, 0.5)
    assert b["followup"]["outcomes"] == {"confirmed": 1, "rescheduled": 0, "cancelled": 1,
                                         "unreachable": 0}
    e = b["followup_effect"]
    assert (e["reached_no_show_rate"], e["not_reached_no_show_rate"]) == (0.0, 1.0)
    ratings = r["ratings"]
    assert (ratings["ratings"], ratings["satisfaction"], ratings["unattached"]) == (2, 0.5, 1)
    assert ratings["by_score"] == {"1": 1, "2": 0, "3": 0, "4": 0, "5": 1}
    assert ratings["by_staff"] == {"s1": {"ratings": 1, "satisfaction": 1.0, "mean_score": 1.0}}
