"""The monthly report as the CLI, the console and the exports give it: the visits' figures
(dispatcher.domain.report), plus the month's bookings and ratings — the same dict everywhere,
so the page, the JSON and the files never disagree. Reads the database through HistoryStore."""

from __future__ import annotations

import datetime as dt
from typing import Any

from dispatcher.domain.ability import staff_ability
from dispatcher.domain.booking_report import booking_report
from dispatcher.domain.config import Config, SkillLevel
from dispatcher.domain.forecast import Calendar, forecast, staffing
from dispatcher.domain.history import Visit
from dispatcher.domain.idle import idle_while_waiting
from dispatcher.domain.rating_report import rating_report
from dispatcher.domain.report import WEEKDAYS, flag_visits, month_days, monthly_report
from dispatcher.domain.seating import forecast_arrivals, suggest_seating
from dispatcher.domain.whatif import breaks_of, what_if
from dispatcher.server.history import HistoryStore

PROFILE_DAYS = 84  # the staffing hint's hours of issue and service time: the last 12 weeks
STAFFING_GOAL = 0.8  # share of residents called within the target wait


def month_report(store: HistoryStore, config: Config, month: str) -> dict[str, Any]:
    """PROTOCOL's report of `month` with the extras: `bookings` and `ratings` (ValueError for a
    bad month)."""
    first, last = month_days(month)
    visits = store.visits(first, last)
    report = monthly_report(
        month, visits, config.reports, config.center.tz,
        day_start=config.center.day_start,
        departments={s.id: s.department_id for s in config.services.values()})
    staff = {s.id: s for s in config.staff}

    def can_serve(person: str, service: str) -> bool:
        member = staff.get(person)
        return member is None or member.level(service) > SkillLevel.CANNOT

    report["idle"] = idle_while_waiting(visits, can_serve)
    report["bookings"] = booking_report(store.bookings(first, last))
    ratings, tasks = store.ratings(first, last)
    report["ratings"] = rating_report(ratings, tasks)
    return report


def month_forecast(store: HistoryStore, config: Config, month: str) -> dict[str, Any]:
    """PROTOCOL's forecast of `month` from the history before it, with the backtest and the
    staffing hint (windows per hour for `[reports] target_wait_min`, 80 % of residents)."""
    first, _ = month_days(month)
    since = store.first_day()
    daily = store.daily_counts(since, first - dt.timedelta(days=1)) if since else {}
    calendar = Calendar(config.ratings.holidays, config.ratings.workdays)
    result = forecast(daily, month, calendar)
    recent = store.visits(first - dt.timedelta(days=PROFILE_DAYS), first - dt.timedelta(days=1))
    profile: dict[str, list[float]] = {}
    counts: dict[str, list[int]] = {}
    services = [(v.finished_at - v.called_at).total_seconds() for v in recent
                if v.outcome == "done" and v.called_at and v.finished_at]
    for v in recent:
        kind = WEEKDAYS[v.business_day.weekday()]
        counts.setdefault(kind, [0] * 24)[v.issued_at.astimezone(config.center.tz).hour] += 1
    for kind, hours in counts.items():
        whole = sum(hours)
        profile[kind] = [n / whole for n in hours] if whole else [0.0] * 24
    service_s = sum(services) / len(services) if services else 0.0
    result["staffing"] = {
        "goal": STAFFING_GOAL, "target_wait_min": config.reports.target_wait_min,
        "mean_service_s": round(service_s, 1),
        "windows": staffing(result["by_day"], profile, service_s,
                            config.reports.target_wait_min * 60.0, STAFFING_GOAL)
        if service_s else {}}
    return result


def day_what_if(store: HistoryStore, config: Config, day: dt.date, **changes: Any
                ) -> dict[str, Any]:
    """A past day from the database through the simulator with `changes` (see
    dispatcher.domain.whatif.what_if), beside what happened (WhatIfError: a bad change)."""
    visits = sorted(store.visits(day, day), key=lambda v: (v.issued_at, v.number))
    quick, late = flag_visits(visits, config.reports, config.center.tz, config.center.day_start)
    return what_if(config, visits, day, flagged=frozenset(quick | late), **changes)


def day_seating(store: HistoryStore, config: Config, day: dt.date,
                available: list[str] | None = None) -> dict[str, Any]:
    """The seating suggestion for a coming `day` (see dispatcher.domain.seating): the
    forecast of its month, the last 12 weeks' hours, business medians and staff ratios, and
    the lunch break of the last same weekday."""
    month = f"{day.year:04d}-{day.month:02d}"
    first, _ = month_days(month)
    predicted = month_forecast(store, config, month)
    total = predicted["by_day"].get(day.isoformat(), 0.0)
    before = min(first, day) - dt.timedelta(days=1)
    recent = store.visits(before - dt.timedelta(days=PROFILE_DAYS - 1), before)
    hours = [0.0] * 24
    same = [v for v in recent if v.business_day.weekday() == day.weekday()]
    for v in same or recent:
        hours[v.issued_at.astimezone(config.center.tz).hour] += 1
    ability = staff_ability(trusted_visits(recent, config), {s.id: s for s in config.staff})
    ratios = {(person, sid): cell["ratio"] for person, row in ability["staff"].items()
              for sid, cell in row["by_service"].items()}
    last_same = max((v.business_day for v in same), default=None)
    breaks = breaks_of([v for v in same if v.business_day == last_same],
                       config.center.tz) if last_same else []
    arrivals = forecast_arrivals(total, predicted["by_service"], hours, ability["medians"])
    result = suggest_seating(config, arrivals, ratios, day, breaks=breaks, available=available)
    result["forecast_total"] = total
    result["breaks"] = [f"{a // 3600:02d}:{a % 3600 // 60:02d}–{b // 3600:02d}:"
                        f"{b % 3600 // 60:02d}" for a, b in breaks]
    return result


def trusted_visits(visits: list[Visit], config: Config) -> list[Visit]:
    """The visits without those the report flags (careless presses, services past the day's
    end): what staff ability and the seating measure speed from."""
    ordered = sorted(visits, key=lambda v: (v.business_day, v.issued_at, v.number))
    quick, late = flag_visits(ordered, config.reports, config.center.tz,
                              config.center.day_start)
    return [v for i, v in enumerate(ordered) if i not in quick and i not in late]
