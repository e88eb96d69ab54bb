"""The monthly report (PROTOCOL.md "History and reports"): a small history whose every figure
is computed by hand below, the month's bounds, flagged visits, native tickets and imported rows
read alike, and `qms report` end to end."""

from __future__ import annotations

import datetime as dt
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from base.config import ConfigError
from dispatcher.domain import commands as c
from dispatcher.domain.core import QueueCore
from dispatcher.domain.history import CSV_COLUMNS, Visit
from dispatcher.domain.report import ReportSettings, month_days, monthly_report, p90
from dispatcher.server.history import HistoryStore
from dispatcher.server.store import Record, Store
from qms.cli import main
from qms.config import parse_config

from .helpers import SHANGHAI, SMALL_TOML, small_config

TZ = SHANGHAI
DEPARTMENTS = {"sb-card": "sb", "yb-dabing": "yb"}
PROTOCOL_KEYS = ["month", "tickets", "served", "no_show", "cancelled", "mean_wait_s",
                 "p90_wait_s", "mean_service_s", "service_level", "by_service", "by_window",
                 "by_staff", "by_day"]


def visit(day: str, number: str, service: str, issued: str, called: str | None,
          finished: str | dt.datetime | None, window: int | None, staff: str | None,
          outcome: str, **extra: Any) -> Visit:
    d = dt.date.fromisoformat(day)

    def at(t: str | None) -> dt.datetime | None:
        return None if t is None else dt.datetime.combine(d, dt.time.fromisoformat(t), TZ)

    issued_at = at(issued)
    assert issued_at is not None
    return Visit(business_day=d, number=number, service_id=service, issued_at=issued_at,
                 called_at=at(called),
                 finished_at=finished if isinstance(finished, dt.datetime) else at(finished),
                 window=window, staff_id=staff, outcome=outcome, **extra)


# Two days of October 2026 (Thu 8th, Fri 9th), two businesses, windows 3 and 4, staff s2–s4.
# wait = call − issue, service = finish − call (seconds). target 15 min = 900 s.
HISTORY = [
    # V1: wait 300, service 600
    visit("2026-10-08", "B001", "sb-card", "09:00:00", "09:05:00", "09:15:00", 3, "s3", "done"),
    # V2: wait 540, service 240
    visit("2026-10-08", "A001", "yb-dabing", "09:01:00", "09:10:00", "09:14:00", 4, "s4",
          "done"),
    # V3: wait 900 = exactly the target (counts as within), service 1200; staff s2 at window 4
    visit("2026-10-08", "B002", "sb-card", "09:02:00", "09:17:00", "09:37:00", 4, "s2", "done"),
    # V4: no-show, wait 720
    visit("2026-10-08", "A002", "yb-dabing", "09:03:00", "09:15:00", "09:16:00", 3, "s3",
          "no_show"),
    # V5: cancelled while waiting
    visit("2026-10-08", "B003", "sb-card", "09:04:00", None, "09:20:00", None, None,
          "cancelled"),
    # V6: QUICK CALL — window 3 called V7 5 s after calling V6 (≤ 10 s): V6 flagged
    visit("2026-10-08", "A003", "yb-dabing", "09:05:00", "09:16:00", "09:16:05", 3, "s3",
          "done"),
    # V7: wait 605, service 840 (window 3's calls: 09:05, 09:15, 09:16, 09:16:05)
    visit("2026-10-08", "B004", "sb-card", "09:06:00", "09:16:05", "09:30:05", 3, "s3", "done"),
    # V8: a booking: wait 1201 (over the target), service 300
    visit("2026-10-09", "A001", "yb-dabing", "10:00:00", "10:20:01", "10:25:01", 4, "s4", "done",
          appointment=True),
    # V9: PAST DAY END — finished 05:00 the next morning (the day ends at 04:00): flagged
    visit("2026-10-09", "B001", "sb-card", "10:01:00", "16:00:00",
          dt.datetime(2026, 10, 10, 5, 0, tzinfo=TZ), 3, "s3", "done"),
    # V10: transferred once; finished at window 3 by s4: wait 601, service 600
    visit("2026-10-09", "A002", "yb-dabing", "10:02:00", "10:12:01", "10:22:01", 3, "s4", "done",
          transfers=1),
    # V11: still waiting when the report is made (a native ticket)
    visit("2026-10-09", "B002", "sb-card", "10:30:00", None, None, None, None, "open",
          source="native"),
    # other months: left out
    visit("2026-09-30", "A001", "yb-dabing", "09:00:00", "09:01:00", "09:02:00", 3, "s3",
          "done"),
    visit("2026-11-01", "B001", "sb-card", "09:00:00", "09:01:00", "09:02:00", 3, "s3", "done"),
]


