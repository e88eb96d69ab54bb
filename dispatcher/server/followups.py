"""预约回访 on the bookings' table: taking a call and recording its outcome, checked and written
in one transaction (two staff members on the same list never overwrite each other). Shared by
the LAN API and the console; the rules themselves are pure (dispatcher.domain.appointments)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import replace

from base.errors import ErrorCode
from dispatcher.domain.appointments import (
    Booking,
    FollowupRefused,
    capacity_problems,
    claim_followup,
    parse_row,
    record_followup,
)
from dispatcher.domain.config import Config
from dispatcher.server.bookings import BookingStore

DayOf = Callable[[dt.date], list[Booking]]


def claim(store: BookingStore, code: str, by: str, now: dt.datetime) -> Booking:
    """`by` takes the call (FollowupRefused: unknown, closed, or someone else's)."""
    return store.change(code, lambda old, _day_of: claim_followup(old, code, by, now), now)


def record(store: BookingStore, config: Config, code: str, *, outcome: str,
           missing: Iterable[str], note: str | None, by: str, now: dt.datetime,
           request_id: str | None, new_slot: tuple[str, str, str] | None = None) -> Booking:
    """Record a call's outcome. `new_slot` (date, start, end) moves a rescheduled booking,
    checked against the slots offered and their capacity like any booking."""
    if new_slot is not None and outcome != "rescheduled":
        raise FollowupRefused(ErrorCode.INVALID_APPOINTMENT,
                              "a new slot goes with the outcome rescheduled")

    def decide(old: Booking | None, day_of: DayOf) -> Booking:
        service = config.services.get(old.service_id) if old else None
        done = record_followup(old, code, outcome=outcome, missing=missing, note=note, by=by,
                               now=now, request_id=request_id,
                               materials=service.materials if service else ())
        if new_slot is None or done is old:
            return done
        day, start, end = new_slot
        moved, problems = parse_row({"code": code, "service_id": done.service_id, "date": day,
                                     "slot_start": start, "slot_end": end},
                                    config.services, config.appointments)
        if moved is None:
            raise FollowupRefused(ErrorCode.INVALID_APPOINTMENT, "; ".join(problems))
        existing = {b.code: b for b in day_of(moved.date)}
        existing[done.code] = done
        full = capacity_problems([moved], existing, config.appointments)
        if full:
            raise FollowupRefused(ErrorCode.SLOT_FULL, full[0])
        return replace(done, date=moved.date, slot_start=moved.slot_start,
                       slot_end=moved.slot_end)

    return store.change(code, decide, now)
