"""Planning in the console (managers): the forecast of a coming month with how accurate the
method has been on this center's own history (the backtest against the seasonal-naive
baseline) and the windows needed per hour; the what-if of a past day; and the seating
suggestion for a coming day (computed in the background: it takes half a minute)."""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import datetime as dt
import logging
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from dispatcher.domain.calendar import is_working_day
from dispatcher.domain.report import month_days
from dispatcher.domain.whatif import WhatIfError
from dispatcher.server.console.accounts import Session
from dispatcher.server.console.site import (
    CONSOLE_KEY,
    ROOT,
    Console,
    Refused,
    html,
    page_context,
)
from dispatcher.server.reports import day_seating, day_what_if, month_forecast

log = logging.getLogger(__name__)
CACHED_VIEWS = 12  # months' reports and forecasts kept together
SEATING_KEPT = 4  # seating suggestions kept (finished ones are dropped first)
SEATING_RANGE = dt.timedelta(days=366)  # the seating of a day within a year of today
MAX_STAFF_ID = 64
KINDS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _next_month(console: Console) -> str:
    today = console.service.clock().astimezone(console.config.center.tz).date()
    first = (today.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return f"{first.year:04d}-{first.month:02d}"


def forecast_view(console: Console, month: str) -> dict[str, Any]:
    """The forecast, its chart and its staffing table; kept while the history before the
    month is unchanged."""
    first, _ = month_days(month)
    since = console.history.first_day() or first
    key = f"forecast-{month}"
    today = console.service.clock().astimezone(console.config.center.tz).date()
    fingerprint = console.history.fingerprint(since, first - dt.timedelta(days=1), today)
    kept = console.report_cache.get(key)
    if kept is not None and kept[0] == fingerprint:
        return kept[1]
    result = month_forecast(console.history, console.config, month)
    services = console.config.services
    hours = sorted({h for per in result["staffing"]["windows"].values() for h in per})
    view = {
        "forecast": result,
        "chart": "data:image/svg+xml;base64," + base64.b64encode(
            console.charts.svg_forecast(result).encode()).decode() if result["total"] else "",
        "top": [(services[sid].name if sid in services else sid, sid, value)
                for sid, value in sorted(result["by_service"].items(),
                                         key=lambda kv: -kv[1])[:20]],
        "hours": hours,
        "staffing": [(kind, [result["staffing"]["windows"][kind].get(h) for h in hours])
                     for kind in KINDS if kind in result["staffing"]["windows"]],
    }
    cache = console.report_cache
    cache[key] = (fingerprint, view)
    while len(cache) > CACHED_VIEWS:
        cache.pop(next(iter(cache)))
    return view


async def forecast_page(request: web.Request, session: Session) -> web.Response:
    console = request.app[CONSOLE_KEY]
    month = request.query.get("month", "") or _next_month(console)
    try:
        month_days(month)
    except ValueError:
        raise Refused(400, "bad_month") from None
    view = await asyncio.get_running_loop().run_in_executor(
        console.reports, forecast_view, console, month)
    return html(console.render("forecast.html", **page_context(
        request, session, month=month, kinds=KINDS, **view)))


def _int(request: web.Request, name: str, low: int, high: int) -> int | None:
    text = request.query.get(name, "").strip()
    if not text:
        return None
    if not text.isascii() or not text.isdigit() or not low <= int(text) <= high:
        raise Refused(400, "bad_whatif")
    return int(text)


async def whatif_page(request: web.Request, session: Session) -> web.Response:
    console = request.app[CONSOLE_KEY]
    day_text = request.query.get("day", "")
    policy = request.query.get("policy", "center")
    if policy not in ("center", "fifo"):
        raise Refused(400, "bad_whatif")
    threshold = _int(request, "short_threshold", 0, 99)
    windows = _int(request, "windows", 1, 99)
    result = None
    if day_text:
        try:
            day = dt.date.fromisoformat(day_text)
        except ValueError:
            raise Refused(400, "bad_day") from None

        def build() -> dict[str, Any]:
            return day_what_if(console.history, console.config, day, policy=policy,
                               short_threshold=threshold, windows=windows)

        try:
            result = await asyncio.get_running_loop().run_in_executor(console.reports, build)
        except WhatIfError:
            raise Refused(400, "bad_whatif") from None
    today = console.service.clock().astimezone(console.config.center.tz).date()
    return html(console.render("whatif.html", **page_context(
        request, session, day=day_text or (today - dt.timedelta(days=1)).isoformat(),
        policy=policy, short_threshold=threshold, windows=windows, result=result,
        configured_threshold=console.config.policy.short_threshold,
        configured_windows=len(console.config.windows))))


def _today(console: Console) -> dt.date:
    return console.service.clock().astimezone(console.config.center.tz).date()


def _next_working_day(console: Console, today: dt.date) -> dt.date:
    """The first working day after `today` (the config's holidays and make-up days count)."""
    ratings = console.config.ratings
    day = today + dt.timedelta(days=1)
    while not is_working_day(day, ratings.holidays, ratings.workdays):
        day += dt.timedelta(days=1)
    return day


def _staff_ids(console: Console, ids: list[str]) -> list[str]:
    """`ids` checked against the config's staff (Refused 400 for one it does not have)."""
    known = {s.id for s in console.config.staff}
    for sid in ids:
        if sid not in known:
            raise Refused(400, "unknown_staff", id=sid[:MAX_STAFF_ID])
    return ids


def _seating_key(console: Console, day: dt.date, absent: tuple[str, ...],
                 today: dt.date) -> tuple[object, ...]:
    """What the suggestion is computed from (blocking: SQLite): the day, who is away, and
    the history before the day's month — up to yesterday at most, so that today's calls do
    not restart a half-minute computation (the config is the console's, fixed)."""
    last = min(day.replace(day=1), today) - dt.timedelta(days=1)
    since = console.history.first_day() or last
    return (day, absent, console.history.fingerprint(since, last, today))


def _seating_job(console: Console, key: tuple[object, ...], day: dt.date,
                 available: list[str] | None) -> concurrent.futures.Future[dict[str, Any]]:
    """The job for `key`: the one kept, or a new one on the seating thread."""
    jobs = console.seating_jobs
    job = jobs.get(key)
    if job is None or job.cancelled():
        job = jobs[key] = console.seating.submit(
            lambda: day_seating(console.history, console.config, day, available))
        while len(jobs) > SEATING_KEPT:
            old = next((k for k, f in jobs.items() if f.done()), next(iter(jobs)))
            jobs.pop(old).cancel()
    return job


def _seating_rows(console: Console, result: dict[str, Any]) -> list[dict[str, Any]]:
    """The windows with the configured and the suggested person's names."""
    names = {s.id: s.name for s in console.config.staff}
    green = set(console.config.green_windows)

    def name(sid: str | None) -> str:
        return "—" if sid is None else names.get(sid, sid)

    configured, suggested = result["configured"]["seating"], result["suggested"]["seating"]
    return [{"window": int(w), "green": int(w) in green, "configured": name(configured[w]),
             "suggested": name(suggested.get(w)), "moved": configured[w] != suggested.get(w)}
            for w in configured]


async def seating_page(request: web.Request, session: Session) -> web.Response:
    """The seating suggestion for a coming day; while it is computed the page says so and
    reloads itself every 3 s."""
    console = request.app[CONSOLE_KEY]
    today = _today(console)
    day_text = request.query.get("day", "")
    try:
        day = dt.date.fromisoformat(day_text) if day_text else _next_working_day(console, today)
    except ValueError:
        raise Refused(400, "bad_day") from None
    if abs(day - today) > SEATING_RANGE:
        raise Refused(400, "bad_seating_day")
    staff = [s.id for s in console.config.staff]
    if request.query.get("form") == "staff":  # the page's form: the ticked boxes are at work
        at = set(_staff_ids(console, request.query.getall("at", [])))
        query = {"day": day.isoformat(), "absent": ",".join(s for s in staff if s not in at)}
        raise web.HTTPSeeOther(f"{ROOT}/seating?" + urlencode(
            {k: v for k, v in query.items() if v}, safe=","))
    absent = set(_staff_ids(console, [s for s in request.query.get("absent", "").split(",")
                                      if s]))
    available = [s for s in staff if s not in absent] if absent else None
    key = await asyncio.to_thread(_seating_key, console, day, tuple(sorted(absent)), today)
    job = _seating_job(console, key, day, available)
    result, error = None, None
    if job.done():
        if (exc := job.exception()) is None:
            result = job.result()
        else:
            log.error("seating suggestion for %s failed: %r", day, exc)
            error = str(exc) or type(exc).__name__
            console.seating_jobs.pop(key, None)  # the next request starts it again
    return html(console.render("seating.html", **page_context(
        request, session, day=day.isoformat(), result=result, error=error,
        rows=_seating_rows(console, result) if result else [],
        staff=[(s.id, s.name, s.id not in absent) for s in console.config.staff],
        absent=[s.name for s in console.config.staff if s.id in absent],
        target_wait_min=console.config.reports.target_wait_min)))