def report(visits: list[Visit] = HISTORY, **settings: Any) -> dict[str, Any]:
    return monthly_report("2026-10", visits, ReportSettings(**settings), TZ,
                          departments=DEPARTMENTS)


def test_the_headline_figures_by_hand() -> None:
    r = report()
    assert list(r)[:len(PROTOCOL_KEYS)] == PROTOCOL_KEYS
    # tickets V1–V11 = 11; served (done) V1 V2 V3 V6 V7 V8 V9 V10 = 8; no-show V4; cancelled
    # V5; open V11. The flagged V6 and V9 still count.
    assert (r["month"], r["tickets"], r["served"], r["no_show"], r["cancelled"], r["open"]) \
        == ("2026-10", 11, 8, 1, 1, 1)
    # Waits of the unflagged called (V1 V2 V3 V4 V7 V8 V10): 300 540 900 720 605 1201 601;
    # sum 4867 / 7 = 695.29 → 695.3. Sorted 300 540 601 605 720 900 1201: p90 = ⌈6.3⌉ = 7th
    # = 1201. Within 900 s: all but 1201 (900 included) = 6/7 = 0.857142… → 0.8571.
    assert r["mean_wait_s"] == 695.3
    assert r["p90_wait_s"] == 1201.0
    assert r["service_level"] == 0.8571
    # Service of the unflagged served (V1 V2 V3 V7 V8 V10): 600 240 1200 840 300 600 = 3780 / 6
    assert r["mean_service_s"] == 630.0
    # no_show ÷ called (9, flagged included) = 1/9 = 0.1111
    assert r["no_show_rate"] == 0.1111
    assert (r["transfers"], r["appointments"], r["target_wait_min"]) == (1, 1, 15)
    assert r["flagged"] == {"quick_calls": 1, "past_day_end": 1, "excluded": 2}


def test_by_service_and_department_by_hand() -> None:
    r = report()
    # sb-card: V1 V3 V5 V7 V9 V11 = 6 tickets; served V1 V3 V7 V9 = 4; cancelled V5.
    # Waits V1 300, V3 900, V7 605 = 1805 / 3 = 601.67; p90 = ⌈2.7⌉ = 3rd = 900; all ≤ 900.
    # Service V1 600, V3 1200, V7 840 = 2640 / 3 = 880 (V9 flagged).
    sb = {"tickets": 6, "served": 4, "no_show": 0, "cancelled": 1, "mean_wait_s": 601.7,
          "p90_wait_s": 900.0, "mean_service_s": 880.0, "service_level": 1.0}
    # yb-dabing: V2 V4 V6 V8 V10 = 5 tickets; served V2 V6 V8 V10 = 4; no-show V4.
    # Waits V2 540, V4 720, V8 1201, V10 601 = 3062 / 4 = 765.5; sorted 540 601 720 1201:
    # p90 = ⌈3.6⌉ = 4th = 1201; within 900: 3/4. Service V2 240, V8 300, V10 600 = 1140 / 3.
    yb = {"tickets": 5, "served": 4, "no_show": 1, "cancelled": 0, "mean_wait_s": 765.5,
          "p90_wait_s": 1201.0, "mean_service_s": 380.0, "service_level": 0.75}
    assert r["by_service"] == {"sb-card": sb, "yb-dabing": yb}
    assert r["by_department"] == {"sb": sb, "yb": yb}


def test_by_window_and_staff_count_where_and_by_whom_finished() -> None:
    r = report()
    # Window 3 finished V1 V6 V7 V9 V10 = 5 served; unflagged service 600 840 600 → 680.
    # Window 4: V2 V3 V8 = 3; 240 1200 300 → 580.
    assert r["by_window"] == {"3": {"served": 5, "mean_service_s": 680.0},
                              "4": {"served": 3, "mean_service_s": 580.0}}
    # s2: V3 (1200). s3: V1 V6 V7 V9 = 4, service 600 840 → 720, businesses sb-card and
    # yb-dabing (V6, flagged, still counts) = 2. s4: V2 V8 V10 = 3, 240 300 600 → 380, one
    # business.
    staff = {sid: {k: v for k, v in entry.items() if k != "by_service"}
             for sid, entry in r["by_staff"].items()}
    assert staff == {"s2": {"served": 1, "mean_service_s": 1200.0, "services": 1},
                     "s3": {"served": 4, "mean_service_s": 720.0, "services": 2},
                     "s4": {"served": 3, "mean_service_s": 380.0, "services": 1}}
    assert r["by_staff"]["s3"]["by_service"] == {
        "sb-card": {"served": 3, "mean_service_s": 720.0},
        "yb-dabing": {"served": 1, "mean_service_s": 0.0}}  # (V6's time is not trusted)


