"""The next month's tickets, per day and per business, from the center's own history. Pure.

Method `seasonal-level` (multiplicative):

    forecast(day) = level × weekday(day) × season(month) ÷ season(level window) × around(day)

- *open days*: working days (`calendar.is_working_day`: the national table plus the config),
  and ordinary Saturdays when the history shows the center opens on Saturdays. Closed days
  (public holidays, Sundays) are forecast 0.
- *weekday*: the mean of each kind of day (Mon … Fri, Saturday, make-up Saturday counted as a
  mid-week day) over the last 26 weeks, relative to the weekday mean.
- *around*: the days just before and after a closure of 3 days or more (the Spring Festival,
  National Day) — their ratio to what the rest of the model expects, measured in the history
  (1 when it holds fewer than 3 such days).
- *level*: the mean over the last 8 weeks before the month of each open day's tickets divided
  by its weekday and around factors.
- *season*: with 11 months of history or more, the mean adjusted volume of each calendar month
  relative to the year's; the level window's own season is divided out. With less, 1.
- *per business*: the month's total shared as in the last 12 weeks.
- *interval*: the 10 % and 90 % quantiles of actual ÷ forecast per day in the backtest,
  applied to each day; the month total's interval from the largest backtest month error.

Baseline (PROTOCOL.md): each day forecast as the mean of the same weekday on the last 4 open
days of that weekday before the month; closed days 0. Backtest: each of the last months with
8 weeks of history before it, forecast from the history before it alone. WAPE =
Σ|forecast − actual| ÷ Σ actual over the month's days (daily totals).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from dispatcher.domain.calendar import TABLE_YEARS, is_holiday, is_working_day
from dispatcher.domain.report import month_days as month_span

METHOD = "seasonal-level"
LEVEL_DAYS = 56  # the level: the last 8 weeks
WEEKDAY_DAYS = 182  # weekday factors: the last 26 weeks
SHARE_DAYS = 84  # business shares: the last 12 weeks
AROUND_SPAN = 3  # a closure this long or longer marks the days around it
SEASON_MONTHS = 11  # months of history needed for the monthly pattern
BACKTEST_MONTHS = 6

Daily = Mapping[dt.date, Mapping[str, int]]  # day → business → tickets


@dataclass(frozen=True)
class Calendar:
    """The config's own days (they win over the national table)."""

    holidays: Collection[dt.date] = frozenset()
    workdays: Collection[dt.date] = frozenset()


def month_days(month: str) -> list[dt.date]:
    """The days of "YYYY-MM" (ValueError for anything else)."""
    first, last = month_span(month)
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def _totals(daily: Daily) -> dict[dt.date, int]:
    return {d: sum(v.values()) for d, v in daily.items() if sum(v.values()) > 0}


class _Days:
    """Which days are open and what kind each is, from the calendar and the history."""

    def __init__(self, totals: Mapping[dt.date, int], calendar: Calendar) -> None:
        self.calendar = calendar
        # Opens on ordinary Saturdays: at least 2 of the last 26 weeks' had tickets.
        last = max(totals, default=dt.date.min)
        recent = [d for d in totals if d.weekday() == 5 and not self.working(d)
                  and totals[d] > 0 and (last - d).days <= WEEKDAY_DAYS]
        self.saturdays = len(recent) >= 2

    def working(self, day: dt.date) -> bool:
        return is_working_day(day, self.calendar.holidays, self.calendar.workdays)

    def is_open(self, day: dt.date) -> bool:
        if self.working(day):
            return True
        return self.saturdays and day.weekday() == 5 and \
            not is_holiday(day, self.calendar.holidays)

    def kind(self, day: dt.date) -> str:
        """mon … fri, sat (a Saturday morning), work (a make-up weekend day: a full day)."""
        if day.weekday() >= 5:
            return "work" if self.working(day) else "sat"
        return ("mon", "tue", "wed", "thu", "fri")[day.weekday()]

    def around(self, day: dt.date) -> bool:
        """Next to a closure of AROUND_SPAN days or more (first open day after, last before)."""
        for step in (-1, 1):
            run, d = 0, day + dt.timedelta(days=step)
            while not self.working(d) and run < 15:
                run += 1
                d += dt.timedelta(days=step)
            if run >= AROUND_SPAN:
                return True
        return False


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


@dataclass(frozen=True)
class _Model:
    level: float
    weekday: dict[str, float]
    season: dict[int, float]
    around: float
    shares: dict[str, float]


