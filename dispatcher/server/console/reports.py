"""The monthly report in the console (managers): the figures, the charts (SVG drawn by the
dispatcher), the tables, and the exports — JSON (PROTOCOL's object), CSV, XLSX and a printable
PDF. Page, JSON and files come from one `month_report` dict and one set of tables."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

from aiohttp import web

from dispatcher.domain import booking_report, idle, rating_report, report
from dispatcher.domain.config import Config
from dispatcher.domain.report import month_days
from dispatcher.server import reports
from dispatcher.server.console.accounts import Session
from dispatcher.server.console.site import CONSOLE_KEY, Console, Refused, html, page_context
from dispatcher.server.report_files import tables_csv, tables_xlsx
from dispatcher.server.report_tables import report_tables
from dispatcher.server.reports import month_report

FORMATS = {"json": "application/json", "csv": "text/csv",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
           "pdf": "application/pdf"}


def _month(request: web.Request) -> str:
    console = request.app[CONSOLE_KEY]
    month = request.query.get("month", "")
    if not month:
        return previous_month(console)  # the month just ended: the monthly review
    try:
        first, _ = month_days(month)
    except ValueError:
        raise Refused(400, "bad_month") from None
    if not month.isascii() or first.year < 2000:
        raise Refused(400, "bad_month")
    return month


CACHED_MONTHS = 6


CHARTS = ("days", "hours", "heat")


# The code a report is computed by: a kept report built by other code is built again.
CODE = hashlib.sha1(b"".join(
    Path(str(m.__file__)).read_bytes()
    for m in (report, idle, booking_report, rating_report, reports))).hexdigest()


def report_key(config: Config, fingerprint: tuple[object, ...]) -> str:
    """What a month's report is built from: its data's fingerprint, the config, the code."""
    return hashlib.sha1(f"{fingerprint!r}|{config!r}|{CODE}".encode()).hexdigest()


def report_view(console: Console, month: str) -> dict[str, Any]:
    """The page's report and tables, kept while what they are built from is unchanged (the
    store's fingerprint: imports, tickets, the event log's seq; the config; the code): in
    memory, and in the database so a closed month is built once — the monthly review and the
    page's chart requests share one build. Charts are drawn on their first request."""
    first, last = month_days(month)
    cache = console.report_cache
    today = console.service.clock().astimezone(console.config.center.tz).date()
    fingerprint = console.history.fingerprint(first, last, today)
    kept = cache.get(month)
    if kept is not None and kept[0] == fingerprint:
        return kept[1]
    key = report_key(console.config, fingerprint)
    report = console.history.kept_report(month, key)
    if report is None:
        report = month_report(console.history, console.config, month)
        if last < today:  # a month still running changes with every call: not kept
            console.history.keep_report(month, key, report)
    version = key[:10]
    view = {"report": report, "tables": report_tables(report, console.config),
            "charts": CHARTS if report["tickets"] else (), "version": version, "svg": {}}
    cache[month] = (fingerprint, view)
    while len(cache) > CACHED_MONTHS:
        cache.pop(next(iter(cache)))
    return view


def finished_months(console: Console, months: int = 24) -> list[str]:
    """The finished months with data, newest first, at most `months`."""
    since = console.history.first_day()
    out: list[str] = []
    month = previous_month(console)
    while since is not None and len(out) < months:
        first, last = month_days(month)
        if last < since:
            break
        out.append(month)
        previous = first - dt.timedelta(days=1)
        month = f"{previous.year:04d}-{previous.month:02d}"
    return out


def warm_report(console: Console, month: str) -> bool:
    """Build `month`'s report view unless it is kept already (in memory or in the
    database); True if it was built."""
    first, last = month_days(month)
    today = console.service.clock().astimezone(console.config.center.tz).date()
    fingerprint = console.history.fingerprint(first, last, today)
    kept = console.report_cache.get(month)
    if (kept is not None and kept[0] == fingerprint) or console.history.has_kept_report(
            month, report_key(console.config, fingerprint)):
        return False
    report_view(console, month)
    return True


def chart_svg(console: Console, month: str, kind: str) -> str:
    view = report_view(console, month)
    svg: dict[str, str] = view["svg"]
    if kind not in svg:
        svg[kind] = console.charts.svg(kind, view["report"])
    return svg[kind]


async def report_chart(request: web.Request, session: Session) -> web.Response:
    """One chart of a month's report as an SVG image (its own document: the page's strict
    CSP does not apply to it)."""
    console = request.app[CONSOLE_KEY]
    month = _month(request)
    kind = request.match_info["kind"]
    if kind not in CHARTS:
        raise web.HTTPNotFound()
    text = await asyncio.get_running_loop().run_in_executor(
        console.reports, chart_svg, console, month, kind)
    return web.Response(text=text, content_type="image/svg+xml", headers={
        "Cache-Control": "private, max-age=300", "X-Content-Type-Options": "nosniff"})


def previous_month(console: Console) -> str:
    today = console.service.clock().astimezone(console.config.center.tz).date()
    last = today.replace(day=1) - dt.timedelta(days=1)
    return f"{last.year:04d}-{last.month:02d}"


async def reports_page(request: web.Request, session: Session) -> web.Response:
    console = request.app[CONSOLE_KEY]
    month = _month(request)
    view = await asyncio.get_running_loop().run_in_executor(
        console.reports, report_view, console, month)
    return html(console.render("reports.html", **page_context(request, session, month=month,
                                                               **view)))


async def report_export(request: web.Request, session: Session) -> web.Response:
    console = request.app[CONSOLE_KEY]
    month = _month(request)
    kind = request.match_info["format"]
    if kind not in FORMATS:
        raise web.HTTPNotFound()

    def build() -> bytes:
        report = month_report(console.history, console.config, month)
        if kind == "json":
            return json.dumps(report, ensure_ascii=False).encode()
        tables = report_tables(report, console.config)
        if kind == "csv":
            return tables_csv(tables).encode()
        if kind == "xlsx":
            return tables_xlsx(tables, month)
        return console.charts.pdf(report, tables, console.config.center.name)

    body = await asyncio.get_running_loop().run_in_executor(console.reports, build)
    return web.Response(body=body, content_type=FORMATS[kind], headers={
        "Content-Disposition": f'attachment; filename="qms-report-{month}.{kind}"',
        "Cache-Control": "no-store"})