def test_by_day_hour_and_weekday_by_hand() -> None:
    r = report()
    # 8th: V1–V7 = 7, served V1 V2 V3 V6 V7 = 5; waits 300 540 900 720 605 = 3065 / 5 = 613.
    # 9th: V8–V11 = 4, served V8 V9 V10 = 3; waits 1201 601 = 1802 / 2 = 901.
    assert {d: (g["tickets"], g["served"], g["mean_wait_s"]) for d, g in r["by_day"].items()} \
        == {"2026-10-08": (7, 5, 613.0), "2026-10-09": (4, 3, 901.0)}
    assert r["by_day"]["2026-10-08"]["no_show"] == 1
    assert r["by_day"]["2026-10-09"]["p90_wait_s"] == 1201.0
    assert r["by_hour"] == {"09": {"tickets": 7, "mean_wait_s": 613.0},
                            "10": {"tickets": 4, "mean_wait_s": 901.0}}
    heat = r["by_weekday_hour"]
    assert heat["thu"][9] == 7 and heat["fri"][10] == 4
    assert sum(map(sum, heat.values())) == 11


def test_the_settings_move_the_boundaries() -> None:
    # target 10 min = 600 s: within are 300 and 540 only → 2/7 = 0.2857
    assert report(target_wait_min=10)["service_level"] == 0.2857
    # V6's quick call came 5 s later: with a 4 s limit nothing is quick; V6's wait (660) and
    # service (5) count: waits sum 4867 + 660 = 5527 / 8 = 690.875 → 690.9
    loose = report(quick_call_s=4)
    assert loose["flagged"] == {"quick_calls": 0, "past_day_end": 1, "excluded": 1}
    assert loose["mean_wait_s"] == 690.9
    assert report(quick_call_s=5)["flagged"]["quick_calls"] == 1  # within = at most
    assert report(quick_call_s=0)["flagged"]["quick_calls"] == 0  # 0: off


def test_a_configured_day_end_flags_services_finished_after_closing() -> None:
    # [reports] day_end = 17:30: V3 (09:37) and V7 (09:30:05) finish before it; V9 at 05:00
    # the next morning is past it as before. 09:30 flags V3 (09:37), V7 (09:30:05), V8
    # (10:25:01) and V10 (10:22:01) too.
    assert report(day_end=dt.time(17, 30))["flagged"]["past_day_end"] == 1
    assert report(day_end=dt.time(9, 30))["flagged"]["past_day_end"] == 5
    # a day_end past midnight (before day_start) is on the next calendar day
    assert report(day_end=dt.time(2, 0))["flagged"]["past_day_end"] == 1
    config = parse_config(SMALL_TOML.replace("POLICY", "") + "\n[reports]\nday_end = \"17:30\"\n",
                          source="t.toml")
    assert config.reports.day_end == dt.time(17, 30)
    with pytest.raises(ConfigError, match=r"reports\.day_end"):
        parse_config(SMALL_TOML.replace("POLICY", "") + "\n[reports]\nday_end = \"25:00\"\n",
                     source="t.toml")


def test_an_empty_month_gives_zeros_never_nan() -> None:
    r = monthly_report("2026-12", HISTORY, ReportSettings(), TZ)
    assert {k: r[k] for k in PROTOCOL_KEYS} == {
        "month": "2026-12", "tickets": 0, "served": 0, "no_show": 0, "cancelled": 0,
        "mean_wait_s": 0.0, "p90_wait_s": 0.0, "mean_service_s": 0.0, "service_level": 0.0,
        "by_service": {}, "by_window": {}, "by_staff": {}, "by_day": {}}
    assert r["no_show_rate"] == 0.0
    assert not any(isinstance(x, float) and math.isnan(x) for x in _leaves(r))
    json.dumps(r, allow_nan=False)


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [x for v in value.values() for x in _leaves(v)]
    if isinstance(value, list):
        return [x for v in value for x in _leaves(v)]
    return [value]


