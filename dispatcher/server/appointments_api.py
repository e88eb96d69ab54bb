"""The LAN API's bookings (admin role): one booking at a time (create or change its slot,
cancel) and a day's list, names and phones masked. The bookings live in `appointments` beside
the queue, written through their own connection (`BookingStore`) on a worker thread."""

from __future__ import annotations

import asyncio
import dataclasses

from aiohttp import web

from base.errors import ErrorCode
from dispatcher.domain.appointments import FollowupRefused, capacity_problems, parse_row
from dispatcher.server import followups
from dispatcher.server import schema as s
from dispatcher.server.bookings import BookingStore
from dispatcher.server.http import (
    CONFIG_KEY,
    PREFIX,
    SERVICE_KEY,
    ApiError,
    authorize,
    decode_query,
    json_response,
    read_body,
)

BOOKINGS_KEY = web.AppKey("bookings", BookingStore)
FIXED = ("checked_in", "served")  # a booking that has its ticket: it no longer changes


async def create_appointment(request: web.Request) -> web.Response:
    authorize(request, ("admin",))
    body = await read_body(request, s.AppointmentRequest)
    config = request.app[CONFIG_KEY]
    store = request.app[BOOKINGS_KEY]
    row = {"code": body.code, "service_id": body.service_id, "date": body.date.isoformat(),
           "slot_start": body.slot_start, "slot_end": body.slot_end, "name": body.name or "",
           "phone": body.phone or ""}
    booking, problems = parse_row(row, config.services, config.appointments)
    if booking is None:
        raise ApiError(ErrorCode.INVALID_APPOINTMENT, "; ".join(problems))
    # What capacity and a change depend on: that day's bookings, and this code's own.
    same_day = await asyncio.to_thread(store.on, booking.date)
    old = await asyncio.to_thread(store.get, booking.code)
    existing = {b.code: b for b in same_day}
    if old is not None:
        existing[old.code] = old
    if old is not None and old.status in FIXED and not old.same_booking(booking):
        raise ApiError(ErrorCode.APPOINTMENT_CHECKED_IN,
                       f"booking {booking.code} is {old.status}: it cannot change")
    full = capacity_problems([booking], existing, config.appointments)
    if full:
        raise ApiError(ErrorCode.SLOT_FULL, full[0])
    clock = request.app[SERVICE_KEY].clock
    await asyncio.to_thread(store.import_bookings, [booking], clock())
    stored = await asyncio.to_thread(store.get, booking.code)
    assert stored is not None
    return json_response({"appointment": stored.to_dict()}, status=201)


async def list_appointments(request: web.Request) -> web.Response:
    authorize(request, ("admin",))
    query = decode_query(request.query, s.AppointmentQuery)
    found = await asyncio.to_thread(request.app[BOOKINGS_KEY].on, query.date)
    return json_response({"appointments": [b.to_dict() for b in found]})


async def cancel_appointment(request: web.Request) -> web.Response:
    authorize(request, ("admin",))
    await read_body(request, s.Mutation)
    code = request.match_info["code"]
    store = request.app[BOOKINGS_KEY]
    booking = await asyncio.to_thread(store.get, code)
    if booking is None:
        raise ApiError(ErrorCode.UNKNOWN_APPOINTMENT, f"no appointment with code {code!r}")
    if booking.status in FIXED:
        raise ApiError(ErrorCode.APPOINTMENT_CHECKED_IN,
                       f"booking {code} is {booking.status}: it cannot be cancelled")
    if booking.status != "cancelled":
        clock = request.app[SERVICE_KEY].clock
        await asyncio.to_thread(store.set_status, code, "cancelled", clock())
    return json_response({"appointment": dataclasses.replace(
        booking, status="cancelled").to_dict()})


async def follow_up(request: web.Request) -> web.Response:
    """预约回访 from a script or another system: the outcome of a call (see followups)."""
    who = authorize(request, ("admin",))
    body = await read_body(request, s.FollowupRequest)
    slot = (body.date, body.slot_start, body.slot_end)
    if any(v is not None for v in slot) and None in slot:
        raise ApiError(ErrorCode.INVALID_APPOINTMENT,
                       "a new slot needs date, slot_start and slot_end")
    new_slot = (body.date.isoformat(), body.slot_start, body.slot_end) \
        if body.date and body.slot_start and body.slot_end else None
    code = request.match_info["code"]
    config = request.app[CONFIG_KEY]
    clock = request.app[SERVICE_KEY].clock
    try:
        booking = await asyncio.to_thread(
            followups.record, request.app[BOOKINGS_KEY], config, code, outcome=body.outcome,
            missing=body.missing, note=body.note, by=who.name, now=clock(),
            request_id=body.request_id, new_slot=new_slot)
    except FollowupRefused as exc:
        raise ApiError(exc.code, exc.message) from None
    return json_response({"appointment": booking.to_dict()})


def add_appointments(app: web.Application, store: BookingStore) -> None:
    """Mount the bookings' routes on the API's app (they close the store at cleanup)."""
    app[BOOKINGS_KEY] = store
    app.router.add_post(f"{PREFIX}/appointments", create_appointment)
    app.router.add_get(f"{PREFIX}/appointments", list_appointments)
    app.router.add_post(f"{PREFIX}/appointments/{{code}}/cancel", cancel_appointment)
    app.router.add_post(f"{PREFIX}/appointments/{{code}}/followup", follow_up)

    async def close(app: web.Application) -> None:
        store.close()

    app.on_cleanup.append(close)
