"""预约回访: the page of a day's bookings to call (staff and managers), taking a call (which
shows that one resident's phone in full to the taker, audited) and recording its outcome."""

from __future__ import annotations

import asyncio
import datetime as dt
from urllib.parse import quote

from aiohttp import web

from dispatcher.domain.appointments import (
    FOLLOWUP_OUTCOMES,
    MAX_FOLLOWUP_NOTE,
    Booking,
    FollowupRefused,
)
from dispatcher.server import followups
from dispatcher.server.console.accounts import Session
from dispatcher.server.console.followup_view import followup_page
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

# How a refusal of the rules reads on the page (the API's codes, shown in people's words).
REFUSALS = {"unknown_appointment": 404, "appointment_cancelled": 409,
            "appointment_checked_in": 409, "appointment_too_late": 409,
            "followup_taken": 409, "invalid_appointment": 422, "slot_full": 409}


def _day(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        raise Refused(400, "bad_day") from None


async def followup_list(request: web.Request, session: Session) -> web.Response:
    console = request.app[CONSOLE_KEY]
    now = console.service.clock()
    today = now.astimezone(console.config.center.tz).date()
    day = _day(request.query.get("day", "")) or console.config.appointments.next_working_day(today)
    bookings = await asyncio.to_thread(console.bookings.on, day)
    view = followup_page(console.config, bookings, session.account.username, now)
    return html(console.render("followup.html", **page_context(
        request, session, day=day.isoformat(), outcomes=FOLLOWUP_OUTCOMES,
        max_note=MAX_FOLLOWUP_NOTE, **view)))


def _back(form: dict[str, str], code: str) -> str:
    day = form.get("day", "")
    query = f"?day={quote(day)}" if _day(day) else ""
    return f"{ROOT}/followup{query}#appt-{quote(code)}"


def _refused(exc: FollowupRefused) -> Refused:
    return Refused(REFUSALS.get(exc.code.value, 409), "followup_" + exc.code.value,
                   message=exc.message)


async def take_call(request: web.Request, session: Session) -> web.Response:
    """The caller takes a resident's call: their phone number shows in full to them only."""
    console = request.app[CONSOLE_KEY]
    form = await read_form(request)
    code = request.match_info["code"]
    user = session.account.username
    try:
        await asyncio.to_thread(followups.claim, console.bookings, code, user,
                                console.service.clock())
    except FollowupRefused as exc:
        await console.blocking(console.accounts.audit, user, address_of(request),
                               "appointment-call", code, f"refused: {exc.code.value}")
        raise _refused(exc) from None
    await console.blocking(console.accounts.audit, user, address_of(request),
                           "appointment-call", code, "phone shown")
    return answer(request, _back(form, code), True, TEXTS(lang_of(request), "done"))


async def record_call(request: web.Request, session: Session) -> web.Response:
    """Record a call's outcome, the materials missing and a note; cancelled frees the place,
    rescheduled may move the booking to another slot."""
    console = request.app[CONSOLE_KEY]
    form = await read_form(request)
    code = request.match_info["code"]
    user = session.account.username
    booking: Booking | None = await asyncio.to_thread(console.bookings.get, code)
    service = console.config.services.get(booking.service_id) if booking else None
    materials = list(service.materials) if service else []
    missing = [m for i, m in enumerate(materials) if form.get(f"missing-{i}")]
    new_slot = None
    new_day, slot = form.get("new_day", "").strip(), form.get("new_slot", "").strip()
    if form.get("outcome") == "rescheduled" and new_day and slot:
        start, _, end = slot.partition("-")
        new_slot = (new_day, start, end)
    try:
        await asyncio.to_thread(
            followups.record, console.bookings, console.config, code,
            outcome=form.get("outcome", ""), missing=missing, note=form.get("note"), by=user,
            now=console.service.clock(), request_id=form.get("request_id") or None,
            new_slot=new_slot)
    except FollowupRefused as exc:
        await console.blocking(console.accounts.audit, user, address_of(request),
                               "appointment-follow-up", code, f"refused: {exc.code.value}")
        raise _refused(exc) from None
    await console.blocking(console.accounts.audit, user, address_of(request),
                           "appointment-follow-up", code, form.get("outcome", ""))
    return answer(request, _back(form, code), True, TEXTS(lang_of(request), "done"))