def test_months_and_the_nearest_rank_p90() -> None:
    assert month_days("2026-02") == (dt.date(2026, 2, 1), dt.date(2026, 2, 28))
    assert month_days("2026-12") == (dt.date(2026, 12, 1), dt.date(2026, 12, 31))
    for bad in ("2026-13", "2026-1", "26-10", "2026-10-01", ""):
        with pytest.raises(ValueError, match="YYYY-MM"):
            month_days(bad)
    assert p90([]) == 0.0
    assert p90([float(x) for x in range(1, 11)]) == 9.0  # ⌈9⌉ = 9th of 10
    assert p90([float(x) for x in range(1, 12)]) == 10.0  # ⌈9.9⌉ = 10th of 11


def test_a_month_of_13000_visits_is_reported() -> None:
    day0 = dt.datetime(2026, 10, 1, 8, 30, tzinfo=TZ)
    many = []
    for i in range(13_000):
        issued = day0 + dt.timedelta(days=i % 30, seconds=(i // 30) * 60)
        many.append(Visit(business_day=issued.date(), number=f"B{i:05d}", service_id="sb-card",
                          issued_at=issued, called_at=issued + dt.timedelta(minutes=i % 20),
                          finished_at=issued + dt.timedelta(minutes=i % 20 + 7),
                          window=1 + i % 8, staff_id=f"s{i % 9}", outcome="done"))
    r = report(many)
    assert r["tickets"] == r["served"] == 13_000 and len(r["by_day"]) == 30


# -- native tickets and imported rows, alike ---------------------------------------------------

NOV_27 = dt.date(2026, 11, 27)  # a Friday: imported
NOV_30 = dt.date(2026, 11, 30)  # a Monday: this dispatcher's own tickets


def _native_day(db: Path) -> None:
    """Monday 30 November through the real core and store: B001 called at window 3 (09:05),
    transferred to window 4, called there (09:08) and finished (09:18); B002 called at
    window 3 (09:10) and marked absent (09:20); B003 still waiting."""
    config = small_config()
    core = QueueCore(config)
    store = Store(db)
    steps: list[tuple[str, c.Command]] = [
        ("09:00", c.IssueTicket(request_id="i1", service_id="sb-card")),
        ("09:01", c.IssueTicket(request_id="i2", service_id="sb-card")),
        ("09:05", c.CallNext(request_id="n1", window=3)),
        ("09:06", c.Transfer(request_id="t1", window=3, to_window=4)),
        ("09:08", c.CallNext(request_id="n2", window=4)),
        ("09:10", c.CallNext(request_id="n3", window=3)),
        ("09:18", c.CallNext(request_id="n4", window=4)),
        ("09:20", c.NoShow(request_id="x1", window=3)),
        ("09:30", c.IssueTicket(request_id="i3", service_id="sb-card")),
    ]
    try:
        for clock, command in steps:
            now = dt.datetime.combine(NOV_30, dt.time.fromisoformat(clock), TZ)
            outcome = core.handle(command, now)
            store.append([Record(command, outcome, core.state.seq)])
        tickets = {t["number"]: t for t in store.tickets(NOV_30.isoformat())}
    finally:
        store.close()
    # The ticket keeps its latest call only: the first comes from the event log.
    assert dt.datetime.fromisoformat(tickets["B001"]["called_at"]) \
        == dt.datetime(2026, 11, 30, 9, 8, tzinfo=TZ)
    assert (tickets["B001"]["window"], tickets["B001"]["transfers"]) == (4, 1)


IMPORTED = "\n".join([
    ",".join(CSV_COLUMNS),
    # the same morning on Friday 27th, as an older system would export it
    "2026-11-27,B001,sb-card,09:00:00,09:05:00,09:18:00,4,s4,done",
    "2026-11-27,B002,sb-card,09:01:00,09:10:00,09:20:00,3,s3,no_show",
    # a row for the Monday the dispatcher recorded itself: not counted twice
    "2026-11-30,B001,sb-card,09:00:00,09:01:00,09:02:00,1,s1,done",
]) + "\n"


def _config_file(tmp_path: Path) -> Path:
    path = tmp_path / "center.toml"
    path.write_text(SMALL_TOML.replace("POLICY", "short_threshold = 2"), encoding="utf-8")
    return path


def _setup(tmp_path: Path) -> tuple[Path, Path]:
    config, db = _config_file(tmp_path), tmp_path / "qms.db"
    _native_day(db)
    csv = tmp_path / "history.csv"
    csv.write_text(IMPORTED, encoding="utf-8")
    assert main(["history", "import", "--config", str(config), "--db", str(db), str(csv)]) == 0
    return config, db


def test_native_tickets_and_imported_rows_are_read_alike(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _setup(tmp_path)
    out = capsys.readouterr().out
    assert out.startswith("imported 3 (3 new, 0 changed, 0 unchanged)\n")
    assert "note: 1 day(s)" in out  # the Monday has the dispatcher's own tickets
    store = HistoryStore(tmp_path / "qms.db")
    try:
        visits = store.visits(*month_days("2026-11"))
    finally:
        store.close()
    native = {v.number: v for v in visits if v.business_day == NOV_30}
    assert {v.source for v in native.values()} == {"native"}
    assert len(native) == 3  # the imported row of that day is left out
    moved = native["B001"]
    assert moved.called_at is not None and moved.last_called_at is not None
    assert moved.called_at.astimezone(TZ).time() == dt.time(9, 5)  # the first call
    assert moved.last_called_at.astimezone(TZ).time() == dt.time(9, 8)
    assert (moved.window, moved.staff_id, moved.transfers) == (4, "s4", 1)
    assert native["B003"].outcome == "open"
    r = monthly_report("2026-11", visits, ReportSettings(), TZ)
    # Both mornings: B001 wait 300, service 780 (09:05 → 09:18); B002 absent after 540.
    for day in ("2026-11-27", "2026-11-30"):
        assert (r["by_day"][day]["served"], r["by_day"][day]["no_show"],
                r["by_day"][day]["mean_wait_s"]) == (1, 1, 420.0)
    assert (r["tickets"], r["served"], r["no_show"], r["open"], r["transfers"]) \
        == (5, 2, 2, 1, 1)
    assert r["by_service"]["sb-card"]["mean_service_s"] == 780.0
    assert r["by_window"] == {"4": {"served": 2, "mean_service_s": 780.0}}
    assert r["by_staff"]["s4"]["served"] == 2


# -- the command line --------------------------------------------------------------------------


def test_report_json_is_one_object_with_the_protocols_keys(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config, db = _setup(tmp_path)
    capsys.readouterr()
    assert main(["report", "--config", str(config), "--db", str(db), "--month", "2026-11",
                 "--json"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    r = json.loads(out)
    assert list(r)[:len(PROTOCOL_KEYS)] == PROTOCOL_KEYS
    assert set(r["by_service"]["sb-card"]) >= {"tickets", "served", "no_show", "mean_wait_s",
                                               "p90_wait_s", "mean_service_s"}
    assert set(r["by_window"]["4"]) >= {"served", "mean_service_s"}
    assert set(r["by_staff"]["s4"]) >= {"served", "mean_service_s", "services"}
    assert set(r["by_day"]["2026-11-27"]) >= {"tickets", "served", "mean_wait_s"}
    assert (r["month"], r["tickets"], r["mean_wait_s"]) == ("2026-11", 5, 420.0)


def test_report_text_is_readable_chinese_first(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config, db = _setup(tmp_path)
    capsys.readouterr()
    assert main(["report", "--config", str(config), "--db", str(db), "--month",
                 "2026-11"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("2026-11 月度报表")
    assert "社保卡申领 [sb-card]" in out and "丁 [s4]" in out and "4 号窗口" in out


@pytest.mark.parametrize("month", ["2026-13", "Nov", "2026-1"])
def test_a_bad_month_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                month: str) -> None:
    config = _config_file(tmp_path)
    assert main(["report", "--config", str(config), "--db", str(tmp_path / "qms.db"),
                 "--month", month, "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "--month: month must be YYYY-MM" in captured.err


def test_a_missing_database_is_refused(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--config", str(_config_file(tmp_path)), "--db",
                 str(tmp_path / "none.db"), "--month", "2026-11"]) == 2
    assert "no such database" in capsys.readouterr().err


def test_qms_report_as_a_process(tmp_path: Path) -> None:
    config, db = _setup(tmp_path)
    done = subprocess.run([sys.executable, "-m", "qms", "report", "--config", str(config),
                           "--db", str(db), "--month", "2026-11", "--json"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["served"] == 2


def test_the_reports_section_is_read_and_checked() -> None:
    base = SMALL_TOML.replace("POLICY", "short_threshold = 2")
    config = parse_config(base + "\n[reports]\ntarget_wait_min = 20\nquick_call_s = 0\n")
    assert config.reports == ReportSettings(target_wait_min=20, quick_call_s=0)
    assert parse_config(base).reports == ReportSettings(15, 10)
    with pytest.raises(ConfigError) as err:
        parse_config(base + '\n[reports]\ntarget_wait_min = 0\nquick_call_s = "x"\ncolor = 1\n')
    problems = "\n".join(err.value.problems)
    for where in ("reports.target_wait_min", "reports.quick_call_s", "unknown key 'color'"):
        assert where in problems, problems
