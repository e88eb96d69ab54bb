"""Planning in the console (managers): the forecast of a coming month with how accurate the
method has been on this center's own history (the backtest against the seasonal-naive
baseline) and the windows needed per hour; and the what-if of a past day."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
from typing import Any

from aiohttp import web

from dispatcher.domain.report import month_days
from dispatcher.domain.whatif import WhatIfError
from dispatcher.server.console.accounts import Session
from dispatcher.server.console.site import CONSOLE_KEY, Console, Refused, html, page_context
from dispatcher.server.reports import day_what_if, month_forecast

CACHED_VIEWS = 12  # months' reports and forecasts kept together
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