def _fit(daily: Daily, before: dt.date, calendar: Calendar) -> _Model | None:
    """The model from the history before `before` (None: too little history)."""
    totals = {d: n for d, n in _totals(daily).items() if d < before}
    if not totals:
        return None
    days = _Days(totals, calendar)
    first = min(totals)
    weekday_from = before - dt.timedelta(days=WEEKDAY_DAYS)
    by_kind: dict[str, list[float]] = {}
    for d, n in totals.items():
        if d >= weekday_from and days.is_open(d) and not days.around(d):
            by_kind.setdefault(days.kind(d), []).append(n)
    weekdays = [n for k in ("mon", "tue", "wed", "thu", "fri") for n in by_kind.get(k, [])]
    base = _mean(weekdays)
    if base <= 0:
        return None
    weekday = {k: (_mean(v) / base if v else 1.0) for k, v in by_kind.items()}
    for k in ("mon", "tue", "wed", "thu", "fri"):
        weekday.setdefault(k, 1.0)
    weekday.setdefault("sat", 0.3)
    weekday["work"] = 1.0

    def plain(d: dt.date) -> float:
        return totals[d] / weekday.get(days.kind(d), 1.0)

    # Around closures: the measured ratio to the days' level (their 4 weeks' plain mean).
    ratios = []
    for d in totals:
        if days.is_open(d) and days.around(d):
            near = [plain(x) for x in totals if abs((x - d).days) <= 28 and x != d
                    and days.is_open(x) and not days.around(x)]
            if near:
                ratios.append(plain(d) / _mean(near))
    around = _mean(ratios) if len(ratios) >= 3 else 1.0

    def adjusted(d: dt.date) -> float:
        return plain(d) / (around if days.around(d) else 1.0)

    season: dict[int, float] = {}
    months_seen = (before.year - first.year) * 12 + before.month - first.month
    if months_seen >= SEASON_MONTHS:
        year_from = before - dt.timedelta(days=365)
        per_month: dict[int, list[float]] = {}
        for d in totals:
            if d >= year_from and days.is_open(d):
                per_month.setdefault(d.month, []).append(adjusted(d))
        year_mean = _mean([_mean(v) for v in per_month.values()])
        if year_mean > 0:
            season = {m: _mean(v) / year_mean for m, v in per_month.items()}
    level_from = before - dt.timedelta(days=LEVEL_DAYS)
    window = [d for d in totals if d >= level_from and days.is_open(d)]
    if not window:
        return None
    level = _mean([adjusted(d) for d in window])
    if season:
        level /= _mean([season.get(d.month, 1.0) for d in window])
    share_from = before - dt.timedelta(days=SHARE_DAYS)
    counts: dict[str, int] = {}
    for d, per in daily.items():
        if share_from <= d < before:
            for sid, n in per.items():
                counts[sid] = counts.get(sid, 0) + n
    whole = sum(counts.values())
    shares = {sid: n / whole for sid, n in sorted(counts.items())} if whole else {}
    return _Model(level, weekday, season, around, shares)


def _predict(model: _Model, days: _Days, month: list[dt.date]) -> dict[dt.date, float]:
    out = {}
    for d in month:
        if not days.is_open(d):
            out[d] = 0.0
            continue
        value = model.level * model.weekday.get(days.kind(d), 1.0) \
            * model.season.get(d.month, 1.0) * (model.around if days.around(d) else 1.0)
        out[d] = value
    return out


def baseline(daily: Daily, month: list[dt.date], calendar: Calendar) -> dict[dt.date, float]:
    """PROTOCOL's seasonal-naive baseline: the mean of the same weekday's last 4 open days
    before the month; closed days 0."""
    totals = _totals(daily)
    days = _Days({d: n for d, n in totals.items() if d < month[0]}, calendar)
    out = {}
    for d in month:
        if not days.is_open(d):
            out[d] = 0.0
            continue
        last = month[0] - dt.timedelta(days=(month[0].weekday() - d.weekday() - 1) % 7 + 1)
        same = [totals[x] for x in (last - dt.timedelta(weeks=k) for k in range(26))
                if x in totals][:4]
        out[d] = _mean([float(n) for n in same])
    return out


def wape(forecast: Mapping[dt.date, float], actual: Mapping[dt.date, int]) -> float | None:
    """Σ|forecast − actual| ÷ Σ actual over the forecast's days (None when nothing happened)."""
    whole = sum(actual.get(d, 0) for d in forecast)
    if whole <= 0:
        return None
    return sum(abs(f - actual.get(d, 0)) for d, f in forecast.items()) / whole


