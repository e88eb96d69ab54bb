"""The demo's generated ticket history: deterministic, valid per PROTOCOL.md "History and
reports", open on the right days, and shaped like a real center's (weekly pattern, volume,
no-shows, careless presses, staff who differ)."""

from __future__ import annotations

import datetime as dt
import itertools
import re
import statistics
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from dispatcher.domain.config import SkillLevel
from dispatcher.domain.history import CSV_COLUMNS, parse_history_csv
from qms.config import QmsConfig, default_config_path, load_config
from qms.demo_history import generate_history, history_csv_text, write_history_csv

Row = dict[str, str]
# Three weeks around National Day 2026: the Mid-Autumn holiday (09-25..27), the make-up Sunday
# 09-20, National Day (10-01..07), the make-up Saturday 10-10, ordinary weekends after.
THREE_WEEKS = (dt.date(2026, 9, 14), dt.date(2026, 10, 18))
EIGHT_WEEKS = (dt.date(2026, 10, 19), dt.date(2026, 12, 13))  # Mon … Sun, no public holiday


def secs(hms: str) -> int:
    h, m, s = (int(x) for x in hms.split(":"))
    return h * 3600 + m * 60 + s


@pytest.fixture(scope="module")
def config() -> QmsConfig:
    return load_config(default_config_path())


@pytest.fixture(scope="module")
def rows(config: QmsConfig) -> list[Row]:
    return list(generate_history(config, *THREE_WEEKS))


@pytest.fixture(scope="module")
def long_rows(config: QmsConfig) -> list[Row]:
    return list(generate_history(config, *EIGHT_WEEKS))


def by_day(rows: list[Row]) -> dict[dt.date, list[Row]]:
    days: dict[dt.date, list[Row]] = defaultdict(list)
    for r in rows:
        days[dt.date.fromisoformat(r["date"])].append(r)
    return days


def test_same_seed_same_rows_other_seed_other_rows(config: QmsConfig, rows: list[Row]) -> None:
    again = list(generate_history(config, *THREE_WEEKS))
    assert again == rows
    other = list(generate_history(config, *THREE_WEEKS, seed=7))
    assert other != rows
    # A day is the same whatever range it is generated in.
    day = dt.date(2026, 10, 12)
    assert list(generate_history(config, day, day)) == [r for r in rows
                                                        if r["date"] == day.isoformat()]


def test_rows_import_cleanly(config: QmsConfig, rows: list[Row]) -> None:
    assert rows
    assert all(tuple(r) == CSV_COLUMNS for r in rows)
    assert all(isinstance(v, str) for r in rows for v in r.values())
    text = history_csv_text(rows)
    assert text.splitlines()[0] == ",".join(CSV_COLUMNS)
    visits, problems = parse_history_csv(text, config.services, config.center.tz)
    assert problems == []
    assert len(visits) == len(rows)


def test_outcomes_and_their_empty_fields(rows: list[Row]) -> None:
    outcomes = Counter(r["outcome"] for r in rows)
    assert set(outcomes) == {"done", "no_show", "cancelled"}
    for r in rows:
        filled = {k for k in ("called_at", "finished_at", "window", "staff_id") if r[k]}
        assert r["issued_at"]
        if r["outcome"] == "done":
            assert filled == {"called_at", "finished_at", "window", "staff_id"}, r
        elif r["outcome"] == "no_show":
            assert filled == {"called_at", "window", "staff_id"}, r
        else:
            assert filled == set(), r


def test_times_in_order_and_in_opening_hours(rows: list[Row]) -> None:
    for r in rows:
        issued = secs(r["issued_at"])
        assert 8 * 3600 + 20 * 60 <= issued <= 16 * 3600 + 30 * 60, r
        if r["called_at"]:
            called = secs(r["called_at"])
            assert issued <= called, r
            if 12 * 3600 <= called < 13 * 3600 + 30 * 60:  # lunch: the morning's hall only
                assert issued < 12 * 3600, r
            if r["finished_at"]:
                assert called <= secs(r["finished_at"]) <= 18 * 3600, r


def test_days_in_order_tickets_in_issue_order(rows: list[Row]) -> None:
    keys = [(r["date"], r["issued_at"]) for r in rows]
    assert keys == sorted(keys)


