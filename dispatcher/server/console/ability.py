"""全岗通 in the console (managers): each staff member's measured speed per business against the
center's median, as a matrix of the staff and the businesses served, a page per person, and
the suggestions where the data disagree with the configured skill levels (the manager edits the
config; nothing changes by itself). Built from the history in the reports' executor."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from aiohttp import web

from dispatcher.domain.ability import staff_ability
from dispatcher.server.console import ability_view
from dispatcher.server.console.accounts import Session
from dispatcher.server.console.site import CONSOLE_KEY, Console, Refused, html, page_context
from dispatcher.server.reports import trusted_visits

MAX_STAFF_ID = 64


def _months(request: web.Request) -> int:
    text = request.query.get("months", "")
    if not text:
        return ability_view.DEFAULT_MONTHS
    if not text.isascii() or not text.isdigit() or len(text) > 2 \
            or not 1 <= int(text) <= ability_view.MAX_MONTHS:
        raise Refused(400, "bad_months", n=ability_view.MAX_MONTHS)
    return int(text)


def _period(console: Console, months: int) -> tuple[dt.date, dt.date]:
    today = console.service.clock().astimezone(console.config.center.tz).date()
    return ability_view.period(today, months)


def _ability(console: Console, first: dt.date, last: dt.date) -> dict[str, Any]:
    """The analysis of the period (blocking: SQLite reads; run in the reports' executor)."""
    visits = trusted_visits(console.history.visits(first, last), console.config)
    ratings, _ = console.history.ratings(first, last)
    return staff_ability(visits, {s.id: s for s in console.config.staff},
                         ability_view.ratings_by_staff(ratings))


def _context(months: int, first: dt.date, last: dt.date) -> dict[str, Any]:
    return {"months": months, "max_months": ability_view.MAX_MONTHS,
            "first": first.isoformat(), "last": last.isoformat(), "marks": ability_view.MARKS}


async def ability_page(request: web.Request, session: Session) -> web.Response:
    console = request.app[CONSOLE_KEY]
    months = _months(request)
    first, last = _period(console, months)

    def build() -> dict[str, Any]:
        return ability_view.ability_matrix(console.config, _ability(console, first, last))

    view = await asyncio.get_running_loop().run_in_executor(console.reports, build)
    return html(console.render("ability.html", **page_context(
        request, session, matrix=view, **_context(months, first, last))))


async def ability_person_page(request: web.Request, session: Session) -> web.Response:
    console = request.app[CONSOLE_KEY]
    staff_id = request.match_info["staff_id"]
    months = _months(request)
    if not staff_id or len(staff_id) > MAX_STAFF_ID:
        raise Refused(404, "unknown_staff", id=staff_id[:MAX_STAFF_ID])
    first, last = _period(console, months)

    def build() -> dict[str, Any] | None:
        return ability_view.person_view(console.config, _ability(console, first, last),
                                        staff_id)

    view = await asyncio.get_running_loop().run_in_executor(console.reports, build)
    if view is None:
        raise Refused(404, "unknown_staff", id=staff_id)
    return html(console.render("ability_person.html", **page_context(
        request, session, person=view, **_context(months, first, last))))
