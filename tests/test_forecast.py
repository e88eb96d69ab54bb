"""The forecast: PROTOCOL's baseline and WAPE computed by hand on a tiny history, closed days
forecast 0, make-up Saturdays forecast as full days, and the method beating the baseline on
histories of shapes it was never tuned on."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from dispatcher.domain.calendar import is_working_day
from dispatcher.domain.forecast import Calendar, baseline, forecast, month_days, wape


def test_a_month_is_yyyy_mm() -> None:
    assert len(month_days("2026-02")) == 28 and month_days("2024-02")[-1].day == 29
    for bad in ("2026-13", "2026-1", "26-01", "2026/01", ""):
        with pytest.raises(ValueError):
            month_days(bad)


def test_the_baseline_is_the_mean_of_the_last_four_open_same_weekdays() -> None:
    # Mondays before December 2026: 11-30 (100), 11-23 (200), 11-16 closed (no tickets),
    # 11-09 (300), 11-02 (400), 10-26 (999: the fifth, not used).
    daily = {dt.date(2026, 11, 30): {"a": 100}, dt.date(2026, 11, 23): {"a": 150, "b": 50},
             dt.date(2026, 11, 9): {"a": 300}, dt.date(2026, 11, 2): {"a": 400},
             dt.date(2026, 10, 26): {"a": 999}, dt.date(2026, 11, 27): {"a": 80}}
    december = month_days("2026-12")
    b = baseline(daily, december, Calendar())
    assert b[dt.date(2026, 12, 7)] == (100 + 200 + 300 + 400) / 4  # a Monday
    assert b[dt.date(2026, 12, 4)] == 80.0  # a Friday: one Friday open before
    assert b[dt.date(2026, 12, 6)] == 0.0  # Sunday: closed
    b = baseline(daily, december, Calendar(holidays={dt.date(2026, 12, 7)}))
    assert b[dt.date(2026, 12, 7)] == 0.0  # the center's own holiday: closed


def test_wape_is_the_absolute_error_over_the_actual_total() -> None:
    days = [dt.date(2026, 12, d) for d in (1, 2, 3)]
    f = {days[0]: 110.0, days[1]: 90.0, days[2]: 0.0}
    a = {days[0]: 100, days[1]: 100, days[2]: 50}
    assert wape(f, a) == pytest.approx((10 + 10 + 50) / 250)
    assert wape(f, {}) is None


def synthetic(seed: int, weekly: list[float], season: dict[int, float], trend: float,
              saturdays: bool, noise: float, mean: float) -> dict[dt.date, dict[str, int]]:
    """Two years of daily tickets with a shape of its own (not the demo's)."""
    rng = random.Random(seed)
    daily: dict[dt.date, dict[str, int]] = {}
    day = dt.date(2024, 11, 1)
    while day < dt.date(2026, 11, 1):
        years = (day - dt.date(2024, 11, 1)).days / 365
        if is_working_day(day):
            mu = mean * weekly[min(day.weekday(), 4)] * season[day.month] * (1 + trend * years)
            n = max(0, round(rng.gauss(mu, mu * noise)))
            daily[day] = {"x": n * 2 // 3, "y": n - n * 2 // 3}
        elif saturdays and day.weekday() == 5:
            daily[day] = {"x": max(0, round(rng.gauss(mean * 0.3, mean * 0.03)))}
        day += dt.timedelta(days=1)
    return daily


FLAT = {m: 1.0 for m in range(1, 13)}
SHAPES = [
    ("busy Mondays, seasons, growth", 11, [1.3, 1.1, 1.0, 0.9, 0.8],
     {**FLAT, 1: 1.2, 2: 0.75, 8: 0.8, 12: 1.25}, 0.08, True, 0.10, 500),
    ("flat week, shrinking, no Saturdays", 12, [1.0, 1.0, 1.0, 1.0, 1.0],
     {**FLAT, 3: 1.15, 7: 0.85}, -0.05, False, 0.08, 300),
    ("busy Fridays, small center", 13, [0.8, 0.9, 1.0, 1.1, 1.3], FLAT, 0.0, True, 0.15, 120),
]


@pytest.mark.parametrize("shape", SHAPES, ids=[s[0] for s in SHAPES])
def test_the_method_beats_the_baseline_on_histories_it_never_saw(shape: tuple) -> None:  # type: ignore[type-arg]
    _, seed, weekly, season, trend, saturdays, noise, mean = shape
    daily = synthetic(seed, weekly, season, trend, saturdays, noise, mean)
    result = forecast(daily, "2026-11", Calendar())
    test = result["backtest"]
    assert len(test["months"]) == 6
    assert test["wape"] < 0.85 * test["baseline_wape"], test


def test_closed_days_are_zero_and_a_make_up_saturday_is_a_full_day() -> None:
    daily = synthetic(*SHAPES[0][1:])
    october = forecast(daily, "2026-10", Calendar())
    by_day = october["by_day"]
    assert all(by_day[f"2026-10-0{d}"] == 0.0 for d in range(1, 8))  # 国庆
    assert by_day["2026-10-10"] > 2 * by_day["2026-10-17"] > 0  # make-up vs ordinary Saturday
    assert by_day["2026-10-11"] == 0.0  # Sunday
    assert october["total"] == pytest.approx(sum(by_day.values()), abs=1)
    assert sum(october["by_service"].values()) == pytest.approx(october["total"], abs=1)
    lo, hi = october["total_interval"]
    assert lo < october["total"] < hi
    assert set(october) >= {"month", "method", "total", "by_day", "by_service", "backtest"}


def test_a_year_whose_holidays_are_not_listed_is_said_so_until_the_config_lists_them() -> None:
    daily = synthetic(*SHAPES[0][1:])
    assert forecast(daily, "2026-10", Calendar())["holidays_known"]
    assert not forecast(daily, "2027-01", Calendar())["holidays_known"]
    listed = Calendar(holidays=frozenset({dt.date(2027, 1, 1)}))
    assert forecast(daily, "2027-01", listed)["holidays_known"]


def test_too_little_history_forecasts_nothing_rather_than_inventing() -> None:
    result = forecast({}, "2026-12", Calendar())
    assert result["total"] == 0.0 and result["backtest"]["months"] == []


def test_erlang_c_matches_the_textbook_values() -> None:
    from dispatcher.domain.forecast import erlang_c, windows_needed, within_target

    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)  # A²/2!·2/(2−1) ÷ (1 + 1 + 1)
    assert erlang_c(1, 0.5) == pytest.approx(0.5)  # M/M/1: ρ
    assert erlang_c(3, 3.0) == 1.0  # cannot keep up
    # 60 residents an hour, 5 min each (load 5): 6 windows call 80 % within 15 min?
    assert within_target(6, 60, 300, 900) > 0.8 > within_target(5, 60, 300, 900)
    assert windows_needed(60, 300, 900, 0.8) == 6
    assert windows_needed(0, 300, 900, 0.8) == 0


def test_the_method_beats_the_baseline_on_the_example_centers_history() -> None:
    """A year of the demo's history (its own weekly and yearly patterns, the holidays, day
    noise of about 19 %): the backtest over its last complete months."""
    from pathlib import Path

    from qms.config import load_config
    from qms.demo_history import generate_history

    config = load_config(Path(__file__).resolve().parent.parent / "examples" / "center.toml")
    daily: dict[dt.date, dict[str, int]] = {}
    for row in generate_history(config, dt.date(2025, 11, 1), dt.date(2026, 10, 31)):
        per = daily.setdefault(dt.date.fromisoformat(row["date"]), {})
        per[row["service_id"]] = per.get(row["service_id"], 0) + 1
    test = forecast(daily, "2026-11", Calendar())["backtest"]
    assert len(test["months"]) >= 4
    assert test["wape"] < 0.9 * test["baseline_wape"], test