def test_numbers_are_prefix_and_three_digits_unique_per_day(config: QmsConfig,
                                                            rows: list[Row]) -> None:
    seen: set[tuple[str, str]] = set()
    last: dict[tuple[str, str], int] = {}
    for r in rows:
        m = re.fullmatch(r"([A-Z])([0-9]{3})", r["number"])
        assert m, r
        assert m.group(1) == config.services[r["service_id"]].prefix
        key = (r["date"], r["number"])
        assert key not in seen
        seen.add(key)
        # numbers restart each day per prefix and go up one by one in issue order
        day_prefix = (r["date"], m.group(1))
        assert int(m.group(2)) == last.get(day_prefix, 0) + 1
        last[day_prefix] = int(m.group(2))


def test_windows_and_staff_exist_and_staff_can_do_the_business(config: QmsConfig,
                                                               rows: list[Row]) -> None:
    windows = {str(w.number) for w in config.windows}
    staff = {s.id: s for s in config.staff}
    for r in rows:
        if r["outcome"] == "cancelled":
            continue
        assert r["window"] in windows
        assert r["staff_id"] in staff
        assert staff[r["staff_id"]].level(r["service_id"]) >= SkillLevel.LOW, r
    s08 = {r["service_id"].split("-")[0] for r in rows if r["staff_id"] == "s08"}
    assert s08 and s08 <= {"yibao", "shebao", "yiwang", "jiuye"}


def test_closed_on_holidays_open_on_make_up_days_saturday_mornings(rows: list[Row]) -> None:
    days = by_day(rows)
    national_day = [dt.date(2026, 10, d) for d in range(1, 8)]
    assert not any(d in days for d in national_day)
    assert not any(dt.date(2026, 9, d) in days for d in (25, 26, 27))  # Mid-Autumn
    assert dt.date(2026, 10, 18) not in days  # a Sunday
    assert dt.date(2026, 9, 20) in days  # a make-up Sunday
    makeup = days[dt.date(2026, 10, 10)]  # make-up Saturday: a full day
    assert len(makeup) > 300
    assert max(secs(r["issued_at"]) for r in makeup) > 15 * 3600
    saturday = days[dt.date(2026, 10, 17)]  # an ordinary Saturday: the service morning
    weekday = days[dt.date(2026, 10, 16)]
    assert 0 < len(saturday) < 0.6 * len(weekday)
    assert max(secs(r["issued_at"]) for r in saturday) <= 11 * 3600 + 15 * 60
    assert max(secs(r["finished_at"]) for r in saturday if r["finished_at"]) < 13 * 3600
    assert {int(r["window"]) for r in saturday if r["window"]} <= {1, 2, 3, 4, 5, 6}


def test_weekly_pattern_and_daily_mean(config: QmsConfig, long_rows: list[Row]) -> None:
    counts = {d: len(v) for d, v in by_day(long_rows).items()}
    weekdays: dict[int, list[int]] = defaultdict(list)
    for d, n in counts.items():
        weekdays[d.weekday()].append(n)
    assert len(weekdays[0]) == len(weekdays[4]) == 8
    assert statistics.mean(weekdays[0]) > statistics.mean(weekdays[4])
    assert statistics.mean(weekdays[0]) > statistics.mean(weekdays[2])
    working = [n for d, n in counts.items() if d.weekday() < 5]
    assert abs(statistics.mean(working) - 600) < 0.25 * 600
    assert statistics.mean(weekdays[5]) < 0.5 * statistics.mean(working)
    assert 6 not in weekdays  # no make-up Sunday in these weeks
    # daily_mean scales the volume
    week = (dt.date(2026, 10, 19), dt.date(2026, 10, 25))
    small = list(generate_history(config, *week, daily_mean=150.0))
    assert 0.15 < len(small) / sum(counts.get(week[0] + dt.timedelta(days=i), 0)
                                   for i in range(7)) < 0.4