def _month_of(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _previous(month: str, n: int) -> str:
    y, m = int(month[:4]), int(month[5:])
    index = y * 12 + (m - 1) - n
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def backtest(daily: Daily, month: str, calendar: Calendar,
             months: int = BACKTEST_MONTHS) -> dict[str, Any]:
    """The method and the baseline on each of the last `months` months before `month` that
    have 8 weeks of history before them and tickets in them."""
    totals = _totals(daily)
    if not totals:
        return {"months": [], "wape": None, "baseline_wape": None, "_ratios": [],
                "_month_errors": []}
    first, last = min(totals), max(totals)
    rows: list[dict[str, Any]] = []
    errors: list[float] = []
    f_sum, b_sum, a_sum = 0.0, 0.0, 0
    month_errors: list[float] = []
    for back in range(months, 0, -1):
        name = _previous(month, back)
        days_ = month_days(name)
        if (days_[0] - first).days < LEVEL_DAYS:
            continue  # too little history before it
        seen = _Days(totals, calendar)
        if any(seen.is_open(d) for d in days_ if d > last):
            continue  # not over yet: open days still to come
        actual = {d: totals.get(d, 0) for d in days_}
        if sum(actual.values()) == 0:
            continue
        model = _fit(daily, days_[0], calendar)
        if model is None:
            continue
        known = _Days({d: n for d, n in totals.items() if d < days_[0]}, calendar)
        f = _predict(model, known, days_)
        b = baseline(daily, days_, calendar)
        fw, bw = wape(f, actual), wape(b, actual)
        rows.append({"month": name, "wape": round(fw or 0.0, 4),
                     "baseline_wape": round(bw or 0.0, 4)})
        f_sum += sum(abs(f[d] - actual[d]) for d in days_)
        b_sum += sum(abs(b[d] - actual[d]) for d in days_)
        a_sum += sum(actual.values())
        errors.extend(actual[d] / f[d] for d in days_ if f[d] > 0 and actual[d] > 0)
        month_errors.append(abs(sum(actual.values()) / max(sum(f.values()), 1e-9) - 1))
    return {"months": rows,
            "wape": round(f_sum / a_sum, 4) if a_sum else None,
            "baseline_wape": round(b_sum / a_sum, 4) if a_sum else None,
            "_ratios": errors, "_month_errors": month_errors}


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def forecast(daily: Daily, month: str, calendar: Calendar) -> dict[str, Any]:
    """PROTOCOL's forecast object for `month` from the history before it (ValueError for a
    bad month), with intervals and the backtest."""
    days_ = month_days(month)
    totals = _totals(daily)
    model = _fit(daily, days_[0], calendar)
    known = _Days({d: n for d, n in totals.items() if d < days_[0]}, calendar)
    by_day = _predict(model, known, days_) if model else {d: 0.0 for d in days_}
    test = backtest(daily, month, calendar)
    ratios: list[float] = test.pop("_ratios")
    month_errors: list[float] = test.pop("_month_errors")
    lo, hi = (_quantile(ratios, 0.1), _quantile(ratios, 0.9)) if len(ratios) >= 20 \
        else (0.8, 1.2)
    spread = max([0.05, *month_errors])
    total = sum(by_day.values())
    shares = model.shares if model else {}
    return {
        "month": month, "method": METHOD, "total": round(total, 1),
        "total_interval": [round(total * (1 - spread), 1), round(total * (1 + spread), 1)],
        "by_day": {d.isoformat(): round(v, 1) for d, v in by_day.items()},
        "by_day_interval": {d.isoformat(): [round(v * lo, 1), round(v * hi, 1)]
                            for d, v in by_day.items()},
        "by_service": {sid: round(total * share, 1) for sid, share in shares.items()},
        "backtest": test,
        # False: neither the shipped table nor the config lists this year's holidays yet
        "holidays_known": calendar_covers(days_[0].year, calendar),
    }


def calendar_covers(year: int, calendar: Calendar) -> bool:
    """Are `year`'s public holidays known: in the shipped table, or listed in the config?"""
    return year in TABLE_YEARS or any(d.year == year for d in calendar.holidays)


# -- staffing: windows needed per hour (Erlang C) ---------------------------------------------


def erlang_c(servers: int, load: float) -> float:
    """The probability that an arrival waits (M/M/c), `load` = arrival rate × service time;
    1 when the windows cannot keep up."""
    if servers <= load:
        return 1.0
    term, total = 1.0, 1.0
    for k in range(1, servers):
        term *= load / k
        total += term
    last = term * load / servers * servers / (servers - load)
    return last / (total + last)


def within_target(servers: int, per_hour: float, service_s: float, target_s: float) -> float:
    """The share called within `target_s` (M/M/c): 1 − C·e^(−(c − a)·t/s)."""
    load = per_hour * service_s / 3600
    if servers <= load:
        return 0.0
    return 1 - erlang_c(servers, load) * math.exp(-(servers - load) * target_s / service_s)


def windows_needed(per_hour: float, service_s: float, target_s: float, goal: float,
                   most: int = 60) -> int:
    """The fewest windows that call `goal` of the residents within `target_s`."""
    if per_hour <= 0:
        return 0
    for servers in range(1, most + 1):
        if within_target(servers, per_hour, service_s, target_s) >= goal:
            return servers
    return most


def staffing(by_day: Mapping[str, float], profile: Mapping[str, list[float]],
             service_s: float, target_s: float, goal: float = 0.8) -> dict[str, dict[str, int]]:
    """Windows needed per hour of a typical day of each kind (mon … sat) of the forecast
    month: the kind's mean forecast × its share of each hour (`profile`, 24 shares)."""
    per_kind: dict[str, list[float]] = {}
    for day, value in by_day.items():
        if value > 0:
            kind = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[
                dt.date.fromisoformat(day).weekday()]
            per_kind.setdefault(kind, []).append(value)
    out: dict[str, dict[str, int]] = {}
    for kind, values in per_kind.items():
        shares = profile.get(kind) or profile.get("all") or []
        daily = _mean(values)
        out[kind] = {f"{h:02d}": windows_needed(daily * share, service_s, target_s, goal)
                     for h, share in enumerate(shares) if share > 0}
    return out
