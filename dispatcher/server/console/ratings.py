"""好差评 follow-up: the manager's page of bad ratings to follow up (with their deadlines), the
day's ratings by grade, and recording a follow-up's outcome."""

from __future__ import annotations

import datetime as dt

from aiohttp import web

from dispatcher.server.console import views
from dispatcher.server.console.accounts import Session
from dispatcher.server.console.site import (
    CONSOLE_KEY,
    ROOT,
    Refused,
    address_of,
    answer,
    html,
    lang_of,
    page_context,
    read_form,
)
from dispatcher.server.console.texts import TEXTS
from dispatcher.server.store import MAX_TASK_NOTE, TASK_OUTCOMES


async def ratings_page(request: web.Request, session: Session) -> web.Response:
    console = request.app[CONSOLE_KEY]
    day = request.query.get("day", "")
    try:
        chosen = dt.date.fromisoformat(day) if day else None
    except ValueError:
        raise Refused(400, "bad_day") from None

    def build() -> tuple[list[dict[str, object]], dict[str, object], str]:
        now = console.service.clock()
        shown = chosen or now.astimezone(console.config.center.tz).date()
        store = console.service.store
        tasks = views.rating_tasks(console.config, store.rating_tasks(), now)
        summary = views.ratings_summary(store.ratings(business_day=shown.isoformat()))
        return tasks, summary, shown.isoformat()

    tasks, summary, shown = await console.service.read(build)
    return html(console.render("ratings.html", **page_context(
        request, session, tasks=tasks, summary=summary, day=shown, outcomes=TASK_OUTCOMES,
        max_note=MAX_TASK_NOTE, grades=views.GRADES, grades_en=views.GRADES_EN)))


async def close_task(request: web.Request, session: Session) -> web.Response:
    """Record how a bad rating was followed up (once; a second close changes nothing)."""
    console = request.app[CONSOLE_KEY]
    form = await read_form(request)
    text = request.match_info["task"]
    if not text.isascii() or not text.isdigit() or len(text) > 15:
        raise web.HTTPNotFound()
    task_id = int(text)
    outcome = form.get("outcome", "")
    note = form.get("note", "").strip() or None
    if outcome not in TASK_OUTCOMES:
        raise Refused(422, "bad_outcome")
    if note is not None and len(note) > MAX_TASK_NOTE:
        raise Refused(422, "note_too_long", n=MAX_TASK_NOTE)
    user = session.account.username
    closed = await console.service.read(lambda: console.service.store.close_rating_task(
        task_id, outcome, note, user, console.service.clock()))
    await console.blocking(console.accounts.audit, user, address_of(request),
                           "rating-follow-up", f"task {task_id}",
                           outcome if closed else "refused: closed or unknown")
    if not closed:
        raise Refused(409, "task_closed")
    console.presence.version += 1  # the overview's count and overdue alarm: render again
    return answer(request, f"{ROOT}/ratings", True, TEXTS(lang_of(request), "done"))