def test_no_shows_cancellations_and_anomalies(long_rows: list[Row]) -> None:
    outcomes = Counter(r["outcome"] for r in long_rows)
    called = outcomes["done"] + outcomes["no_show"]
    assert 0.02 < outcomes["no_show"] / called < 0.07
    assert 0.003 < outcomes["cancelled"] / len(long_rows) < 0.025
    # careless double presses: a window's next call 2–5 s after the previous one
    calls: dict[tuple[str, str], list[int]] = defaultdict(list)
    for r in long_rows:
        if r["called_at"]:
            calls[(r["date"], r["window"])].append(secs(r["called_at"]))
    quick = 0
    for times in calls.values():
        times.sort()
        quick += sum(1 for a, b in itertools.pairwise(times) if b - a <= 10)
    assert 0.0005 < quick / called < 0.008
    # a few services a month run on after closing
    late = {r["date"] for r in long_rows if r["finished_at"]
            and secs(r["finished_at"]) >= 17 * 3600 + 15 * 60}
    assert 1 <= len(late) <= 15


def test_staff_differ_in_speed(config: QmsConfig, long_rows: list[Row]) -> None:
    ratios: dict[str, list[float]] = defaultdict(list)
    for r in long_rows:
        if r["outcome"] != "done":
            continue
        service = secs(r["finished_at"]) - secs(r["called_at"])
        if service < 20 or secs(r["finished_at"]) > 17 * 3600:
            continue  # careless presses, services after closing
        ratios[r["staff_id"]].append(service / (config.services[r["service_id"]].minutes * 60))
    means = {s: statistics.mean(v) for s, v in ratios.items() if len(v) > 200}
    assert len(means) >= 8
    assert max(means.values()) / min(means.values()) > 1.2


def test_green_windows_take_short_business_first(config: QmsConfig,
                                                 long_rows: list[Row]) -> None:
    short = {sid for sid, s in config.services.items() if s.short_high_freq}
    green = {str(n) for n in config.green_windows}

    def share(rows: list[Row]) -> float:
        return sum(r["service_id"] in short for r in rows) / len(rows)

    served = [r for r in long_rows if r["outcome"] == "done"]
    assert share([r for r in served if r["window"] in green]) > \
        share([r for r in served if r["window"] not in green]) + 0.05


def test_write_history_csv(config: QmsConfig, tmp_path: Path) -> None:
    day = dt.date(2026, 10, 12)
    rows = list(generate_history(config, day, day))
    path = tmp_path / "history.csv"
    assert write_history_csv(path, iter(rows)) == len(rows) > 0
    text = path.read_bytes().decode("utf-8")
    assert text == history_csv_text(rows)
    assert text.splitlines()[0] == "date,number,service_id,issued_at,called_at,finished_at," \
        "window,staff_id,outcome"
    assert len(text.splitlines()) == len(rows) + 1


def test_empty_range(config: QmsConfig) -> None:
    assert list(generate_history(config, dt.date(2026, 10, 2), dt.date(2026, 10, 1))) == []
    assert list(generate_history(config, dt.date(2026, 10, 1), dt.date(2026, 10, 7))) == []
    assert history_csv_text([]) == ",".join(CSV_COLUMNS) + "\n"


def test_the_demo_seeds_its_history_once_and_forecast_reads_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`qms demo` imports generated history when the database has none (here 120 days, the
    demo does 365); `qms forecast --json` then prints PROTOCOL's object."""
    import json

    from qms.cli import main
    from qms.demo_history import seed_demo_history

    db = tmp_path / "qms.db"
    config_file = Path(__file__).resolve().parent.parent / "examples" / "center.toml"
    config = load_config(config_file)
    added = seed_demo_history(db, config, dt.date(2026, 11, 1), days=120)
    assert added > 10_000
    assert seed_demo_history(db, config, dt.date(2026, 11, 1), days=120) == 0  # once
    capsys.readouterr()
    assert main(["forecast", "--config", str(config_file), "--db", str(db), "--month",
                 "2026-11", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) >= {"month", "method", "total", "by_day", "by_service", "backtest"}
    assert set(result["backtest"]) >= {"months", "wape", "baseline_wape"}
    assert result["month"] == "2026-11" and result["total"] > 5000
    assert len(result["by_day"]) == 30 and result["by_day"]["2026-11-01"] == 0.0  # a Sunday
    assert result["staffing"]["windows"]["mon"]["09"] >= 1
    assert main(["forecast", "--config", str(config_file), "--db", str(db), "--month",
                 "2026-13"]) == 2
